"""Snippet knowledge base: winnowing fingerprints of open-source code and line-level matching of a
delivered tree against them, to find copied code whose notices were removed.

``build_kb`` / ``add_to_kb`` make and update the SQLite KB file (``store``; its inverted index:
``postings``), ``match_texts`` (``snippets``) finds runs of lines a delivered file shares with KB
files, ``open_matcher`` (``origin_matcher``) adapts a KB to ``verifier.origin.analyze(kb=)``,
``KnowledgeBase.open(...).info()`` tells what a KB holds.
"""

from verifier.kb import postings
from verifier.kb.build import BuildReport, add_to_kb, build_kb
from verifier.kb.origin_matcher import KBLineMatcher, open_matcher
from verifier.kb.snippets import MAX_DF, MIN_LINES, FileMatches, SnippetMatch, match_paths, match_texts
from verifier.kb.store import Component, KnowledgeBase

__all__ = ["BuildReport", "Component", "FileMatches", "KBLineMatcher", "KnowledgeBase", "MAX_DF",
           "MIN_LINES", "SnippetMatch", "add_to_kb", "build_kb", "match_paths", "match_texts",
           "open_matcher", "postings"]

"""Jinja2 templates for verifier reports (package data)."""

"""The notice block given to scancode: a head through its last keyword line and what continues the
notice (comment lines, the rest of the literal the notice is in), never the code after it."""

from __future__ import annotations

import textwrap

import pytest

from support import write_tree
from verifier.origin import analyze
from verifier.origin.detect import NOTICE_MARGIN, notice_end

OWNERS = ["Hunan Example Software Co., Ltd."]


def _lines(text: str) -> list[str]:
    return textwrap.dedent(text).strip("\n").split("\n")


def test_comment_header_ends_before_the_module_docstring_and_code():
    head = _lines('''
        # Copyright (c) 2024 Foo Inc.
        # Licensed under the MIT license.
        #
        # See the LICENSE file.

        """Stock rules."""

        import os
    ''')
    assert notice_end(head, 3, "stock.py") == 5  # the comment lines and the blank after them


def test_a_notice_inside_a_docstring_keeps_the_rest_of_that_docstring():
    head = _lines('''
        """
            pygments.lexers
            :copyright: Copyright 2006 by the team.
            :license: BSD, see LICENSE for details.
            Redistribution terms continue on this line.
        """
        import re
    ''')
    assert notice_end(head, 3, "lexers.py") == 6


def test_preprocessor_lines_are_code_and_end_a_c_notice():
    head = _lines('''
        /*
         * Copyright 2020 Foo
         * Licensed under the Apache License, Version 2.0
         * you may not use this file except in compliance with it.
         */
        #include <stdio.h>
        int x;
    ''')
    assert notice_end(head, 2, "x.c") == 5


def test_without_a_lexer_the_margin_is_kept():
    head = ["# Copyright 2020 Foo", *(f"step {i}" for i in range(40))]
    assert notice_end(head, 0, "NOSUFFIX") == 1 + NOTICE_MARGIN
    assert notice_end(head, 0, "x.unknownsuffix") == 1 + NOTICE_MARGIN


def test_a_long_comment_notice_is_cut_at_the_margin():
    head = ["# Copyright 2020 Foo", *(["# more words"] * 50), "x = 1"]
    assert notice_end(head, 0, "a.py") == 1 + NOTICE_MARGIN


@pytest.mark.slow
def test_scancode_still_finds_license_and_holders_of_cut_notices(tmp_path):
    mit_comment = "\n".join("# " + line for line in _lines('''
        Copyright (c) 2018 Jane Roe

        Permission is hereby granted, free of charge, to any person obtaining a copy of this
        software and associated documentation files (the "Software"), to deal in the Software
        without restriction, including without limitation the rights to use, copy, modify, merge,
        publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
        to whom the Software is furnished to do so, subject to the following conditions:

        The above copyright notice and this permission notice shall be included in all copies or
        substantial portions of the Software.

        THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
        INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
        PURPOSE AND NONINFRINGEMENT.
    '''))
    body = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(30))
    root = write_tree(tmp_path / "repo", {
        "app/mit.py": mit_comment + '\n"""Rules."""\n' + body,
        "app/own.py": ("# Copyright (c) 2024 Hunan Example Software Co., Ltd.\n"
                       "# Licensed under the company's proprietary license; see LICENSE.\n"
                       '"""Inventory module: stock rules and reports."""\n' + body),
        "app/doc.py": ('"""\n    tools.doc\n    :copyright: Copyright 2006 by the Pygments team.\n'
                       '    :license: BSD, see LICENSE for details.\n"""\n' + body),
    })
    report = analyze(root, owners=OWNERS, no_cache=True, jobs=1)
    mit = report.file("app/mit.py")
    assert mit.origin == "third_party" and "Jane Roe" in mit.reason
    assert any("MIT" in e for e in mit.evidence)
    assert report.file("app/own.py").origin == "self"
    doc = report.file("app/doc.py")
    assert doc.origin == "third_party" and "Pygments" in doc.reason
    assert any("BSD" in e for e in doc.evidence)

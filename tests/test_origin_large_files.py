"""Source files over the counting limit weigh in the ratio with their real line count and have
their notices read like any file (real pygount and scancode, files written at test time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.origin import analyze
from verifier.origin.inventory import COUNT_LIMIT

pytestmark = pytest.mark.slow

OWNER = "Hunan Example Software Co., Ltd."
FOREIGN_HEADER = """\
/*
 * Copyright (c) 2001 Foreign Corp
 *
 * MIT License
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this
 * software and associated documentation files (the "Software"), to deal in the Software
 * without restriction, including without limitation the rights to use, copy, modify, merge,
 * publish, distribute, sublicense, and/or sell copies of the Software.
 */
"""


def _amalgamation(path: Path) -> int:
    """Write a C file just over the default counting limit; return its effective lines."""
    unit = "".join(f'static const char *s{i} = "{"abcdefgh" * 24}";\n' for i in range(50))
    units = COUNT_LIMIT // len(unit) + 2
    with open(path, "w") as handle:
        handle.write(FOREIGN_HEADER)
        for n in range(units):
            handle.write(f"/* part {n} */\n{unit}\n")
    assert path.stat().st_size > COUNT_LIMIT
    return units * 50


def test_foreign_amalgamation_over_the_limit_is_third_party_with_its_lines(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "own.c").write_text(f"/* Copyright (c) 2026 {OWNER} */\n"
                                + "".join(f"int v{i} = {i};\n" for i in range(2000)))
    lines = _amalgamation(root / "amalg.c")
    report = analyze(root, owners=[OWNER], no_cache=True, jobs=2)
    amalg = report.file("amalg.c")
    assert (amalg.origin, amalg.rule, amalg.lines) == ("third_party", "notice", lines)
    assert "Foreign Corp" in amalg.reason
    assert report.file("own.c").origin == "self" and report.file("own.c").lines == 2000
    assert report.ratio == pytest.approx(2000 / (2000 + lines))
    assert report.passed is False


def test_source_that_cannot_be_counted_is_unknown_with_a_weight(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "own.py").write_text(f"# Copyright (c) 2026 {OWNER}\n" + "x = 1\n" * 10)
    (root / "bad.py").write_bytes(b"y = 2\n\x80\x81\x8d\n" * 30)  # undecodable
    report = analyze(root, owners=[OWNER], no_cache=True, jobs=1)
    bad = report.file("bad.py")
    assert (bad.origin, bad.lines) == ("unknown", 60)
    assert "weighs its 60 non-blank lines" in bad.reason
    assert report.ratio == pytest.approx(10 / 70)
    assert any("(60 lines) are unknown" in w for w in report.warnings)

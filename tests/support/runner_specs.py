"""Task books for the runner tests: indicators measured by the real ``command`` probe printing a
figure, in a small delivery of our own code (``verifier run`` end to end without a live service)."""

from __future__ import annotations

import json

OWN_CODE = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.
"""Stock arithmetic."""


def add(stock: int, delta: int) -> int:
    """Stock after a movement."""
    if stock + delta < 0:
        raise ValueError("stock would go negative")
    return stock + delta
'''


def command_indicator(ind_id: str, characteristic: str, code: str, target: str, unit: str = "count",
                      timeout: float | None = None) -> str:
    """One indicator of the ``command`` probe running ``python -c CODE`` and reading its first number."""
    lines = [
        f"  - id: {ind_id}",
        f"    name: 指标 {ind_id}",
        f"    characteristic: {characteristic}",
        "    probe: command",
        "    with:",
        f"      command: ['{{python}}', '-c', {json.dumps(code)}]",
        r"      regex: '(\d+(?:\.\d+)?)'",
        f"      unit: '{unit}'",
        "    metric: value",
        f"    target: '{target}'",
    ]
    if timeout is not None:
        lines.append(f"    timeout: {timeout}")
    return "\n".join(lines)


def task_book(indicators: list[str]) -> str:
    """A task book of our project with ``indicators`` (from ``command_indicator``)."""
    return "\n".join([
        "project:",
        "  name: 测试系统",
        "  version: '1.0.0'",
        "  applicant: 湖南示例软件有限公司",
        "  owners: [Hunan Example Software Co., Ltd.]",
        "indicators:",
        *indicators,
        "",
    ])


#: one indicator per required characteristic; S1 and C1 not met (score 60 < 70, verdict fail)
FIVE = [
    command_indicator("F1", "functionality", "print(100)", ">= 95", "%"),
    command_indicator("P1", "performance_efficiency", "print(120)", "<= 500", "ms"),
    command_indicator("R1", "reliability", "print(0)", "== 0"),
    command_indicator("S1", "security", "print(3)", "== 0"),  # not met on purpose
    command_indicator("C1", "compatibility", "print(90)", ">= 100", "%"),  # not met: score 60 < 70
]

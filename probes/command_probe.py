"""``command`` probe: the escape hatch. Runs a declared command and takes one number from its output.

How a spec uses it: the indicator's ``metric`` is always ``value``; ``with.unit`` declares the
value's unit (any unit ``verifier.units`` knows, e.g. ``ms``, ``%``, ``count``) and ``with.label``
what the number is. ``CommandProbe.metrics_for(args)`` gives the metric with that unit, for target
checking; the class-level ``metrics`` only names it.

The number comes from ``stdout`` (or ``stderr``) by ``regex`` (the first group of the first match)
or by ``json_path`` into the output parsed as JSON (``a.b[0].c``, optionally starting with ``$.``;
when the whole output is not JSON, its last line that is). ``scale`` multiplies it (seconds printed,
ms wanted: ``scale: 1000``). An exit status not in ``ok_exit_codes`` (default ``[0]``), a timeout, or
no number found is an error. The command is an argv list, or a string split like a POSIX shell
would (never run through a shell unless ``shell: true``); ``{python}`` (the interpreter running
verifier), ``{repo}`` (the repository root), ``{spec_dir}`` (the task book's directory: the
agency's own scripts) and the product's ``{runtime.python}`` … are filled in. It runs with the
product's interpreter first on ``PATH`` when the spec declares one (``python`` is then the
product's), else with verifier's.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from verifier.probe import (
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
)
from verifier.probekit import (
    COMMON_PLACEHOLDERS,
    Deadline,
    EnvValue,
    RepoPath,
    declared_values,
    expand_command,
    inside_repo,
    interpreter_env,
    placeholders,
    product_python,
    run_evidence,
    run_tool,
    substitute,
    tool_failure,
    which,
)
from verifier.units import is_known_unit, unit_info

_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]|\[\"([^\"]*)\"\]|\['([^']*)'\]")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_KNOWN = COMMON_PLACEHOLDERS


def parse_json_path(path: str) -> list[str | int]:
    """``a.b[0]["c d"]`` (optionally ``$.``-prefixed) as keys and indexes; ``ValueError`` if malformed."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    tokens: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"json_path {path!r} is malformed at {text[position:]!r}")
        key, index, dquoted, squoted = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(key if key is not None else (dquoted if dquoted is not None else squoted))
        position = match.end()
    if not tokens:
        raise ValueError(f"json_path {path!r} selects nothing")
    return tokens


def select_json(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; ``ProbeError`` naming the step that is missing."""
    value = document
    walked = "$"
    for token in parse_json_path(path):
        try:
            if isinstance(token, int):
                if not isinstance(value, list):
                    raise TypeError
                value = value[token]
                walked += f"[{token}]"
            else:
                if not isinstance(value, dict):
                    raise TypeError
                value = value[token]
                walked += f".{token}"
        except (KeyError, IndexError, TypeError):
            raise ProbeError(f"json_path {path!r}: nothing at {walked}"
                             f"{f'[{token}]' if isinstance(token, int) else '.' + token}") from None
    return value


def to_number(value: Any, *, what: str) -> float:
    """``value`` (a JSON number or numeric text, ``1,234.5`` allowed) as a float; ``ProbeError``."""
    if isinstance(value, bool):
        raise ProbeError(f"{what} is a boolean, not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        match = _NUMBER.fullmatch(value.strip())
        if match:
            return float(match.group(0).replace(",", ""))
    raise ProbeError(f"{what} is not a number: {str(value)[:80]!r}")


class CommandArgs(ProbeArgs):
    """``with:`` arguments of the command probe."""

    command: list[str] | str
    """The command: argv list preferred; a string is split like a POSIX shell would."""
    unit: str
    """Unit of the number (``ms``, ``%``, ``count`` …); the indicator's target is checked against it."""
    regex: str | None = None
    """Regular expression whose first group is the number."""
    json_path: str | None = None
    """Path into the output parsed as JSON (``stats.p95``, ``$.results[0].value``)."""
    stream: Literal["stdout", "stderr"] = "stdout"
    """Which output the number is taken from."""
    label: str = ""
    """What the number is, for the report (``cold start time``)."""
    scale: float = 1.0
    """Factor applied to the number (``1000`` turns printed seconds into ms)."""
    shell: bool = False
    """Run through ``/bin/sh -c``; only when declared."""
    cwd: RepoPath = "."
    """Working directory, relative to the repository."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Environment variables (on top of a scrubbed environment)."""
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0], min_length=1)
    """Exit statuses that mean the command ran fine."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | str) -> list[str] | str:
        parts = shlex.split(value) if isinstance(value, str) else value
        if not parts or not str(parts[0]).strip():
            raise ValueError("command is empty")
        texts = [value] if isinstance(value, str) else value
        unknown = sorted(set().union(*(placeholders(t) for t in texts)) - set(_KNOWN))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                             f"known: {', '.join('{' + k + '}' for k in _KNOWN)} "
                             "(write {{ }} for literal braces)")
        return value

    @field_validator("unit")
    @classmethod
    def _unit(cls, value: str) -> str:
        if not is_known_unit(value):
            raise ValueError(f"unknown unit {value!r} (e.g. ms, s, %, count, rps, MB, score)")
        return unit_info(value).symbol

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from None
        if compiled.groups < 1:
            raise ValueError(f"regex {value!r} needs a group around the number, e.g. 'took (\\d+) ms'")
        return value

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value: str | None) -> str | None:
        if value is not None:
            parse_json_path(value)
        return value

    @model_validator(mode="after")
    def _one_extractor(self) -> CommandArgs:
        if (self.regex is None) == (self.json_path is None):
            raise ValueError("declare exactly one of 'regex' or 'json_path'")
        return self


class CommandProbe(Probe):
    """A number taken from a declared command's output, in a declared unit.

    Spec usage: ``metric: value`` and ``with: {command: [...], regex: "...", unit: ms}``; the metric's
    real unit is ``with.unit`` (see ``metrics_for``).
    """

    name = "command"
    characteristic = "functionality"
    description = ("Runs a declared command and takes a number from its output (regex or JSON path), "
                   "in the unit declared by `with.unit`.")
    metrics = {
        "value": MetricInfo("count", "the number taken from the output; its unit is `with.unit`",
                            "higher"),
    }
    Args = CommandArgs

    presentation = Presentation(phrases=(
        Phrase("value {raw} from {stream} ({where})", "取自 {stream} 的值 {raw}（{where}）"),
        Phrase("{label}: {raw} from {stream} ({where})", "{label}：取自 {stream} 的 {raw}（{where}）"),
        Phrase("multiplied by scale {scale}", "已乘以系数 {scale}"),
        Phrase("regex match at line {line}", "第 {line} 行的正则表达式匹配"),
        Phrase("{path} in whole output as JSON", "整个输出按 JSON 解析后的 {path}"),
        Phrase("{path} in JSON on line {line}", "第 {line} 行 JSON 中的 {path}"),
    ), words={"stream": {"stdout": ("标准输出", "stdout"), "stderr": ("标准错误", "stderr")}}, labels={
        "stream": ("输出流", "Stream"),
        "value": ("测得值", "Value"),
        "label": ("标签", "Label"),
        "raw": ("原始值", "Raw value"),
        "returncode": ("退出码", "Exit status"),
        "duration_s": ("耗时（秒）", "Duration (s)"),
    })

    metrics_vary_with_args = True

    @classmethod
    def metrics_for(cls, args: ProbeArgs) -> dict[str, MetricInfo]:
        """The metric as a spec's ``with:`` declares it: ``value`` in ``args.unit``."""
        assert isinstance(args, CommandArgs)
        label = args.label or "the number taken from the command's output"
        return {"value": MetricInfo(args.unit, label, "higher")}

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run the command, check its exit status and extract the number."""
        args: CommandArgs = ctx.args  # type: ignore[assignment]
        cwd = inside_repo(ctx.repo, args.cwd, what="cwd")
        values = declared_values(ctx)
        argv = expand_command(args.command, values, shell=args.shell)
        env = interpreter_env(product_python(ctx), {k: substitute(v, values) for k, v in args.env.items()})
        if which(argv[0], env, cwd) is None:
            raise ProbeError(f"command {argv[0]!r} not found (PATH or relative to {args.cwd})")
        timeout = Deadline(ctx.timeout_s).remaining(what="command")
        run = run_tool(argv, cwd=cwd, timeout_s=timeout, out_dir=ctx.evidence_dir, name="command",
                       env=env)
        evidence = run_evidence(ctx, run)
        if run.timed_out or run.returncode not in args.ok_exit_codes:
            raise tool_failure(ctx, run, "command", timeout)
        path = run.stdout_path if args.stream == "stdout" else run.stderr_path
        text = path.read_text("utf-8", errors="replace")
        try:
            raw, where = extract(text, regex=args.regex, json_path=args.json_path)
            number = to_number(raw, what=f"the value {where} in {args.stream}")
        except ProbeError as exc:
            raise ProbeError(exc.reason, tail=run.tail(), evidence=evidence) from None
        value = number * args.scale
        notes = [f"{args.label}: {raw!s} from {args.stream} ({where})" if args.label
                 else f"value {raw!s} from {args.stream} ({where})"]
        if args.scale != 1.0:
            notes.append(f"multiplied by scale {args.scale:g}")
        return ProbeOutcome(
            measurements=(Measurement("value", value, args.unit),),
            evidence=evidence, commands=(run.argv,), notes=tuple(notes),
            details={"label": args.label, "raw": raw if isinstance(raw, (int, float, str)) else str(raw),
                     "returncode": run.returncode, "duration_s": round(run.duration_s, 3)},
        )


def extract(text: str, *, regex: str | None, json_path: str | None) -> tuple[Any, str]:
    """The raw value in ``text`` selected by ``regex`` (first group) or ``json_path``, and where it
    was found; ``ProbeError`` when there is none (a pure function)."""
    if regex is not None:
        match = re.search(regex, text, re.MULTILINE)
        if match is None or match.group(1) is None:
            raise ProbeError(f"regex {regex!r} matched nothing")
        line_no = text.count("\n", 0, match.start(1)) + 1
        return match.group(1), f"regex match at line {line_no}"
    assert json_path is not None
    try:
        document = json.loads(text)
        where = "whole output as JSON"
    except ValueError:
        document, where = None, ""
        for number, line in reversed(list(enumerate(text.splitlines(), start=1))):
            if line.strip().startswith(("{", "[")):
                try:
                    document, where = json.loads(line), f"JSON on line {number}"
                    break
                except ValueError:
                    continue
        if not where:
            raise ProbeError("output is not JSON (nor is any line of it)") from None
    return select_json(document, json_path), f"{json_path} in {where}"

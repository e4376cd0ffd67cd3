"""Units and targets as task books write them: ``">= 95%"``, ``"<= 500 ms"``, ``"≤0.5 s"``,
``"不低于 1000 rps"``, ``"0 个"``, ``">= B"``.

A target is parsed against the unit of the metric it applies to and converted into that unit, so
``"<= 0.5 s"`` on a metric in ``ms`` becomes ``<= 500``. A bare number is already in the metric's
unit. A unit of another family (``"<= 5 MB"`` on a metric in ``ms``) is an error.

Families and the spellings accepted (case-insensitive, full-width forms allowed):

=========== ===============================================================================
time        ms, s, min, h (毫秒, 秒, 分钟, 小时)
fraction    % (0-100), ‰, ratio (a plain factor: 95% == 0.95, drift 1.2 == 120%)
rate        rps, req/s, qps, tps, /s (次/秒)
count       count, 个, 项, 次, 条, 处, 件, or none
size        B, KB, MB, GB (binary multiples: 1 KB = 1024 B)
per_kloc    per_kloc, /kloc (个/千行)
score       score (分)
grade       letters A (best) to F; a grade metric's value is encoded A=6 … F=1 so that
            ``">= B"`` means "B or better"
=========== ===============================================================================
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

#: Grade letters, best first, and their numeric encoding in measurements (A=6 … F=1).
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")

OPS: tuple[str, ...] = (">=", "<=", ">", "<", "==")


@dataclass(frozen=True)
class Unit:
    """One spelling of a unit: its canonical symbol, family and factor to the family's base."""

    symbol: str
    family: str
    factor: float


def _units() -> dict[str, Unit]:
    table: list[tuple[str, str, float, tuple[str, ...]]] = [
        ("ms", "time", 0.001, ("ms", "msec", "millisecond", "milliseconds", "毫秒")),
        ("s", "time", 1.0, ("s", "sec", "secs", "second", "seconds", "秒")),
        ("min", "time", 60.0, ("min", "mins", "minute", "minutes", "分钟", "分")),
        ("h", "time", 3600.0, ("h", "hr", "hour", "hours", "小时")),
        ("%", "fraction", 0.01, ("%", "percent", "pct")),
        ("‰", "fraction", 0.001, ("‰",)),
        ("ratio", "fraction", 1.0, ("ratio", "x", "×", "倍")),
        ("rps", "rate", 1.0, ("rps", "req/s", "requests/s", "qps", "tps", "/s", "次/秒",
                               "per_second", "ops/s")),
        ("count", "count", 1.0, ("count", "个", "项", "次", "条", "处", "件", "issues", "items")),
        ("B", "size", 1.0, ("b", "byte", "bytes", "字节")),
        ("KB", "size", 1024.0, ("kb", "kib")),
        ("MB", "size", 1024.0 ** 2, ("mb", "mib")),
        ("GB", "size", 1024.0 ** 3, ("gb", "gib")),
        ("per_kloc", "per_kloc", 1.0, ("per_kloc", "per kloc", "/kloc", "kloc", "个/千行",
                                       "/千行", "每千行")),
        ("score", "score", 1.0, ("score", "points", "分值")),
        ("grade", "grade", 1.0, ("grade", "级", "等级")),
    ]
    found: dict[str, Unit] = {}
    for symbol, family, factor, spellings in table:
        unit = Unit(symbol, family, factor)
        for spelling in (symbol, *spellings):
            found[spelling.lower()] = unit
    return found


_UNITS = _units()
# "分" alone is ambiguous (minutes / points): it means minutes only on a time metric, see _lookup.
_AMBIGUOUS = {"分": {"time": _UNITS["min"], "score": _UNITS["score"]}}

_PREFIX_WORDS: tuple[tuple[str, str], ...] = tuple(sorted([
    ("不低于", ">="), ("不少于", ">="), ("不小于", ">="), ("至少", ">="), ("大于等于", ">="),
    ("大于或等于", ">="), ("不高于", "<="), ("不超过", "<="), ("不大于", "<="), ("不多于", "<="),
    ("至多", "<="), ("最多", "<="), ("小于等于", "<="), ("小于或等于", "<="), ("小于", "<"),
    ("低于", "<"), ("少于", "<"), ("大于", ">"), ("高于", ">"), ("多于", ">"), ("超过", ">"),
    ("等于", "=="), ("为", "=="),
], key=lambda pair: -len(pair[0])))
_SUFFIX_WORDS = {"以上": ">=", "及以上": ">=", "以下": "<=", "及以下": "<=", "以内": "<="}
_SYMBOL_OPS = {">=": ">=", "<=": "<=", "=>": ">=", "=<": "<=", "≥": ">=", "≤": "<=", "⩾": ">=",
               "⩽": "<=", ">": ">", "<": "<", "==": "==", "=": "=="}

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_OP = re.compile(r"(>=|<=|=>|=<|==|[≥≤⩾⩽<>=])")


class TargetError(ValueError):
    """A target or unit that cannot be read, or whose unit does not fit the metric's."""


def unit_info(symbol: str) -> Unit:
    """The unit spelled ``symbol`` (any accepted spelling); ``TargetError`` if unknown."""
    unit = _UNITS.get(_normalize(symbol).strip().lower())
    if unit is None:
        raise TargetError(f"unknown unit {symbol!r}")
    return unit


def is_known_unit(symbol: str) -> bool:
    """Whether ``symbol`` is a unit this module understands."""
    return _normalize(symbol).strip().lower() in _UNITS


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``; ``TargetError`` across families."""
    src, dst = unit_info(from_unit), unit_info(to_unit)
    if src.family != dst.family:
        raise TargetError(f"unit mismatch: {from_unit!r} is {src.family}, {to_unit!r} is {dst.family}")
    if src.factor == dst.factor:
        return value
    return value * src.factor / dst.factor


def grade_value(letter: str) -> float:
    """The numeric encoding of a grade letter (A=6 … F=1)."""
    letter = letter.strip().upper()
    if letter not in GRADES:
        raise TargetError(f"grade must be one of {', '.join(GRADES)}, not {letter!r}")
    return float(len(GRADES) - GRADES.index(letter))


def grade_letter(value: float) -> str:
    """The grade letter of an encoded grade value (rounded; clamped to A…F)."""
    index = len(GRADES) - int(round(value))
    return GRADES[min(max(index, 0), len(GRADES) - 1)]


#: Significant digits of a figure shown to people (results.json keeps the exact value).
SIGNIFICANT_DIGITS = 4


def format_number(value: float, *, group: bool = False) -> str:
    """A figure for people, rounded one way wherever verifier shows one (terminal, reasons, every
    report): a whole number in full, a value of 1000 or more to the unit, anything smaller to
    ``SIGNIFICANT_DIGITS`` significant digits (``66.67``, ``29.24``, ``6.028``, ``0.01235``);
    ``group`` puts thousands separators in (``12,345``). The exact value stays in results.json."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value) or abs(value) >= 1e15:
        return f"{value:.3e}" if math.isfinite(value) else ("∞" if value > 0 else "-∞")
    if float(value).is_integer() or abs(float(f"{value:.{SIGNIFICANT_DIGITS}g}")) >= 1000:
        number = int(math.floor(abs(value) + 0.5)) * (1 if value >= 0 else -1)
        return f"{number:,}" if group else str(number)
    if abs(value) < 1e-4:
        return f"{value:.3g}"
    text = f"{value:.{SIGNIFICANT_DIGITS}g}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_quantity(value: float | None, unit: str) -> str:
    """A value with its unit for people: ``"430 ms"``, ``"95.24%"``, ``"B"``, ``"n/a"``, the
    number rounded by ``format_number``."""
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if unit_info(unit).family == "grade":
        return grade_letter(value)
    number = format_number(value)
    if unit in ("%", "‰"):
        return f"{number}{unit}"
    if unit in ("count", "ratio", "score"):
        return number
    return f"{number} {unit}"


@dataclass(frozen=True)
class Target:
    """A comparison against a threshold in the metric's unit, e.g. ``<= 500`` (ms)."""

    op: str
    """One of ``>=``, ``<=``, ``>``, ``<``, ``==``."""
    value: float
    """The threshold, converted into ``unit``."""
    unit: str
    """The metric's unit."""
    text: str
    """The target as written in the spec."""
    written: str | None = None
    """The unit written in the target (canonical symbol), None for a bare number or a grade."""

    def holds(self, measured: float) -> bool:
        """Whether ``measured`` (in ``unit``) satisfies the comparison."""
        if math.isnan(measured):
            return False
        if self.op == "==":
            return math.isclose(measured, self.value, rel_tol=1e-9, abs_tol=1e-12)
        if self.op == ">=":
            return measured >= self.value or math.isclose(measured, self.value, rel_tol=1e-12)
        if self.op == "<=":
            return measured <= self.value or math.isclose(measured, self.value, rel_tol=1e-12)
        if self.op == ">":
            return measured > self.value
        return measured < self.value

    @property
    def direction(self) -> str:
        """``higher`` when larger values are better under this target, ``lower``, or ``exact``."""
        return {">=": "higher", ">": "higher", "<=": "lower", "<": "lower"}.get(self.op, "exact")

    def describe(self) -> str:
        """The canonical form, e.g. ``"<= 500 ms"`` or ``">= B"``."""
        return f"{self.op} {format_quantity(self.value, self.unit)}"


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _lookup(spelling: str, family: str) -> Unit:
    key = spelling.lower()
    if key in _AMBIGUOUS:
        return _AMBIGUOUS[key].get(family, _AMBIGUOUS[key]["score"])
    unit = _UNITS.get(key)
    if unit is None:
        raise TargetError(f"unknown unit {spelling!r}")
    return unit


def parse_target(text: str, unit: str) -> Target:
    """Parse a target written like a task book (``">= 95%"``, ``"不超过 500 毫秒"``, ``"0 个"``)
    for a metric measured in ``unit``; the threshold is converted into ``unit``."""
    if not isinstance(text, str):
        raise TargetError(f"target must be a string such as \"<= 500 ms\", not {text!r}")
    metric_unit = unit_info(unit)
    rest = _normalize(text).strip()
    if not rest:
        raise TargetError("target is empty")
    op: str | None = None
    for word, word_op in _PREFIX_WORDS:
        if rest.startswith(word):
            op, rest = word_op, rest[len(word):].strip()
            break
    else:
        match = _OP.match(rest)
        if match:
            op, rest = _SYMBOL_OPS[match.group(1)], rest[match.end():].strip()
    for word in sorted(_SUFFIX_WORDS, key=len, reverse=True):
        if rest.endswith(word):
            if op is not None:
                raise TargetError(f"target {text!r} has two comparisons")
            op, rest = _SUFFIX_WORDS[word], rest[: -len(word)].strip()
            break
    op = op or "=="
    if metric_unit.family == "grade":
        letter = rest.strip().upper()
        if letter.endswith("级"):
            letter = letter[:-1].strip()
        if len(letter) != 1 or letter not in GRADES:
            raise TargetError(f"target {text!r}: a grade target is a letter A-F, e.g. \">= B\"")
        return Target(op, grade_value(letter), unit, text)
    match = _NUMBER.match(rest)
    if not match:
        raise TargetError(f"target {text!r} is not a comparison and a number, e.g. \"<= 500 ms\"")
    number = float(match.group(0).replace(",", ""))
    unit_text = rest[match.end():].strip()
    if not unit_text:
        return Target(op, number, unit, text)
    try:
        written = _lookup(unit_text, metric_unit.family)
    except TargetError:
        raise TargetError(f"target {text!r}: unknown unit {unit_text!r}") from None
    if written.family != metric_unit.family:
        raise TargetError(f"target {text!r}: unit mismatch: {unit_text!r} is {written.family}, "
                          f"the metric is in {unit!r} ({metric_unit.family})")
    value = number if written.factor == metric_unit.factor else number * written.factor / metric_unit.factor
    return Target(op, value, unit, text, written.symbol)


#: Full scale of the share units: a value in these units lies between 0 and this.
_SHARE_SCALE = {"%": 100.0, "‰": 1000.0}


def impossible_share(target: Target) -> str | None:
    """Why ``target`` on a metric in ``%`` (or ``‰``) can never be met — below 0, or above the full
    scale for ``>=``/``>``/``==`` — or None."""
    scale = _SHARE_SCALE.get(target.unit)
    if scale is None:
        return None
    full = format_quantity(scale, target.unit)
    low = format_quantity(0.0, target.unit)
    if target.value < 0:
        return f"target {target.text!r} is below {low}: a share lies between {low} and {full}"
    if (target.op in (">=", "==") and target.value > scale) or (target.op == ">" and target.value >= scale):
        return f"target {target.text!r} can never be met: a share is at most {full}"
    if target.op == "<" and target.value <= 0:
        return f"target {target.text!r} can never be met: a share is at least {low}"
    return None


def share_warnings(target: Target) -> list[str]:
    """Doubts about a possible target on a metric in ``%`` (or ``‰``): always met, or a bare number
    up to 1 that was probably meant as a fraction (``">= 0.6"`` is 0.6%, not 60%)."""
    scale = _SHARE_SCALE.get(target.unit)
    if scale is None or impossible_share(target) is not None:
        return []
    found = []
    if ((target.op in ("<=", "<") and target.value > scale)
            or (target.op == "<=" and target.value == scale)
            or (target.op == ">=" and target.value == 0)):
        found.append(f"target {target.text!r} is always met: the metric is a share "
                     f"({format_quantity(0.0, target.unit)}-{format_quantity(scale, target.unit)})")
    if target.written is None and 0 < target.value <= 1:
        literal = format_quantity(target.value, target.unit)
        text = (f"target {target.text!r} means {literal}: a bare number is in the metric's unit "
                f"({target.unit}), not a fraction like origin.min_ratio")
        meant = target.value * scale
        if not (target.op in ("<=", "<") and meant >= scale):
            text += f"; did you mean {target.op} {format_quantity(meant, target.unit)}?"
        found.append(text + f" (write \"{target.op} {literal}\" if {literal} is meant)")
    return found

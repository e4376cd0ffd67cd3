"""Inline SVG charts for reports: pure functions from numbers and labels to SVG markup.

Every label is escaped (labels may come from the delivered repository); charts scale to their
container (``viewBox``, ``width=100%``) and use no fonts, images or scripts from anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#d9822b", "#2e8b57", "#b23b3b", "#7b5ea7", "#3a9fb5", "#8c6d31", "#666666")
STATUS_COLOURS = {"self": "#2e8b57", "third_party": "#d9822b", "generated": "#7b5ea7",
                  "excluded": "#9aa0a6", "unknown": "#b23b3b"}
SEVERITY_COLOURS = {"critical": "#7a1010", "high": "#b23b3b", "medium": "#d9822b", "low": "#c9b037",
                    "info": "#3a9fb5", "undefined": "#9aa0a6"}

_W = 640
_FONT = 'font-family="sans-serif" font-size="12"'
_MAX_POINTS = 400


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _svg(height: int, title: str, body: str) -> Markup:
    t = escape(title)
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
        f'width="100%" role="img" aria-label="{t}" preserveAspectRatio="xMinYMin meet">'
        f'<title>{t}</title><text x="0" y="14" {_FONT} font-weight="bold" fill="#222">{t}</text>'
        f"{body}</svg>")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``low``..``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, unit: str = "",
              colours: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, one per (label, value); an empty chart says so."""
    items = [(str(label), float(value)) for label, value in items if value is not None]
    row, top, label_w = 24, 26, 190
    height = top + row * max(len(items), 1) + 8
    if not items:
        return _svg(height, title, f'<text x="0" y="{top + 14}" {_FONT} fill="#666">—</text>')
    peak = max((v for _, v in items), default=0) or 1.0
    span = _W - label_w - 90
    parts = []
    for i, (label, value) in enumerate(items):
        y = top + i * row
        colour = (colours[i % len(colours)] if colours else PALETTE[0])
        width = max(value / peak * span, 0.0) if value > 0 else 0.0
        shown = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" {_FONT} text-anchor="end" fill="#222">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" fill="{colour}"/>'
            f'<text x="{label_w + width + 5:.1f}" y="{y + 15}" {_FONT} fill="#222">'
            f"{escape(_fmt(value))}{escape(unit)}</text>")
    return _svg(height, title, "".join(parts))


def share_bar(parts: Sequence[tuple[str, float, str]], *, title: str) -> Markup:
    """One 100% stacked bar of (label, value, colour) with a legend giving each share."""
    parts = [(label, float(v), c) for label, v, c in parts if v and v > 0]
    total = sum(v for _, v, _ in parts)
    height = 26 + 30 + 20 * max(len(parts), 1) + 6
    if total <= 0:
        return _svg(height, title, f'<text x="0" y="44" {_FONT} fill="#666">—</text>')
    body, x = [], 0.0
    for label, value, colour in parts:
        width = value / total * _W
        body.append(f'<rect x="{x:.2f}" y="24" width="{width:.2f}" height="24" fill="{colour}">'
                    f"<title>{escape(label)}</title></rect>")
        x += width
    for i, (label, value, colour) in enumerate(parts):
        y = 62 + i * 20
        body.append(f'<rect x="0" y="{y}" width="12" height="12" fill="{colour}"/>'
                    f'<text x="18" y="{y + 11}" {_FONT} fill="#222">{escape(label)}: {escape(_fmt(value))}'
                    f" ({value / total * 100:.1f}%)</text>")
    return _svg(height, title, "".join(body))


def line_chart(xs: Sequence[float], series: dict[str, Sequence[float | None]], *, title: str,
               x_label: str = "", unit: str = "") -> Markup:
    """Lines of ``series`` (name -> y values, None for gaps) against ``xs``, with axes and a legend."""
    xs = [float(x) for x in xs]
    clean = {name: [None if (v is None or not math.isfinite(float(v))) else float(v) for v in ys][: len(xs)]
             for name, ys in series.items()}
    values = [v for ys in clean.values() for v in ys if v is not None]
    left, right, top, plot_h = 56, 12, 26, 190
    legend_rows = math.ceil(len(clean) / 4) if clean else 0
    height = top + plot_h + 34 + legend_rows * 18
    if len(xs) < 1 or not values:
        return _svg(height, title, f'<text x="0" y="{top + 20}" {_FONT} fill="#666">—</text>')
    step = max(1, math.ceil(len(xs) / _MAX_POINTS))
    idx = list(range(0, len(xs), step))
    if idx[-1] != len(xs) - 1:
        idx.append(len(xs) - 1)
    x0, x1 = min(xs), max(xs)
    if x1 <= x0:
        x1 = x0 + 1
    yt = nice_ticks(min(0.0, min(values)), max(values))
    y0, y1 = yt[0], yt[-1]
    plot_w = _W - left - right

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    body = []
    for tick in yt:
        body.append(f'<line x1="{left}" x2="{_W - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                    f'stroke="#e3e3e3"/><text x="{left - 4}" y="{py(tick) + 4:.1f}" {_FONT} '
                    f'text-anchor="end" fill="#444">{escape(_fmt(tick))}</text>')
    for tick in nice_ticks(x0, x1, 6):
        if x0 <= tick <= x1:
            body.append(f'<text x="{px(tick):.1f}" y="{top + plot_h + 16}" {_FONT} text-anchor="middle" '
                        f'fill="#444">{escape(_fmt(tick))}</text>')
    body.append(f'<line x1="{left}" x2="{_W - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#888"/>')
    if x_label:
        body.append(f'<text x="{_W - right}" y="{top + plot_h + 30}" {_FONT} text-anchor="end" '
                    f'fill="#444">{escape(x_label)}</text>')
    if unit:
        body.append(f'<text x="{left}" y="{top - 2}" {_FONT} fill="#444">{escape(unit)}</text>')
    for n, (name, ys) in enumerate(clean.items()):
        colour = PALETTE[n % len(PALETTE)]
        segments, current = [], []
        for i in idx:
            y = ys[i] if i < len(ys) else None
            if y is not None:
                current.append(f"{px(xs[i]):.1f},{py(y):.1f}")
            elif current:
                segments.append(current)
                current = []
        if current:
            segments.append(current)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
            else:
                body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" '
                            f'points="{" ".join(seg)}"/>')
        lx = left + (n % 4) * 145
        ly = top + plot_h + 40 + (n // 4) * 18
        body.append(f'<rect x="{lx}" y="{ly}" width="12" height="4" fill="{colour}"/>'
                    f'<text x="{lx + 16}" y="{ly + 6}" {_FONT} fill="#222">{escape(name)}</text>')
    return _svg(height, title, "".join(body))


def timeline_chart(events: Sequence[tuple[float, str]], *, title: str, x_label: str = "") -> Markup:
    """Events (seconds, label) as marks on one time axis, labels staggered so they do not overlap."""
    events = sorted((float(t), str(label)) for t, label in events)
    left, right, top = 20, 20, 40
    height = top + 40 + 18 * min(len(events), 12) + 10
    if not events:
        return _svg(height, title, f'<text x="0" y="{top}" {_FONT} fill="#666">—</text>')
    t0, t1 = events[0][0], events[-1][0]
    if t1 <= t0:
        t1 = t0 + 1
    plot_w = _W - left - right
    axis_y = top + 10

    def px(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * plot_w

    body = [f'<line x1="{left}" x2="{_W - right}" y1="{axis_y}" y2="{axis_y}" stroke="#888" stroke-width="2"/>']
    for tick in nice_ticks(t0, t1, 6):
        if t0 <= tick <= t1:
            body.append(f'<text x="{px(tick):.1f}" y="{axis_y - 8}" {_FONT} text-anchor="middle" '
                        f'fill="#444">{escape(_fmt(tick))}</text>')
    for i, (t, label) in enumerate(events):
        colour = PALETTE[i % len(PALETTE)]
        row = i % 12
        y = axis_y + 24 + row * 18
        x = px(t)
        anchor = "end" if x > _W * 0.6 else "start"
        dx = -6 if anchor == "end" else 6
        shown = label if len(label) <= 60 else label[:59] + "…"
        body.append(f'<circle cx="{x:.1f}" cy="{axis_y}" r="4" fill="{colour}"/>'
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{y - 4}" stroke="{colour}" '
                    f'stroke-dasharray="2,2"/>'
                    f'<text x="{x + dx:.1f}" y="{y}" {_FONT} text-anchor="{anchor}" fill="#222">'
                    f"{escape(_fmt(t))} s · {escape(shown)}</text>")
    if x_label:
        body.append(f'<text x="{_W - right}" y="{height - 2}" {_FONT} text-anchor="end" fill="#444">'
                    f"{escape(x_label)}</text>")
    return _svg(height, title, "".join(body))

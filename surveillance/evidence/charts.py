"""Charts drawn on the server as inline SVG: no JavaScript, no fonts, no network.

Evidence must open offline years from now and print to PDF exactly as seen, so the
reports embed their charts as plain SVG text built here: a time-series chart (step
lines for quotes, dots for trades, shaded bands for alert windows) and a bar chart
(grouped or stacked). Output is deterministic: the same data give the same bytes,
numbers are rounded to two decimals and colours come from a fixed palette.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd

#: Colour-blind-safe palette (Okabe-Ito), in the order series take colours.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_W, _H = 760, 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 44


@dataclass(frozen=True)
class Line:
    """A series drawn as a line; ``step`` holds each value until the next point."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    step: bool = True
    color: str | None = None
    dashed: bool = False


@dataclass(frozen=True)
class Points:
    """A series drawn as dots (for example trades); ``size`` in pixels."""

    name: str
    x: Sequence[float]
    y: Sequence[float]
    color: str | None = None
    size: float = 3.0


@dataclass(frozen=True)
class Band:
    """A shaded span of the x axis (for example an alert's window)."""

    start: float
    end: float
    label: str = ""


@dataclass(frozen=True)
class Bars:
    """Categories on the x axis and one list of values per group."""

    categories: Sequence[str]
    groups: dict[str, Sequence[float]] = field(default_factory=dict)
    stacked: bool = False
    colors: dict[str, str] = field(default_factory=dict)


def _n(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def to_epoch(values: Sequence[object] | pd.Series) -> list[float]:
    """Timestamps (pandas, datetime or ISO text) as float seconds since the epoch (UTC)."""
    series = pd.to_datetime(pd.Series(list(values)), utc=True)
    return [float(v) / 1e9 for v in series.astype("int64")]


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


_TIME_STEPS = (
    0.001,
    0.01,
    0.1,
    0.5,
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)


def _ticks(lo: float, hi: float, target: int, time: bool) -> list[float]:
    if hi <= lo:
        return [lo]
    if time:
        step = next((s for s in _TIME_STEPS if (hi - lo) / s <= target), 604800.0)
    else:
        step = _nice_step(hi - lo, target)
    first = math.ceil(lo / step) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    return [first + i * step for i in range(max(count, 0))]


def _time_label(value: float, span: float) -> str:
    moment = dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if span >= 2 * 86400:
        return moment.strftime("%m-%d")
    if span >= 120:
        return moment.strftime("%H:%M")
    if span >= 2:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%S.%f")[:-3]


def _value_label(value: float, step: float) -> str:
    if step >= 1 or step == 0:
        return f"{value:,.0f}"
    decimals = min(8, max(0, -math.floor(math.log10(step))))
    return f"{value:,.{decimals}f}"


def _frame(title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def _empty(title: str, message: str, width: int = _W, height: int = 80) -> str:
    parts = _frame(title, width, height)
    parts.append(f'<text x="{_LEFT}" y="50" fill="#555555">{escape(message)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(names: list[tuple[str, str]], width: int, y: float) -> list[str]:
    parts: list[str] = []
    x = float(_LEFT)
    for name, color in names:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 8)}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{_n(x + 14)}" y="{_n(y + 1)}">{escape(name)}</text>')
        x += 24 + 6.5 * len(name)
        if x > width - 80:
            break
    return parts


def time_chart(
    title: str,
    *,
    lines: Sequence[Line] = (),
    points: Sequence[Points] = (),
    bands: Sequence[Band] = (),
    y_label: str = "",
    x_time: bool = True,
    width: int = _W,
    height: int = _H,
) -> str:
    """A chart of lines and dots over a (time) x axis, with shaded bands; SVG text."""
    drawn: list[Line | Points] = [*lines, *points]
    xs = [x for s in drawn for x in s.x if _finite(x)]
    ys = [y for s in drawn for x, y in zip(s.x, s.y, strict=True) if _finite(x) and _finite(y)]
    if not xs or not ys:
        return _empty(title, "no data in this window")
    x_lo = min([*xs, *(b.start for b in bands)])
    x_hi = max([*xs, *(b.end for b in bands)])
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_lo, y_hi = min(ys), max(ys)
    pad = (y_hi - y_lo) * 0.06 or abs(y_hi) * 0.001 or 1.0
    y_lo, y_hi = y_lo - pad, y_hi + pad
    plot_w = width - _LEFT - _RIGHT
    plot_h = height - _TOP - _BOTTOM - 14

    def px(x: float) -> float:
        return _LEFT + (x - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    parts = _frame(title, width, height)
    for band in bands:
        x0, x1 = px(band.start), px(band.end)
        parts.append(
            f'<rect class="band" x="{_n(x0)}" y="{_TOP}" width="{_n(max(x1 - x0, 1.5))}" '
            f'height="{_n(plot_h)}" fill="#F0E442" fill-opacity="0.35">'
            f"<title>{escape(band.label)}</title></rect>"
        )
    y_ticks = _ticks(y_lo, y_hi, 5, False)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 0.0
    for tick in y_ticks:
        y = py(tick)
        parts.append(
            f'<line x1="{_LEFT}" y1="{_n(y)}" x2="{width - _RIGHT}" y2="{_n(y)}" stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 4}" y="{_n(y + 4)}" text-anchor="end">'
            f"{escape(_value_label(tick, y_step))}</text>"
        )
    for tick in _ticks(x_lo, x_hi, 6, x_time):
        x = px(tick)
        label = _time_label(tick, x_hi - x_lo) if x_time else _value_label(tick, 1)
        parts.append(
            f'<line x1="{_n(x)}" y1="{_TOP + plot_h}" x2="{_n(x)}" y2="{_TOP + plot_h + 4}" '
            'stroke="#333333"/>'
        )
        parts.append(
            f'<text x="{_n(x)}" y="{_n(_TOP + plot_h + 16)}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append(
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_n(plot_w)}" height="{_n(plot_h)}" '
        'fill="none" stroke="#333333"/>'
    )
    if y_label:
        parts.append(
            f'<text x="12" y="{_n(_TOP + plot_h / 2)}" text-anchor="middle" '
            f'transform="rotate(-90 12 {_n(_TOP + plot_h / 2)})">{escape(y_label)}</text>'
        )
    legend: list[tuple[str, str]] = []
    colour = iter(PALETTE * 4)
    for line in lines:
        color = line.color or next(colour)
        legend.append((line.name, color))
        for segment in _segments(line):
            coords: list[str] = []
            previous: float | None = None
            for x, y in segment:
                if line.step and previous is not None and previous != y:
                    coords.append(f"{_n(px(x))},{_n(py(previous))}")
                coords.append(f"{_n(px(x))},{_n(py(y))}")
                previous = y
            dash = ' stroke-dasharray="4 3"' if line.dashed else ""
            parts.append(
                f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.5"'
                f'{dash} points="{" ".join(coords)}"/>'
            )
    for series in points:
        color = series.color or next(colour)
        legend.append((series.name, color))
        dots = [
            f'<circle cx="{_n(px(x))}" cy="{_n(py(y))}" r="{_n(series.size)}"/>'
            for x, y in zip(series.x, series.y, strict=True)
            if _finite(x) and _finite(y)
        ]
        parts.append(f'<g class="series" fill="{color}" fill-opacity="0.8">{"".join(dots)}</g>')
    parts.extend(_legend(legend, width, height - 8))
    parts.append("</svg>")
    return "\n".join(parts)


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _segments(line: Line) -> list[list[tuple[float, float]]]:
    """Runs of finite points: a missing value breaks the line instead of bridging it."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(line.x, line.y, strict=True):
        if _finite(x) and _finite(y):
            runs[-1].append((float(x), float(y)))
        elif runs[-1]:
            if line.step and _finite(x):
                # A step holds its last value until the moment the value disappears.
                runs[-1].append((float(x), runs[-1][-1][1]))
            runs.append([])
    return [r for r in runs if r]


def bar_chart(
    title: str,
    bars: Bars,
    *,
    y_label: str = "",
    width: int = _W,
    height: int = _H,
    value_format: str = "{:,.0f}",
) -> str:
    """Grouped (or stacked) vertical bars, one cluster per category; SVG text."""
    categories = list(bars.categories)
    groups = {name: [float(v) for v in values] for name, values in bars.groups.items()}
    if not categories or not groups or all(v == 0 for vs in groups.values() for v in vs):
        return _empty(title, "nothing to show for this period")
    if bars.stacked:
        top = max(sum(max(vs[i], 0.0) for vs in groups.values()) for i in range(len(categories)))
        bottom = 0.0
    else:
        top = max(0.0, max(max(vs) for vs in groups.values()))
        bottom = min(0.0, min(min(vs) for vs in groups.values()))
    if top == bottom:
        top = 1.0
    span = top - bottom
    ticks = _ticks(bottom - (0.05 * span if bottom < 0 else 0.0), top + 0.05 * span, 5, False)
    y_lo = min(bottom - (0.05 * span if bottom < 0 else 0.0), ticks[0])
    y_hi = max(top + 0.05 * span, ticks[-1])
    plot_w = width - _LEFT - _RIGHT
    slanted = min(max(len(c) for c in categories), 24) * 7 > plot_w / len(categories)
    plot_h = height - _TOP - _BOTTOM - (70 if slanted else 30)

    def py(y: float) -> float:
        return _TOP + plot_h - (y - y_lo) / (y_hi - y_lo) * plot_h

    parts = _frame(title, width, height)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for tick in ticks:
        y = py(tick)
        parts.append(
            f'<line x1="{_LEFT}" y1="{_n(y)}" x2="{width - _RIGHT}" y2="{_n(y)}" stroke="#e5e5e5"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 4}" y="{_n(y + 4)}" text-anchor="end">'
            f"{escape(_value_label(tick, step))}</text>"
        )
    slot = plot_w / len(categories)
    names = list(groups)
    colors = {
        name: bars.colors.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)
    }
    inner = min(slot * 0.8, 56.0 * len(groups))
    for i, category in enumerate(categories):
        x0 = _LEFT + i * slot + (slot - inner) / 2
        base = 0.0
        for j, name in enumerate(names):
            value = groups[name][i]
            if bars.stacked:
                x, w = x0, inner
                y_top, y_bottom = py(base + value), py(base)
                base += value
            else:
                w = inner / len(names)
                x = x0 + j * w
                y_top, y_bottom = py(max(value, 0.0)), py(min(value, 0.0))
            label = f"{category} · {name}: {value_format.format(value)}"
            parts.append(
                f'<rect class="bar" x="{_n(x)}" y="{_n(y_top)}" width="{_n(max(w - 1, 1))}" '
                f'height="{_n(max(y_bottom - y_top, 0))}" fill="{colors[name]}">'
                f"<title>{escape(label)}</title></rect>"
            )
        cx = _LEFT + (i + 0.5) * slot
        text = category if len(category) <= 24 else category[:23] + "…"
        y_text = _TOP + plot_h + 12
        if slanted:  # too narrow for horizontal labels: slant them
            parts.append(
                f'<text x="{_n(cx)}" y="{_n(y_text)}" text-anchor="end" font-size="8" '
                f'transform="rotate(-25 {_n(cx)} {_n(y_text)})">{escape(text)}</text>'
            )
        else:
            parts.append(
                f'<text x="{_n(cx)}" y="{_n(y_text + 2)}" text-anchor="middle" '
                f'font-size="9">{escape(text)}</text>'
            )
    parts.append(
        f'<line x1="{_LEFT}" y1="{_n(py(0))}" x2="{width - _RIGHT}" y2="{_n(py(0))}" '
        'stroke="#333333"/>'
    )
    if y_label:
        parts.append(
            f'<text x="12" y="{_n(_TOP + plot_h / 2)}" text-anchor="middle" '
            f'transform="rotate(-90 12 {_n(_TOP + plot_h / 2)})">{escape(y_label)}</text>'
        )
    if len(names) > 1 or names[0]:
        parts.extend(_legend([(n, colors[n]) for n in names], width, height - 8))
    parts.append("</svg>")
    return "\n".join(parts)

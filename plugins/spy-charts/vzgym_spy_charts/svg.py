"""Draw a :class:`~vzgym_spy_charts.data.Chart` as SVG text.

Plain SVG 1.1 (rects, lines, polylines, circles, paths and text in the
renderer's bundled DejaVu Sans), sized ``width`` × ``height`` pixels.  Every
number is formatted with a fixed precision, so a chart always gives the same
bytes.  Layout scales with the height (designed at 480 × 320).
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from vzgym_spy_charts.data import PALETTE, Chart

FONT = "DejaVu Sans"
GRID = "#dddddd"
AXIS = "#333333"
TEXT = "#222222"
Y_TICKS = 5


def pie_percentages(values: tuple[int, ...]) -> list[int]:
    """The percentage label of each slice (rounded to whole numbers, as drawn)."""
    total = sum(values)
    return [round(100 * v / total) for v in values]


def _n(x: float) -> str:
    return f"{x:.1f}"


def _text(x: float, y: float, body: str, size: float, anchor: str = "middle", extra: str = ""):
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" '
        f'fill="{TEXT}"{extra}>{escape(body)}</text>'
    )


def chart_svg(chart: Chart, width: int = 480, height: int = 320) -> str:
    """Return the SVG document of ``chart``."""
    s = height / 320
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _text(width / 2, 22 * s, chart.title, 15 * s, extra=' font-weight="bold"'),
    ]
    legend_w = 96 * s if chart.has_legend else 0.0
    if chart.has_legend:
        out += _legend(chart, width - legend_w, 46 * s, s)
    if chart.kind == "pie":
        out += _pie(chart, (width - legend_w) / 2, (height + 30 * s) / 2, s, height)
    else:
        box = (54 * s, 38 * s, width - legend_w - 16 * s, height - 46 * s)
        out += _axes(chart, box, s, height)
        out += _DRAW[chart.kind](chart, box, s)
    out.append("</svg>")
    return "".join(out)


def _legend(chart: Chart, x: float, y: float, s: float) -> list[str]:
    if chart.kind == "pie":
        entries = list(zip(chart.categories, chart.slice_colors))
    else:
        entries = [(ser.name, ser.color) for ser in chart.series]
    out = []
    for k, (name, color) in enumerate(entries):
        yy = y + k * 18 * s
        out.append(
            f'<rect x="{_n(x)}" y="{_n(yy - 9 * s)}" width="{_n(11 * s)}" '
            f'height="{_n(11 * s)}" fill="{PALETTE[color]}"/>'
        )
        out.append(_text(x + 16 * s, yy, name, 11 * s, anchor="start"))
    return out


def _axes(chart: Chart, box: tuple[float, float, float, float], s: float, height: int):
    left, top, right, bottom = box
    out = []
    for k in range(Y_TICKS + 1):
        value = chart.y_max * k // Y_TICKS
        y = bottom - (bottom - top) * k / Y_TICKS
        out.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(right)}" y2="{_n(y)}" '
            f'stroke="{GRID if k else AXIS}" stroke-width="1"/>'
        )
        out.append(_text(left - 5 * s, y + 3.5 * s, str(value), 10 * s, anchor="end"))
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(bottom)}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    cx, cy = 13 * s, (top + bottom) / 2
    out.append(
        _text(cx, cy, chart.y_label, 11 * s, extra=f' transform="rotate(-90 {_n(cx)} {_n(cy)})"')
    )
    out.append(_text((left + right) / 2, height - 8 * s, chart.x_label, 11 * s))
    return out


def _y(chart: Chart, value: float, box: tuple[float, float, float, float]) -> float:
    _, top, _, bottom = box
    return bottom - (bottom - top) * value / chart.y_max


def _category_ticks(chart: Chart, box, s: float) -> tuple[list[float], list[str]]:
    left, _, right, bottom = box
    slot = (right - left) / len(chart.categories)
    centers = [left + slot * (k + 0.5) for k in range(len(chart.categories))]
    labels = [_text(x, bottom + 14 * s, c, 10 * s) for x, c in zip(centers, chart.categories)]
    return centers, labels


def _bars(chart: Chart, box, s: float) -> list[str]:
    left, _, right, bottom = box
    centers, out = _category_ticks(chart, box, s)
    slot = (right - left) / len(chart.categories)
    n = len(chart.series)
    bar = slot * (0.6 if n == 1 else 0.8 / n)
    size = (10 if n == 1 else 8) * s
    for k, ser in enumerate(chart.series):
        fill = PALETTE[ser.color]
        for x, v in zip(centers, ser.values):
            x0 = x - bar * n / 2 + k * bar
            y = _y(chart, v, box)
            out.append(
                f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(bar)}" height="{_n(bottom - y)}" '
                f'fill="{fill}"/>'
            )
            out.append(_text(x0 + bar / 2, y - 3 * s, str(v), size))
    return out


def _lines(chart: Chart, box, s: float) -> list[str]:
    centers, out = _category_ticks(chart, box, s)
    for ser in chart.series:
        fill = PALETTE[ser.color]
        pts = [(x, _y(chart, v, box)) for x, v in zip(centers, ser.values)]
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{fill}" stroke-width="{_n(2 * s)}"/>'
        )
        for (x, y), v in zip(pts, ser.values):
            out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(3 * s)}" fill="{fill}"/>')
            out.append(_text(x, y - 6 * s, str(v), 9 * s))
    return out


def _scatter(chart: Chart, box, s: float) -> list[str]:
    left, top, right, bottom = box
    out = []
    for k in range(Y_TICKS + 1):
        value = chart.x_max * k // Y_TICKS
        x = left + (right - left) * k / Y_TICKS
        out.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(x, bottom + 14 * s, str(value), 10 * s))
    ser = chart.series[0]
    fill = PALETTE[ser.color]
    for name, xv, yv in zip(chart.categories, ser.xs or (), ser.values):
        x = left + (right - left) * xv / chart.x_max
        y = _y(chart, yv, box)
        out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(4.5 * s)}" fill="{fill}"/>')
        out.append(_text(x + 7 * s, y + 3.5 * s, name, 10 * s, anchor="start"))
    return out


def _pie(chart: Chart, cx: float, cy: float, s: float, height: int) -> list[str]:
    values = chart.series[0].values
    total = sum(values)
    r = min(cx - 10 * s, height - cy - 10 * s)
    out = []
    angle = 0.0  # clockwise from the top, in radians
    for v, pct, color in zip(values, pie_percentages(values), chart.slice_colors):
        sweep = 2 * math.pi * v / total
        a0, a1 = angle, angle + sweep
        x0, y0 = cx + r * math.sin(a0), cy - r * math.cos(a0)
        x1, y1 = cx + r * math.sin(a1), cy - r * math.cos(a1)
        large = 1 if sweep > math.pi else 0
        out.append(
            f'<path d="M{_n(cx)},{_n(cy)} L{_n(x0)},{_n(y0)} A{_n(r)},{_n(r)} 0 {large} 1 '
            f'{_n(x1)},{_n(y1)} Z" fill="{PALETTE[color]}" stroke="#ffffff" stroke-width="1"/>'
        )
        mid = (a0 + a1) / 2
        lx, ly = cx + 0.66 * r * math.sin(mid), cy - 0.66 * r * math.cos(mid)
        out.append(_text(lx, ly + 4 * s, f"{pct}%", 11 * s, extra=' font-weight="bold"'))
        angle = a1
    return out


_DRAW = {"bar": _bars, "grouped-bar": _bars, "line": _lines, "scatter": _scatter}

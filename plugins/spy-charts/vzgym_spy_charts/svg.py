"""Draw a :class:`~vzgym_spy_charts.data.Chart` as SVG text.

Plain SVG 1.1 (rects, lines, polylines, circles, paths and text in the
renderer's bundled DejaVu Sans), sized ``width`` × ``height`` pixels.  Every
number is formatted with a fixed precision, so a chart always gives the same
bytes.  Layout scales with the height (designed at 480 × 320).

Speed: cairosvg pays about 0.1 ms per element on top of its per-letter work, so
all labels of one size and weight go into one ``<text>`` whose letters carry
their own ``x``/``y`` (:class:`TextRuns`).  The positions use the font's advance
widths rounded as cairo rounds them (to 1/64 px, then to whole pixels: hinted
metrics), so the letters land on the pixels one ``<text>`` per label gives
(tested); ``middle``/``end`` anchors use the advance width, as SVG says.
"""

from __future__ import annotations

import math
from functools import lru_cache
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


@lru_cache(maxsize=1)
def _font():
    from PIL import ImageFont
    from vzgym.render.fonts import FONT_FILE

    return ImageFont.truetype(str(FONT_FILE), 2048)  # 2048 = DejaVu Sans' units per em


@lru_cache(maxsize=4096)
def advance(char: str, size: float) -> int:
    """The advance of ``char`` at ``size`` px in whole pixels, as cairo lays it out."""
    v64 = round(_font().getlength(char) * size * 64 / 2048)
    return (v64 + 32) // 64


def text_width(text: str, size: float) -> int:
    """The width of ``text`` at ``size`` px as cairo lays it out (no kerning)."""
    return sum(advance(c, size) for c in text)


class TextRuns:
    """Collects labels and writes one ``<text>`` element per (size, weight)."""

    def __init__(self) -> None:
        self._runs: dict[tuple[float, bool], tuple[list[str], list[str], list[str]]] = {}

    def add(
        self, x: float, y: float, body: str, size: float, anchor: str = "middle", bold: bool = False
    ) -> None:
        """Place ``body`` with its ``anchor`` (start, middle, end) at ``(x, y)``."""
        size = float(_n(size))  # the size as written, so the advances match what is drawn
        width = text_width(body, size)
        x -= {"start": 0, "middle": width / 2, "end": width}[anchor]
        xs, ys, chars = self._runs.setdefault((size, bold), ([], [], []))
        yy = _n(y)
        for c in body:
            if not c.isspace():
                xs.append(_n(x))
                ys.append(yy)
                chars.append(escape(c))
            x += advance(c, size)

    def svg(self) -> str:
        """The ``<text>`` elements, in the order their (size, weight) first appeared."""
        out = []
        for (size, bold), (xs, ys, chars) in self._runs.items():
            weight = ' font-weight="bold"' if bold else ""
            out.append(
                f'<text x="{" ".join(xs)}" y="{" ".join(ys)}" font-size="{_n(size)}" '
                f'fill="{TEXT}"{weight}>{"".join(chars)}</text>'
            )
        return "".join(out)


def _rotated(x: float, y: float, body: str, size: float) -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 {_n(x)} {_n(y)})">{escape(body)}</text>'
    )


def chart_svg(chart: Chart, width: int = 480, height: int = 320) -> str:
    """Return the SVG document of ``chart``."""
    s = height / 320
    texts = TextRuns()
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    texts.add(width / 2, 22 * s, chart.title, 15 * s, bold=True)
    legend_w = 96 * s if chart.has_legend else 0.0
    swatches = _legend(chart, width - legend_w, 46 * s, s, texts) if chart.has_legend else {}
    if chart.kind == "pie":
        out += _pie(chart, (width - legend_w) / 2, (height + 30 * s) / 2, s, height, texts)
        out += [f'<path d="{d}" fill="{PALETTE[c]}"/>' for c, d in swatches.items()]
    else:
        box = (54 * s, 38 * s, width - legend_w - 16 * s, height - 46 * s)
        out += _axes(chart, box, s, height, texts)
        out += _DRAW[chart.kind](chart, box, s, texts, swatches)
    out.append(texts.svg())
    out.append("</svg>")
    return "".join(out)


def _legend(chart: Chart, x: float, y: float, s: float, texts: TextRuns) -> dict[str, str]:
    """Write the legend's names; return each colour's swatch as path data.

    The swatches join the path of the series (or slice) of their colour: one
    element fewer per legend entry.
    """
    if chart.kind == "pie":
        entries = list(zip(chart.categories, chart.slice_colors))
    else:
        entries = [(ser.name, ser.color) for ser in chart.series]
    swatches = {}
    for k, (name, color) in enumerate(entries):
        yy = y + k * 18 * s
        side = _n(11 * s)
        swatches[color] = f"M{_n(x)},{_n(yy - 9 * s)}h{side}v{side}h-{side}Z"
        texts.add(x + 16 * s, yy, name, 11 * s, anchor="start")
    return swatches


def _axes(chart: Chart, box, s: float, height: int, texts: TextRuns) -> list[str]:
    left, top, right, bottom = box
    grid = []
    for k in range(1, Y_TICKS + 1):
        y = bottom - (bottom - top) * k / Y_TICKS
        grid.append(f"M{_n(left)},{_n(y)}H{_n(right)}")
    for k in range(Y_TICKS + 1):
        y = bottom - (bottom - top) * k / Y_TICKS
        texts.add(left - 5 * s, y + 3.5 * s, str(chart.y_max * k // Y_TICKS), 10 * s, "end")
    texts.add((left + right) / 2, height - 8 * s, chart.x_label, 11 * s)
    return [
        f'<path d="{"".join(grid)}" stroke="{GRID}" stroke-width="1"/>',
        f'<path d="M{_n(left)},{_n(top)}V{_n(bottom)}H{_n(right)}" fill="none" '
        f'stroke="{AXIS}" stroke-width="1"/>',
        _rotated(13 * s, (top + bottom) / 2, chart.y_label, 11 * s),
    ]


def _y(chart: Chart, value: float, box: tuple[float, float, float, float]) -> float:
    _, top, _, bottom = box
    return bottom - (bottom - top) * value / chart.y_max


def _category_ticks(chart: Chart, box, s: float, texts: TextRuns) -> list[float]:
    left, _, right, bottom = box
    slot = (right - left) / len(chart.categories)
    centers = [left + slot * (k + 0.5) for k in range(len(chart.categories))]
    for x, c in zip(centers, chart.categories):
        texts.add(x, bottom + 14 * s, c, 10 * s)
    return centers


def _bars(chart: Chart, box, s: float, texts: TextRuns, swatches: dict[str, str]) -> list[str]:
    left, _, right, bottom = box
    centers = _category_ticks(chart, box, s, texts)
    slot = (right - left) / len(chart.categories)
    n = len(chart.series)
    bar = slot * (0.6 if n == 1 else 0.8 / n)
    size = (10 if n == 1 else 8) * s
    out = []
    for k, ser in enumerate(chart.series):
        rects = [swatches.get(ser.color, "")]
        for x, v in zip(centers, ser.values):
            x0 = x - bar * n / 2 + k * bar
            y = _y(chart, v, box)
            rects.append(f"M{_n(x0)},{_n(y)}h{_n(bar)}V{_n(bottom)}h{_n(-bar)}Z")
            texts.add(x0 + bar / 2, y - 3 * s, str(v), size)
        out.append(f'<path d="{"".join(rects)}" fill="{PALETTE[ser.color]}"/>')
    return out


def _dots(points, r: float) -> str:
    """One path of full circles (cheaper for cairosvg than one ``<circle>`` each)."""
    return "".join(
        f"M{_n(x - r)},{_n(y)}a{_n(r)},{_n(r)} 0 1 0 {_n(2 * r)},0"
        f"a{_n(r)},{_n(r)} 0 1 0 {_n(-2 * r)},0Z"
        for x, y in points
    )


def _lines(chart: Chart, box, s: float, texts: TextRuns, swatches: dict[str, str]) -> list[str]:
    centers = _category_ticks(chart, box, s, texts)
    out = []
    # At each category the lowest of several lines gets its label below its point.
    lowest = [min(range(len(chart.series)), key=lambda k: chart.series[k].values[c])
              for c in range(len(centers))]  # fmt: skip
    for k, ser in enumerate(chart.series):
        fill = PALETTE[ser.color]
        pts = [(x, _y(chart, v, box)) for x, v in zip(centers, ser.values)]
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in pts)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{fill}" stroke-width="{_n(2 * s)}"/>'
        )
        dots = swatches.get(ser.color, "") + _dots(pts, 3 * s)
        out.append(f'<path d="{dots}" fill="{fill}"/>')
        for c, ((x, y), v) in enumerate(zip(pts, ser.values)):
            below = len(chart.series) > 1 and lowest[c] == k
            texts.add(x, y + (13 if below else -6) * s, str(v), 9 * s)
    return out


def _scatter(chart: Chart, box, s: float, texts: TextRuns, swatches: dict[str, str]):
    left, top, right, bottom = box
    grid = []
    for k in range(Y_TICKS + 1):
        x = left + (right - left) * k / Y_TICKS
        if k:
            grid.append(f"M{_n(x)},{_n(top)}V{_n(bottom)}")
        texts.add(x, bottom + 14 * s, str(chart.x_max * k // Y_TICKS), 10 * s)
    ser = chart.series[0]
    pts = []
    for name, xv, yv in zip(chart.categories, ser.xs or (), ser.values):
        x = left + (right - left) * xv / chart.x_max
        y = _y(chart, yv, box)
        pts.append((x, y))
        texts.add(x + 7 * s, y + 3.5 * s, name, 10 * s, anchor="start")
    return [
        f'<path d="{"".join(grid)}" stroke="{GRID}" stroke-width="1"/>',
        f'<path d="{_dots(pts, 4.5 * s)}" fill="{PALETTE[ser.color]}"/>',
    ]


def _pie(chart: Chart, cx: float, cy: float, s: float, height: int, texts: TextRuns):
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
        texts.add(lx, ly + 4 * s, f"{pct}%", 11 * s, bold=True)
        angle = a1
    return out


_DRAW = {"bar": _bars, "grouped-bar": _bars, "line": _lines, "scatter": _scatter}

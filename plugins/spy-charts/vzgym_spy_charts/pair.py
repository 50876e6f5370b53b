"""A chart and its edited copy, rendered through vzgym's sandboxed SVG renderer.

:func:`make_chart_pair` draws the chart and the edit from one generator, writes
both as SVG (:mod:`vzgym_spy_charts.svg`) and renders them in one
``render_batch`` call of :func:`vzgym.render.shared_renderer` (cairosvg in a
killable, resource-limited worker process).  Same generator state ⇒ the same
charts and byte-identical PNGs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from vzgym_spy_charts.data import CHART_KINDS, Chart, sample_chart
from vzgym_spy_charts.edits import edit_chart
from vzgym_spy_charts.svg import chart_svg

#: Edits drawn at most for one chart until one changes the image.
MAX_EDIT_TRIES = 5


class ChartRenderError(RuntimeError):
    """The sandboxed renderer could not draw a chart (an infrastructure failure)."""


@dataclass
class ChartPair:
    """Both charts, the edit, the change log and the rendered PNGs and images."""

    original: Chart
    modified: Chart
    edit_kind: str
    changes: list[dict[str, Any]]
    original_png: bytes
    modified_png: bytes

    def images(self) -> tuple[Image.Image, Image.Image]:
        """Decode both PNGs to RGB images."""
        return _decode(self.original_png), _decode(self.modified_png)


def _decode(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as img:
        return img.convert("RGB")


def render_charts(charts: Sequence[Chart], width: int, height: int, renderer: Any = None):
    """Render ``charts`` in the sandbox; return their PNG bytes (input order).

    Raises :class:`ChartRenderError` when any render fails.
    """
    if renderer is None:
        from vzgym.render import shared_renderer

        renderer = shared_renderer()
    results = renderer.render_batch([chart_svg(c, width, height) for c in charts])
    bad = [r for r in results if not r.ok]
    if bad:
        raise ChartRenderError(
            f"Error: chart render failed: {bad[0].status.value}: {bad[0].message}"
        )
    return [r.png for r in results]


def make_chart_pair(
    rng: np.random.Generator,
    *,
    chart_kinds: Sequence[str] = CHART_KINDS,
    edit_kind: str = "any",
    num_categories: tuple[int, int] = (4, 7),
    num_changes: int = 2,
    width: int = 480,
    height: int = 320,
    renderer: Any = None,
) -> ChartPair:
    """Sample a chart, edit it and render both; all randomness comes from ``rng``.

    An edit whose image equals the original's (never seen, but not excluded by
    construction) is drawn again, up to :data:`MAX_EDIT_TRIES` times.
    """
    chart = sample_chart(rng, chart_kinds, num_categories)
    for _ in range(MAX_EDIT_TRIES):
        edited, kind, changes = edit_chart(rng, chart, edit_kind, num_changes)
        png_a, png_b = render_charts([chart, edited], width, height, renderer)
        if png_a != png_b:
            return ChartPair(chart, edited, kind, changes, png_a, png_b)
    raise ValueError(f"no {edit_kind!r} edit changed the image of a {chart.kind} chart")

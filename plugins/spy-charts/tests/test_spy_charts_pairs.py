"""Charts, edits and rendered pairs: determinism, every edit changes the image and is logged."""

import dataclasses
import html
import re
from xml.sax.saxutils import escape

import numpy as np
import pytest
from vzgym.render import RenderLimits, SVGRenderer

from vzgym_spy_charts.data import CHART_KINDS, MIN_CATEGORIES, PALETTE, sample_chart
from vzgym_spy_charts.edits import EDIT_KINDS, edit_chart
from vzgym_spy_charts.pair import ChartRenderError, make_chart_pair, render_charts
from vzgym_spy_charts.svg import TextRuns, chart_svg, pie_percentages, text_width


@pytest.mark.parametrize("seed", [0, 7])
def test_same_seed_gives_identical_pair_bytes(seed):
    a = make_chart_pair(np.random.default_rng(seed))
    b = make_chart_pair(np.random.default_rng(seed))
    assert (a.original_png, a.modified_png) == (b.original_png, b.modified_png)
    assert a.changes == b.changes and a.original == b.original
    other = make_chart_pair(np.random.default_rng(seed + 1))
    assert other.original_png != a.original_png


def test_images_are_480x320_rgb():
    pair = make_chart_pair(np.random.default_rng(3))
    for img in pair.images():
        assert img.size == (480, 320) and img.mode == "RGB"
    small = make_chart_pair(np.random.default_rng(3), width=240, height=160)
    assert small.images()[0].size == (240, 160)


def test_sampler_covers_every_kind_and_respects_category_range():
    rng = np.random.default_rng(0)
    charts = [sample_chart(rng, num_categories=(3, 8)) for _ in range(300)]
    assert {c.kind for c in charts} == set(CHART_KINDS)
    for c in charts:
        assert 3 <= len(c.categories) <= 8
        assert len(set(c.categories)) == len(c.categories)
        assert all(len(s.values) == len(c.categories) for s in c.series)
        assert all(0 < v <= c.y_max for s in c.series for v in s.values)
        assert c.has_legend == (c.kind == "pie" or len(c.series) > 1)
        if c.kind == "pie":
            assert len(set(c.slice_colors)) == len(c.categories)
        if c.kind == "grouped-bar":
            assert len(c.categories) <= 5 and 2 <= len(c.series) <= 3


def _check_logged(chart, edited, kind, changes):
    assert changes and all(c["kind"] == kind for c in changes)
    if kind == "values":
        for c in changes:
            s = next(s for s in chart.series if s.name == c["series"])
            t = next(s for s in edited.series if s.name == c["series"])
            k = chart.categories.index(c["category"])
            assert (s.values[k], t.values[k]) == (c["before"], c["after"])
            assert c["before"] != c["after"]
        cells = sum(a != b for s, t in zip(chart.series, edited.series)
                    for a, b in zip(s.values, t.values))  # fmt: skip
        assert cells == len(changes) == 2
    elif kind == "swap":
        i, j = changes[0]["positions"]
        assert edited.categories[i] == chart.categories[j] == changes[0]["after"][0]
        assert edited.categories[j] == chart.categories[i] == changes[0]["after"][1]
    elif kind == "recolor":
        c = changes[0]
        assert c["before"] != c["after"] and c["after"] not in chart.used_colors()
        assert c["after"] in edited.used_colors() and c["before"] not in edited.used_colors()
    elif kind == "remove":
        c = changes[0]
        assert c["category"] not in edited.categories
        assert len(edited.categories) == len(chart.categories) - 1 >= MIN_CATEGORIES
        assert c["before"] == {s.name: s.values[c["position"]] for s in chart.series}


@pytest.mark.parametrize("chart_kind", CHART_KINDS)
@pytest.mark.parametrize("edit_kind", EDIT_KINDS)
def test_every_edit_changes_the_image_and_logs_it(chart_kind, edit_kind):
    pair = make_chart_pair(
        np.random.default_rng(11), chart_kinds=[chart_kind], edit_kind=edit_kind,
        num_categories=(4, 6),
    )  # fmt: skip
    assert pair.original.kind == chart_kind and pair.edit_kind == edit_kind
    assert pair.original_png != pair.modified_png
    a, b = pair.images()
    assert a.tobytes() != b.tobytes()
    _check_logged(pair.original, pair.modified, edit_kind, pair.changes)


def test_edit_logs_hold_over_many_seeds_without_rendering():
    for seed in range(400):
        rng = np.random.default_rng(seed)
        chart = sample_chart(rng)
        edited, kind, changes = edit_chart(rng, chart, "any")
        assert kind in EDIT_KINDS
        _check_logged(chart, edited, kind, changes)
        assert chart_svg(chart) != chart_svg(edited)


def test_remove_refuses_a_chart_at_the_minimum():
    chart = sample_chart(np.random.default_rng(0), ["bar"], (3, 3))
    with pytest.raises(ValueError, match="must remain"):
        edit_chart(np.random.default_rng(0), chart, "remove")
    # "any" never draws an impossible remove
    for seed in range(50):
        assert edit_chart(np.random.default_rng(seed), chart, "any")[1] != "remove"
    with pytest.raises(ValueError, match="edit_kind"):
        edit_chart(np.random.default_rng(0), chart, "blur")


def _letters(svg):
    """The letters of an SVG's <text> elements in document order, spaces dropped."""
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(texts)).replace(" ", "")


def test_svg_draws_title_labels_legend_and_value_labels():
    chart = sample_chart(np.random.default_rng(2), ["grouped-bar"])
    svg = chart_svg(chart)
    assert svg.startswith("<svg") and svg.count("<svg") == 1
    letters = _letters(svg)
    for text in (chart.title, chart.x_label, chart.y_label, *chart.categories):
        assert text.replace(" ", "") in letters
    for s in chart.series:
        assert s.name.replace(" ", "") in letters and PALETTE[s.color] in svg
        assert all(str(v) in letters for v in s.values)
    pie = sample_chart(np.random.default_rng(2), ["pie"])
    letters = _letters(chart_svg(pie))
    assert all(f"{p}%" in letters for p in pie_percentages(pie.series[0].values))


@pytest.mark.parametrize("size, bold", [(8, False), (9.5, False), (11, False), (13.5, True)])
def test_text_runs_render_like_one_text_element_per_label(size, bold):
    """Letters placed by TextRuns land on the pixels cairo gives a plain <text> per label.

    Anchors follow SVG (half / all of the advance width); cairosvg itself anchors on
    the ink box, so the plain labels are given the start x TextRuns computed.
    """
    labels = [(20, 30, "Monthly rainfall (Oslo)", "start"), (240, 60, "Q3 $12.5M 47%", "end"),
              (120, 90, "Fig & Kiwi: 2023", "middle")]  # fmt: skip
    weight = ' font-weight="bold"' if bold else ""
    shift = {"start": 0, "middle": 0.5, "end": 1}
    plain = "".join(
        f'<text x="{x - shift[a] * text_width(t, size):.1f}" y="{y}" font-size="{size}" '
        f'fill="#222222"{weight}>'
        f"{escape(t)}</text>"
        for x, y, t, a in labels
    )
    runs = TextRuns()
    for x, y, t, a in labels:
        runs.add(x, y, t, size, a, bold)
    head = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="260" height="100" '
        'font-family="DejaVu Sans">'
    )
    with SVGRenderer(workers=1) as renderer:
        a, b = renderer.render_batch([head + plain + "</svg>", head + runs.svg() + "</svg>"])
    assert a.ok and b.ok and a.png == b.png
    assert text_width("Aa 1%", 10) == 7 + 6 + 3 + 6 + 10  # hinted DejaVu Sans advances


def test_pie_percentages_hand_computed():
    assert pie_percentages((1, 1, 2)) == [25, 25, 50]
    assert pie_percentages((1, 2)) == [33, 67]


def test_render_failure_is_a_clear_error():
    chart = sample_chart(np.random.default_rng(0))
    with SVGRenderer(RenderLimits(max_bytes=200), workers=1) as tiny:
        with pytest.raises(ChartRenderError, match="^Error: chart render failed: too_large"):
            render_charts([chart], 480, 320, tiny)


def test_charts_are_frozen_values():
    chart = sample_chart(np.random.default_rng(0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        chart.title = "x"

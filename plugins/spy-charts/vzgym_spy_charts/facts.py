"""True statements read from a chart's data: what scripted players say and check.

:func:`chart_facts` lists short sentences, each true of the chart as drawn:

* what it shows: ``"the title is Fruit sales (2022)"``, ``"the x axis is
  labelled Fruit"``, ``"there are 5 bars"``, ``"each line has 6 points"``,
  ``"the third category is Plums"``;
* values as labelled: ``"Plums is 42"`` (one series), ``"Plums in 2022 is 42"``
  (several), ``"the Plums slice is 17%"`` (pie); a scatter point's coordinates are
  not labelled, so scatter facts are orderings only;
* orderings: ``"Plums is higher than Pears"``, ``"in 2022, Plums is higher than
  Pears"``, ``"the Plums slice is larger than the Pears slice"``, ``"Arrow is right
  of Comet"``; a pair of equal values gives no ordering fact;
* extremes (only when unique): ``"Plums is the highest"``, ``"in Oslo, Mar is the
  lowest"``, ``"the largest slice is Plums"``;
* colours: ``"the bars are blue"``, ``"2022 is drawn in green"``, ``"the Plums
  slice is red"``;
* line trends: ``"Oslo rises from Jan to Feb"`` / ``"falls"``.

A voter checks a clue by membership in its own chart's facts, compared after
:func:`normalize_clue` (case, outer quotes and full stops ignored).
"""

from __future__ import annotations

from vzgym_spy_charts.data import Chart, Series
from vzgym_spy_charts.svg import pie_percentages

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
_NOUN = {"bar": "bars", "grouped-bar": "groups of bars", "pie": "slices", "scatter": "points"}


def normalize_clue(text: str) -> str:
    """The form in which clues and facts are compared (case, outer quotes and dots ignored)."""
    return " ".join(text.strip().strip("\"'`.").lower().split())


def chart_facts(chart: Chart) -> list[str]:
    """Every fact of the kinds above that is true of ``chart`` (sorted, no duplicates)."""
    facts: set[str] = {f"the title is {chart.title}"}
    n = len(chart.categories)
    if chart.kind == "line":
        facts.add(f"{'each line' if len(chart.series) > 1 else 'the line'} has {n} points")
    else:
        facts.add(f"there are {n} {_NOUN[chart.kind]}")
    if chart.kind != "pie":
        facts.add(f"the x axis is labelled {chart.x_label}")
        facts.add(f"the y axis is labelled {chart.y_label}")
    if chart.kind != "scatter":
        for k, cat in enumerate(chart.categories):
            facts.add(f"the {ORDINALS[k]} category is {cat}")
    if chart.kind == "pie":
        _pie_facts(chart, facts)
    elif chart.kind == "scatter":
        _scatter_facts(chart, facts)
    else:
        for ser in chart.series:
            _series_facts(chart, ser, facts)
    return sorted(facts)


def common_facts(a: Chart, b: Chart) -> list[str]:
    """Facts true of both charts (sorted)."""
    return sorted(set(chart_facts(a)) & set(chart_facts(b)))


def _series_facts(chart: Chart, ser: Series, facts: set[str]) -> None:
    multi = len(chart.series) > 1
    where = f"in {ser.name}, " if multi else ""
    pairs = list(zip(chart.categories, ser.values))
    for cat, v in pairs:
        facts.add(f"{cat} in {ser.name} is {v}" if multi else f"{cat} is {v}")
    for cat_a, va in pairs:
        for cat_b, vb in pairs:
            if va > vb:
                facts.add(f"{where}{cat_a} is higher than {cat_b}")
    _extremes(pairs, where, "highest", "lowest", facts)
    if multi:
        facts.add(f"{ser.name} is drawn in {ser.color}")
    else:
        facts.add(f"the {'bars are' if chart.kind == 'bar' else 'line is'} {ser.color}")
    if chart.kind == "line":
        for (a, va), (b, vb) in zip(pairs, pairs[1:]):
            if va != vb:
                facts.add(f"{ser.name} {'rises' if vb > va else 'falls'} from {a} to {b}")


def _extremes(pairs, where: str, top: str, bottom: str, facts: set[str], gap: float = 0) -> None:
    """Add the unique top and bottom holders (ahead of the runner-up by more than ``gap``)."""
    ranked = sorted(v for _, v in pairs)
    for word, best, runner_up in ((top, ranked[-1], ranked[-2]), (bottom, ranked[0], ranked[1])):
        if abs(best - runner_up) > gap:
            holder = next(c for c, v in pairs if v == best)
            facts.add(f"{where}{holder} is the {word}")


def _pie_facts(chart: Chart, facts: set[str]) -> None:
    pcts = pie_percentages(chart.series[0].values)
    pairs = list(zip(chart.categories, chart.series[0].values))
    for cat, pct, color in zip(chart.categories, pcts, chart.slice_colors):
        facts.add(f"the {cat} slice is {pct}%")
        facts.add(f"the {cat} slice is {color}")
    for cat_a, va in pairs:
        for cat_b, vb in pairs:
            if va > vb:
                facts.add(f"the {cat_a} slice is larger than the {cat_b} slice")
    values = [v for _, v in pairs]
    for word, best in (("largest", max(values)), ("smallest", min(values))):
        holders = [c for c, v in pairs if v == best]
        if len(holders) == 1:
            facts.add(f"the {word} slice is {holders[0]}")


def _scatter_facts(chart: Chart, facts: set[str]) -> None:
    ser = chart.series[0]
    xs, ys = ser.xs or (), ser.values
    # Orderings only where the gap is visible (a twentieth of the axis).
    for a, xa, ya in zip(chart.categories, xs, ys):
        for b, xb, yb in zip(chart.categories, xs, ys):
            if (ya - yb) * 20 >= chart.y_max:
                facts.add(f"{a} is higher than {b}")
            if (xa - xb) * 20 >= chart.x_max:
                facts.add(f"{a} is right of {b}")
    _extremes(list(zip(chart.categories, ys)), "", "highest", "lowest", facts, chart.y_max / 40)
    _extremes(list(zip(chart.categories, xs)), "", "rightmost", "leftmost", facts, chart.x_max / 40)
    facts.add(f"the points are {ser.color}")

"""The spy's edit: a seeded change of a chart's data, with its change log.

Edit kinds (:data:`EDIT_KINDS`):

* ``values`` — ``num_changes`` values change (distinct cells; each moves by at
  least a tenth of the axis, stays on the axis);
* ``swap`` — the labels of two categories trade places (the values stay);
* ``recolor`` — one series (a pie: one slice) gets a colour the chart does not use;
* ``remove`` — one category disappears with all its values.

``edit_kind="any"`` draws one of them per pair.  The change log is a list of
dicts, each with ``"kind"``, ``"before"`` and ``"after"`` (as CLEVR's is) and the
place of the change:

* ``{"kind": "values", "category": c, "series": s, "before": 40, "after": 65}``
  (one entry per changed value; a scatter's entry changes ``y``);
* ``{"kind": "swap", "positions": [i, j], "before": [a, b], "after": [b, a]}``;
* ``{"kind": "recolor", "series": s, "before": "blue", "after": "red"}``
  (a pie's entry names the slice: ``"category": c`` instead of ``"series"``);
* ``{"kind": "remove", "category": c, "position": i, "before": {series: value},
  "after": None}``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from vzgym_spy_charts.data import COLOR_NAMES, MIN_CATEGORIES, Chart, Series

EDIT_KINDS = ("values", "swap", "recolor", "remove")
EDIT_CHOICES = (*EDIT_KINDS, "any")


def edit_chart(
    rng: np.random.Generator, chart: Chart, edit_kind: str = "any", num_changes: int = 2
) -> tuple[Chart, str, list[dict[str, Any]]]:
    """Return ``(edited chart, edit kind used, change log)``, drawn from ``rng`` only.

    Raises ``ValueError`` for an unknown kind, or when the chart cannot take the
    edit (``remove`` needs more than :data:`MIN_CATEGORIES` categories; ``values``
    needs ``num_changes`` cells).
    """
    if edit_kind not in EDIT_CHOICES:
        raise ValueError(f"edit_kind must be one of {EDIT_CHOICES}, got {edit_kind!r}")
    kind = edit_kind
    if kind == "any":
        possible = [k for k in EDIT_KINDS if k != "remove" or _can_remove(chart)]
        kind = possible[int(rng.integers(len(possible)))]
    edited, changes = _EDITS[kind](rng, chart, num_changes)
    return edited, kind, changes


def _can_remove(chart: Chart) -> bool:
    return len(chart.categories) > MIN_CATEGORIES


def _edit_values(rng: np.random.Generator, chart: Chart, num_changes: int):
    cells = [(s, c) for s in range(len(chart.series)) for c in range(len(chart.categories))]
    if not 1 <= num_changes <= len(cells):
        raise ValueError(f"values edit: num_changes={num_changes} but the chart has {len(cells)}")
    picks = rng.choice(len(cells), size=num_changes, replace=False)
    values = [list(s.values) for s in chart.series]
    top = chart.y_max * 9 // 10 if chart.kind != "pie" else chart.y_max
    low, step = max(1, chart.y_max // 20), max(1, chart.y_max // 10)
    changes = []
    for p in sorted(int(i) for i in picks):
        s, c = cells[p]
        old = values[s][c]
        options = [v for v in range(low, top + 1) if abs(v - old) >= step]
        if chart.kind == "pie":  # slices keep distinct sizes
            options = [v for v in options if v not in values[s]]
        new = int(options[int(rng.integers(len(options)))])
        values[s][c] = new
        changes.append(
            {
                "kind": "values",
                "category": chart.categories[c],
                "series": chart.series[s].name,
                "before": old,
                "after": new,
            }
        )
    series = [replace(s, values=tuple(v)) for s, v in zip(chart.series, values)]
    return chart.with_series(series), changes


def _edit_swap(rng: np.random.Generator, chart: Chart, num_changes: int):
    i, j = sorted(int(k) for k in rng.choice(len(chart.categories), size=2, replace=False))
    cats = list(chart.categories)
    a, b = cats[i], cats[j]
    cats[i], cats[j] = b, a
    change = {"kind": "swap", "positions": [i, j], "before": [a, b], "after": [b, a]}
    return replace(chart, categories=tuple(cats)), [change]


def _edit_recolor(rng: np.random.Generator, chart: Chart, num_changes: int):
    free = [c for c in COLOR_NAMES if c not in chart.used_colors()]
    new = free[int(rng.integers(len(free)))]
    if chart.kind == "pie":
        k = int(rng.integers(len(chart.categories)))
        colors = list(chart.slice_colors)
        old, colors[k] = colors[k], new
        change = {"kind": "recolor", "category": chart.categories[k], "before": old, "after": new}
        return replace(chart, slice_colors=tuple(colors)), [change]
    k = int(rng.integers(len(chart.series)))
    old = chart.series[k].color
    series = list(chart.series)
    series[k] = replace(series[k], color=new)
    change = {"kind": "recolor", "series": series[k].name, "before": old, "after": new}
    return chart.with_series(series), [change]


def _edit_remove(rng: np.random.Generator, chart: Chart, num_changes: int):
    if not _can_remove(chart):
        raise ValueError(
            f"remove edit: the chart has {len(chart.categories)} categories; "
            f"at least {MIN_CATEGORIES} must remain"
        )
    k = int(rng.integers(len(chart.categories)))
    keep = [i for i in range(len(chart.categories)) if i != k]

    def drop(s: Series) -> Series:
        xs = None if s.xs is None else tuple(s.xs[i] for i in keep)
        return replace(s, values=tuple(s.values[i] for i in keep), xs=xs)

    change = {
        "kind": "remove",
        "category": chart.categories[k],
        "position": k,
        "before": {s.name: s.values[k] for s in chart.series},
        "after": None,
    }
    edited = replace(
        chart,
        categories=tuple(chart.categories[i] for i in keep),
        series=tuple(drop(s) for s in chart.series),
        slice_colors=tuple(chart.slice_colors[i] for i in keep) if chart.slice_colors else (),
    )
    return edited, [change]


_EDITS = {
    "values": _edit_values,
    "swap": _edit_swap,
    "recolor": _edit_recolor,
    "remove": _edit_remove,
}

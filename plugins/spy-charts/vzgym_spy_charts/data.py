"""The chart data model and its seeded sampler.

A :class:`Chart` is everything drawn: kind, title, axis labels, categories and one
or more :class:`Series` (name, colour, one integer value per category).  Images are
made from it (:mod:`vzgym_spy_charts.svg`) and so are the bots' facts
(:mod:`vzgym_spy_charts.facts`), so what a bot says is read from what is drawn.

Kinds (:data:`CHART_KINDS`):

* ``bar`` — one series, one bar per category, value labels above the bars;
* ``grouped-bar`` — 2–3 series side by side per category, with a legend;
* ``line`` — 1–3 series over ordered categories (months, quarters ...), with
  point markers, value labels and (for 2+ series) a legend;
* ``pie`` — one series, one slice per category with its own colour, percentage
  labels on the slices and a legend naming them;
* ``scatter`` — one series of labelled points on two numeric axes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

CHART_KINDS = ("bar", "grouped-bar", "line", "pie", "scatter")

#: Named colours (name → hex).  Facts and the change log use the names.
PALETTE: dict[str, str] = {
    "blue": "#1f77b4",
    "orange": "#ff7f0e",
    "green": "#2ca02c",
    "red": "#d62728",
    "purple": "#9467bd",
    "brown": "#8c564b",
    "pink": "#e377c2",
    "gray": "#7f7f7f",
    "olive": "#bcbd22",
    "teal": "#17becf",
}
COLOR_NAMES = tuple(PALETTE)
#: Most categories a chart may have (the layout is made for this many at 480 px).
MAX_CATEGORIES = 8
#: Fewest categories a chart may have.
MIN_CATEGORIES = 3
#: Most categories of a grouped bar chart (2–3 bars per category).
MAX_GROUPED_CATEGORIES = 5


@dataclass(frozen=True)
class Theme:
    """What a chart is about: title, axis labels, category and series pools."""

    title: str
    x_label: str
    y_label: str
    categories: tuple[str, ...]
    series: tuple[str, ...]
    ordered: bool = False  # categories have a natural order (line charts use these)
    scales: tuple[int, ...] = (50, 100, 200)


THEMES: tuple[Theme, ...] = (
    Theme("Fruit sales", "Fruit", "Sales (tons)",
          ("Apples", "Pears", "Plums", "Grapes", "Mangoes", "Lemons", "Kiwis", "Figs"),
          ("2021", "2022", "2023")),
    Theme("Energy output", "Source", "Output (TWh)",
          ("Solar", "Wind", "Hydro", "Coal", "Gas", "Nuclear", "Biomass", "Tidal"),
          ("North", "South", "East")),
    Theme("Commuters by mode", "Mode", "Commuters (k)",
          ("Bus", "Train", "Car", "Bike", "Walk", "Tram", "Ferry", "Taxi"),
          ("Weekday", "Weekend", "Holiday")),
    Theme("Library loans", "Genre", "Loans",
          ("Fiction", "History", "Science", "Poetry", "Travel", "Comics", "Cooking", "Art"),
          ("Spring", "Summer", "Autumn")),
    Theme("Monthly rainfall", "Month", "Rainfall (mm)",
          ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
          ("Oslo", "Lima", "Rome"), ordered=True),
    Theme("Quarterly revenue", "Quarter", "Revenue ($M)",
          ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7", "Q8", "Q9", "Q10"),
          ("Alpha", "Beta", "Gamma"), ordered=True),
    Theme("Site visitors", "Year", "Visitors (k)",
          ("2016", "2017", "2018", "2019", "2020", "2021", "2022", "2023", "2024"),
          ("Museum", "Zoo", "Park"), ordered=True),
)  # fmt: skip

SCATTER_THEMES: tuple[Theme, ...] = (
    Theme("Cars: price vs range", "Price ($k)", "Range (km)",
          ("Arrow", "Breeze", "Comet", "Dart", "Ember", "Falcon", "Glide", "Halo"),
          ("Models",), scales=(500,)),
    Theme("Cities: size vs parks", "Population (k)", "Parks",
          ("Avon", "Bree", "Cole", "Dale", "Eton", "Fife", "Gale", "Hove"),
          ("Cities",), scales=(100,)),
    Theme("Phones: weight vs battery", "Weight (g)", "Battery (h)",
          ("Nova", "Orbit", "Pixel", "Quark", "Radar", "Sonic", "Tango", "Ultra"),
          ("Phones",), scales=(50,)),
)  # fmt: skip
#: The x-axis top of each scatter theme (parallel to :data:`SCATTER_THEMES`).
SCATTER_X_MAX = (100, 1000, 250)


@dataclass(frozen=True)
class Series:
    """One data series: a name (legend entry), a colour name and a value per category.

    ``xs`` holds the x values of a scatter series (None for other kinds).
    """

    name: str
    color: str
    values: tuple[int, ...]
    xs: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Chart:
    """Everything a chart image shows (see the module docstring).

    Attributes:
        kind: one of :data:`CHART_KINDS`.
        title, x_label, y_label: the texts drawn (pies draw no axis labels).
        categories: category names in drawing order (bars/points left to right,
            pie slices clockwise from the top).
        series: the data; every series has one value per category.
        y_max: the top of the value axis (fixed, so an edit never rescales it).
        x_max: the top of a scatter chart's x axis (0 for other kinds).
        slice_colors: one colour name per category (pies only).
    """

    kind: str
    title: str
    x_label: str
    y_label: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    y_max: int
    x_max: int = 0
    slice_colors: tuple[str, ...] = field(default=())

    @property
    def has_legend(self) -> bool:
        """Whether a legend is drawn (pies, and charts of two or more series)."""
        return self.kind == "pie" or len(self.series) > 1

    def used_colors(self) -> set[str]:
        """Colour names drawn anywhere in the chart."""
        return set(self.slice_colors) | {s.color for s in self.series}

    def with_series(self, series: Sequence[Series]) -> Chart:
        """A copy with other series."""
        return replace(self, series=tuple(series))


def _category_range(kind: str, num_categories: tuple[int, int]) -> tuple[int, int]:
    low, high = num_categories
    if kind == "grouped-bar":
        high = min(high, MAX_GROUPED_CATEGORIES)
    return min(low, high), high


def sample_chart(
    rng: np.random.Generator,
    kinds: Sequence[str] = CHART_KINDS,
    num_categories: tuple[int, int] = (4, 7),
) -> Chart:
    """Draw a chart from ``rng`` only: same generator state ⇒ same chart."""
    kind = str(kinds[int(rng.integers(len(kinds)))])
    low, high = _category_range(kind, num_categories)
    n = int(rng.integers(low, high + 1))
    if kind == "scatter":
        return _sample_scatter(rng, n)
    pool = [t for t in THEMES if t.ordered] if kind == "line" else list(THEMES)
    theme = pool[int(rng.integers(len(pool)))]
    if theme.ordered:
        start = int(rng.integers(len(theme.categories) - n + 1))
        categories = theme.categories[start : start + n]
    else:
        picks = rng.choice(len(theme.categories), size=n, replace=False)
        categories = tuple(theme.categories[int(i)] for i in picks)
    n_series = {"bar": 1, "pie": 1, "grouped-bar": int(rng.integers(2, 4))}.get(kind)
    if n_series is None:  # line
        n_series = int(rng.integers(1, 4))
    names = [theme.series[int(i)] for i in rng.choice(len(theme.series), n_series, replace=False)]
    n_colors = n_series + (n if kind == "pie" else 0)
    colors = [COLOR_NAMES[int(i)] for i in rng.choice(len(COLOR_NAMES), n_colors, replace=False)]
    y_max = int(theme.scales[int(rng.integers(len(theme.scales)))])
    if kind == "pie":
        y_max = 100
    series = tuple(
        Series(name, colors[k], _values(rng, n, y_max, distinct=kind == "pie"))
        for k, name in enumerate(names)
    )
    title = theme.title if n_series > 1 else f"{theme.title} ({names[0]})"
    return Chart(
        kind=kind,
        title=title,
        x_label=theme.x_label,
        y_label=theme.y_label,
        categories=tuple(categories),
        series=series,
        y_max=y_max,
        slice_colors=tuple(colors[n_series:]) if kind == "pie" else (),
    )


def _values(rng: np.random.Generator, n: int, y_max: int, distinct: bool = False) -> tuple:
    low, high = max(1, y_max // 10), y_max * 9 // 10
    if distinct:
        picks = rng.choice(np.arange(low, high + 1), size=n, replace=False)
        return tuple(int(v) for v in picks)
    return tuple(int(v) for v in rng.integers(low, high + 1, size=n))


def _sample_scatter(rng: np.random.Generator, n: int) -> Chart:
    index = int(rng.integers(len(SCATTER_THEMES)))
    theme, x_max = SCATTER_THEMES[index], SCATTER_X_MAX[index]
    y_max = theme.scales[0]
    picks = rng.choice(len(theme.categories), size=n, replace=False)
    categories = tuple(theme.categories[int(i)] for i in picks)
    xs: list[int] = []
    ys: list[int] = []
    # Points keep apart (a tenth of either axis) so labels stay readable.
    for _ in range(n):
        for _try in range(50):
            x = int(rng.integers(x_max // 20, x_max * 19 // 20 + 1))
            y = int(rng.integers(y_max // 20, y_max * 9 // 10 + 1))
            if all(abs(x - a) * 10 > x_max or abs(y - b) * 10 > y_max for a, b in zip(xs, ys)):
                break
        xs.append(x)
        ys.append(y)
    color = COLOR_NAMES[int(rng.integers(len(COLOR_NAMES)))]
    return Chart(
        kind="scatter",
        title=theme.title,
        x_label=theme.x_label,
        y_label=theme.y_label,
        categories=categories,
        series=(Series(theme.series[0], color, tuple(ys), tuple(xs)),),
        y_max=y_max,
        x_max=x_max,
    )

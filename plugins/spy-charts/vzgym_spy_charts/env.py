"""``spy-charts``: Who-Is-the-Spy over procedural charts (Vision-Zero's chart setting).

The rules are vzgym's :class:`~vzgym.envs.spy.game.SpyEnv` (two stages, clue
then decision, RAE on clues, Iterative-SPO switching on vote accuracy and the
N/A rate); this module only supplies the image pairs and adds statistics per
chart kind and per edit kind to the episode's ``game`` info.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from vzgym.core.facts import PlotPanel, Stat
from vzgym.envs.spy.game import SPY_FACTS, PairSample, SpyEnv

from vzgym_spy_charts.data import CHART_KINDS, MAX_CATEGORIES, MIN_CATEGORIES, Chart
from vzgym_spy_charts.edits import EDIT_CHOICES, EDIT_KINDS
from vzgym_spy_charts.pair import make_chart_pair


def _key(name: str) -> str:
    return name.replace("-", "_")


#: The spy game's facts plus vote accuracy per chart kind and spy-found rate per edit
#: kind (each reported only by the episodes of that kind), with a panel for each.
CHART_FACTS = dataclasses.replace(
    SPY_FACTS,
    stats=(
        *SPY_FACTS.stats,
        *(
            Stat(f"vote_accuracy_{_key(k)}", "rate", f"vote accuracy on {k} charts", True)
            for k in CHART_KINDS
        ),
        *(
            Stat(f"spy_found_{k}", "rate", f"spy found when the edit was {k!r}", None)
            for k in EDIT_KINDS
        ),
    ),
    plots=(
        *SPY_FACTS.plots,
        PlotPanel(
            "spy_charts_by_kind.png",
            "Vote accuracy by chart kind",
            tuple(f"game/vote_accuracy_{_key(k)}" for k in CHART_KINDS),
        ),
        PlotPanel(
            "spy_charts_by_edit.png",
            "Spy found by edit kind",
            tuple(f"game/spy_found_{k}" for k in EDIT_KINDS),
        ),
    ),
)


def _kinds(value: str | Sequence[str]) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",")) if isinstance(value, str) else tuple(value)
    bad = [k for k in kinds if k not in CHART_KINDS]
    if not kinds or bad:
        raise ValueError(f"chart_kinds must be a non-empty list of {CHART_KINDS}, got {value!r}")
    return kinds


def _range(value: int | Sequence[int], edit_kind: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair) or pair[0] > pair[1]:
        raise ValueError(f"num_categories must be an int or a (low, high) pair, got {value!r}")
    low, high = pair
    if edit_kind == "remove":  # one category goes: at least MIN_CATEGORIES must remain
        low = max(low, MIN_CATEGORIES + 1)
    if low < MIN_CATEGORIES or high > MAX_CATEGORIES or low > high:
        raise ValueError(
            f"num_categories must lie in [{MIN_CATEGORIES}, {MAX_CATEGORIES}]"
            f"{' (at least 4 for edit_kind=remove)' if edit_kind == 'remove' else ''}, "
            f"got {value!r}"
        )
    return low, high


class SpyChartsEnv(SpyEnv):
    """Who-Is-the-Spy where each episode draws a fresh chart and the spy's edited copy.

    Args:
        chart_kinds: kinds to draw from (uniformly), a list or a comma-separated
            string of ``bar``, ``grouped-bar``, ``line``, ``pie``, ``scatter``
            (default: all five).
        edit_kind: the spy's edit: ``values`` (``num_changes`` values change),
            ``swap`` (two category labels trade places), ``recolor`` (a series, or
            a pie slice, gets a new colour), ``remove`` (a category disappears) or
            ``any`` (one of them drawn per episode; the default).
        num_categories: categories per chart, an int or an inclusive ``(low, high)``
            range within [3, 8] (default ``(4, 7)``; grouped bars stop at 5;
            ``remove`` needs at least 4).
        num_changes: how many values a ``values`` edit changes (default 2).
        width, height: image size in pixels (default 480 × 320).
        **game: the rules' options, see :class:`vzgym.envs.spy.game.SpyEnv`.

    Charts are SVG rendered by vzgym's sandboxed renderer; a render failure is an
    infrastructure error (``ChartRenderError`` from ``reset``).  ``game`` infos add
    ``chart_kind``, ``edit_kind`` and the per-kind stats of :data:`CHART_FACTS`.
    """

    metadata = {"render_modes": ["ansi"], "name": "spy-charts"}

    facts = CHART_FACTS

    def __init__(
        self,
        *,
        chart_kinds: str | Sequence[str] = CHART_KINDS,
        edit_kind: str = "any",
        num_categories: int | Sequence[int] = (4, 7),
        num_changes: int = 2,
        width: int = 480,
        height: int = 320,
        **game: Any,
    ):
        super().__init__(**game)
        if edit_kind not in EDIT_CHOICES:
            raise ValueError(f"edit_kind must be one of {EDIT_CHOICES}, got {edit_kind!r}")
        self.chart_kinds = _kinds(chart_kinds)
        self.edit_kind = edit_kind
        self.num_categories = _range(num_categories, edit_kind)
        if not isinstance(num_changes, int) or not 1 <= num_changes <= MIN_CATEGORIES:
            raise ValueError(f"num_changes must be an int in [1, {MIN_CATEGORIES}]")
        self.num_changes = num_changes
        for name, size in (("width", width), ("height", height)):
            if not isinstance(size, int) or not 120 <= size <= 2048:
                raise ValueError(f"{name} must be an int in [120, 2048], got {size!r}")
        self.width, self.height = width, height

    def sample_pair(self) -> PairSample:
        """Draw a chart, edit it and render both from ``self.np_random``."""
        pair = make_chart_pair(
            self.np_random,
            chart_kinds=self.chart_kinds,
            edit_kind=self.edit_kind,
            num_categories=self.num_categories,
            num_changes=self.num_changes,
            width=self.width,
            height=self.height,
        )
        original, modified = pair.images()
        return PairSample(
            original=original,
            modified=modified,
            changes=pair.changes,
            original_scene=pair.original,
            modified_scene=pair.modified,
            source=f"charts:{pair.original.kind}",
        )

    def _score(self) -> dict[str, Any]:
        summary = super()._score()
        game = summary["game"]
        chart = self._pair.original_scene
        if isinstance(chart, Chart):
            edit = self._pair.changes[0].get("kind") if self._pair.changes else None
            game["chart_kind"] = chart.kind
            game["edit_kind"] = edit
            game[f"vote_accuracy_{_key(chart.kind)}"] = game["vote_accuracy"]
            if edit in EDIT_KINDS:
                game[f"spy_found_{edit}"] = game["spy_found"]
        return summary

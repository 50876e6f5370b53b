r"""Scripted ``spy-charts`` players: the other seats in ``vzgym play`` and test opponents.

They read the chart data of their own image from ``Observation.private["scene"]``
(a :class:`~vzgym_spy_charts.data.Chart`) and speak only facts of
:func:`~vzgym_spy_charts.facts.chart_facts`, so every clue is true of the
speaker's own chart:

* a civilian states a fact of its chart that nobody has said yet;
* the spy states a fact true of both charts (it peeks at
  ``private["other_scene"]``, the civilians' chart) and with probability
  ``spy_mistake_rate`` a fact of its own chart only (a giveaway); with a blank
  image (``spy_view="blank"``) it can only be vague;
* a voter checks every other player's clues against its own chart's facts and
  votes for the single player with the most false (or invalid) clues, else N/A.

Choices are deterministic per observation and ``seed``.
"""

from __future__ import annotations

from vzgym.core.observation import Observation
from vzgym.envs.spy.bots import SpyBot
from vzgym.envs.spy.prompts import NO_VALID_CLUE

from vzgym_spy_charts.data import Chart
from vzgym_spy_charts.facts import chart_facts, common_facts, normalize_clue

#: What a player without chart data says (never a fact of any chart).
VAGUE_CLUES = ("it is a chart with a title", "the chart has some labels", "it shows some data")


def _chart(value: object) -> Chart | None:
    return value if isinstance(value, Chart) else None


class ChartSpyBot(SpyBot):
    """Rule-based ``spy-charts`` player (clues and votes; see the module docstring)."""

    name = "spy-charts-bot"

    def __init__(self, seed: int = 0, spy_mistake_rate: float = 0.0):
        if not 0.0 <= float(spy_mistake_rate) <= 1.0:
            raise ValueError(f"spy_mistake_rate must lie in [0, 1], got {spy_mistake_rate!r}")
        super().__init__(seed)
        self.spy_mistake_rate = float(spy_mistake_rate)

    def clue(self, obs: Observation) -> str:
        """Return a clue action: reasoning, then the clue in ``\\boxed{}``."""
        rng = self._rng(obs)
        said = {normalize_clue(c) for rnd in obs.private.get("public_log", []) for _, c in rnd}
        own_chart = _chart(obs.private.get("scene"))
        own = chart_facts(own_chart) if own_chart is not None else []
        if obs.private.get("true_role") == "spy":
            other = _chart(obs.private.get("other_scene"))
            common = common_facts(own_chart, other) if own_chart and other else []
            giveaway = sorted(set(own) - set(common))
            if giveaway and rng.random() < self.spy_mistake_rate:
                candidates, reason = giveaway, "I read this off my chart and hope theirs agrees."
            elif common:
                candidates, reason = common, "I only say what every chart surely shows."
            else:
                candidates, reason = list(VAGUE_CLUES), "I cannot read my chart, so I stay vague."
        else:
            candidates = own or list(VAGUE_CLUES)
            reason = "I read this off my chart."
        fresh = [c for c in candidates if normalize_clue(c) not in said] or candidates
        clue = fresh[int(rng.integers(len(fresh)))]
        return f"{reason}\n\\boxed{{{clue}}}"

    def vote(self, obs: Observation) -> str:
        """Return a vote action: the single most suspicious player, or N/A."""
        chart = _chart(obs.private.get("scene"))
        if chart is None:
            return "I have no chart to compare with.\n\\boxed{N/A}"
        own = {normalize_clue(f) for f in chart_facts(chart)}
        me = obs.extra.get("seat", 0)
        false_clues: dict[int, int] = {}
        for rnd in obs.private.get("public_log", []):
            for seat, clue in rnd:
                if seat != me:
                    bad = clue == NO_VALID_CLUE or normalize_clue(clue) not in own
                    false_clues[seat] = false_clues.get(seat, 0) + int(bad)
        if not false_clues:
            return "Nobody has spoken.\n\\boxed{N/A}"
        top = max(false_clues.values())
        leaders = [s for s, v in false_clues.items() if v == top]
        if top == 0 or len(leaders) > 1:
            return "No single player said something my chart contradicts.\n\\boxed{N/A}"
        return f"Player {leaders[0]}'s clues do not match my chart.\n\\boxed{{{leaders[0]}}}"

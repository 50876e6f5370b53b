"""What a game declares about itself so generic code never has to know it by name.

A game (a :class:`~vzgym.envs.base.MultiAgentEnv` subclass) sets the class
attribute ``facts = GameFacts(...)``; :attr:`vzgym.registration.EnvSpec.facts`
reads it without building the env (Gymnasium's ``EnvSpec`` carries what generic
code needs in the same way).  Trainers, the rollout runner, ``vzgym plot``,
``vzgym eval`` and ``vzgym view`` read only these facts:

* **stages** — observation phases trained separately (Iterative-SPO alternates
  between them), each with its default advantage estimator;
* **stats** — the per-episode statistics the game reports in
  ``infos[agent]["game"]`` and how they aggregate over a batch;
* **switch** — which two stats (an accuracy and an N/A rate) drive the
  adaptive stage switch, and which stage is which;
* **plots** — the panels ``vzgym plot`` draws for the game;
* **view** — an optional ``"module:function"`` that renders an episode for
  ``vzgym view``.

Outcomes (who won) are per episode, so they come from the env's
:meth:`~vzgym.envs.base.MultiAgentEnv.outcome`, described by :class:`Outcome`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: How a statistic aggregates over the episodes of a batch.
AGGREGATIONS = ("mean", "rate", "sum", "min", "max")


@dataclass(frozen=True)
class Stat:
    """One per-episode statistic a game reports in ``infos[agent]["game"][key]``.

    Attributes:
        key: the name in the episode's ``game`` info and in logs (``game/<key>``).
        agg: how episodes combine: ``"mean"`` of numbers, ``"rate"`` (mean of
            booleans, a share in [0, 1]), ``"sum"``, ``"min"`` or ``"max"``.
        description: one line for ``--help`` texts, eval tables and plot legends.
        higher_is_better: the direction a reader should want (None: neither).
    """

    key: str
    agg: str = "mean"
    description: str = ""
    higher_is_better: bool | None = None

    def __post_init__(self) -> None:
        if self.agg not in AGGREGATIONS:
            raise ValueError(f"stat {self.key!r}: agg must be one of {AGGREGATIONS}")

    def aggregate(self, values: Iterable[Any]) -> float | None:
        """Combine the episodes' values (non-numbers and NaN skipped); None when none."""
        nums = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
        if not nums:
            return None
        if self.agg in ("mean", "rate"):
            return sum(nums) / len(nums)
        if self.agg == "sum":
            return sum(nums)
        return min(nums) if self.agg == "min" else max(nums)


@dataclass(frozen=True)
class Stage:
    """A phase of the game that is trained on its own.

    Attributes:
        name: the :attr:`Observation.phase` value of the turns in this stage.
        advantage: the default advantage estimator for its turns (``"rae"``,
            ``"group_norm"``, any registered name).
        description: one line for docs and ``--print-config``.
    """

    name: str
    advantage: str = "group_norm"
    description: str = ""


@dataclass(frozen=True)
class StageSwitch:
    """Which statistics drive Iterative-SPO's adaptive switch between two stages.

    The controller trains ``solve_stage`` until ``accuracy`` is high and
    ``na_rate`` low (the task is solved), then ``harden_stage`` until the
    accuracy falls or the N/A rate rises (Vision-Zero: decision ↔ clue).

    Attributes:
        accuracy: key of the stat read as the accuracy (a rate in [0, 1]).
        na_rate: key of the stat read as the abstention rate (a rate in [0, 1]).
        solve_stage: the stage trained while the task is not solved (the start).
        harden_stage: the stage trained once it is.
    """

    accuracy: str
    na_rate: str
    solve_stage: str
    harden_stage: str


@dataclass(frozen=True)
class PlotPanel:
    """One PNG ``vzgym plot`` draws: a title and metric keys (``*`` wildcards allowed)."""

    file: str
    title: str
    keys: tuple[str, ...]


#: ``GameFacts.group_by`` choices.
GROUP_BY = ("role", "agent")


@dataclass(frozen=True)
class GameFacts:
    """Everything generic code may know about a game (see the module docstring).

    The defaults describe a single-stage game with no statistics: every turn
    is trained at every step with ``default_advantage``.

    ``group_by`` says which turns of the copies of one game answered the same
    prompt (a GRPO group): ``"role"`` (default) — the turns of one role in one
    stage (the spy games: the copies' civilians, the observer's samples);
    ``"agent"`` — the turns of one agent slot in one stage (games whose agents
    each get their own item, like the SVG world's batch of proposers).
    """

    stages: tuple[Stage, ...] = ()
    stats: tuple[Stat, ...] = ()
    switch: StageSwitch | None = None
    plots: tuple[PlotPanel, ...] = ()
    default_advantage: str = "group_norm"
    view: str | None = None
    group_by: str = "role"

    def __post_init__(self) -> None:
        if self.group_by not in GROUP_BY:
            raise ValueError(f"group_by must be one of {GROUP_BY}, got {self.group_by!r}")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate stage names in {names}")
        keys = [s.key for s in self.stats]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate stat keys in {keys}")
        if self.switch is not None:
            missing = {self.switch.solve_stage, self.switch.harden_stage} - set(names)
            if missing:
                raise ValueError(f"switch names stages {sorted(missing)} that are not declared")
            unknown = {self.switch.accuracy, self.switch.na_rate} - set(keys)
            if unknown:
                raise ValueError(f"switch reads stats {sorted(unknown)} that are not declared")

    @property
    def staged(self) -> bool:
        """True when the game has two or more stages trained separately."""
        return len(self.stages) >= 2

    def advantages(self) -> dict[str, str]:
        """Default stage → estimator name, ``"*"`` for turns of undeclared phases."""
        out = {s.name: s.advantage for s in self.stages}
        out.setdefault("*", self.default_advantage)
        return out

    def stat(self, key: str) -> Stat | None:
        """The declared stat called ``key``, or None."""
        return next((s for s in self.stats if s.key == key), None)

    def aggregate(self, episodes: Sequence[Mapping[str, Any]]) -> dict[str, float]:
        """Aggregate the declared stats over the episodes' ``game`` infos (skips absent ones)."""
        out: dict[str, float] = {}
        for stat in self.stats:
            value = stat.aggregate(g[stat.key] for g in episodes if stat.key in g)
            if value is not None:
                out[stat.key] = value
        return out


@dataclass(frozen=True)
class Outcome:
    """How one finished episode came out, for evaluation and ratings.

    Seats are grouped into teams; each team gets a score, and the team(s)
    with the highest score won (all equal: a draw).  A game of individual
    scores gives each agent a team of its own.

    Attributes:
        teams: team name → the agents on it (every agent on exactly one team).
        scores: team name → score (higher is better).
        roles: team name → the role its members play (``"spy"``, ``"civilian"``);
            evaluation swaps which policy plays which role.
    """

    teams: Mapping[str, Sequence[str]]
    scores: Mapping[str, float]
    roles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.teams) != set(self.scores):
            raise ValueError("every team needs exactly one score")
        seen: list[str] = [a for agents in self.teams.values() for a in agents]
        if len(seen) != len(set(seen)):
            raise ValueError("an agent is on two teams")

    @property
    def winners(self) -> list[str]:
        """The teams with the highest score; empty for a draw (all scores equal)."""
        if not self.scores:
            return []
        best = max(self.scores.values())
        top = [t for t, s in self.scores.items() if s == best]
        return [] if len(top) == len(self.scores) and len(top) > 1 else top

    def team_of(self, agent: str) -> str:
        """The team ``agent`` plays on."""
        for team, agents in self.teams.items():
            if agent in agents:
                return team
        raise KeyError(f"{agent!r} is on no team of {dict(self.teams)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, complex)

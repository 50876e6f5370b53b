"""Who plays which role in an evaluation, and who won an episode.

Roles come from the game's declared :class:`~vzgym.core.facts.Outcome`
(``roles``: team → role).  For each role ``r`` two seatings are made: A plays
``r`` and B everything else, and the reverse; duplicates (with two roles,
"A spy / B civilians" is the same as "B civilians / A spy") are dropped.  Every
seed is played once per seating, so each policy plays each role equally often
on the same deals.  A game with a single role (each agent its own team, as in
the SVG world) gets the seatings "A plays all" and "B plays all"; those are
compared paired on the same seed (:func:`paired_result`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vzgym.core.facts import Outcome
from vzgym.rollout.runner import PolicyMap, SeatPolicy


@dataclass(frozen=True)
class Seating:
    """One assignment of roles: ``a_roles`` are A's, every other role (and any agent
    whose role no outcome names) is played by ``rest`` (``"A"`` or ``"B"``)."""

    a_roles: tuple[str, ...]
    b_roles: tuple[str, ...]
    rest: str

    @property
    def label(self) -> str:
        """A readable key: ``"A=spy B=civilian"``; ``"A=all"`` / ``"B=all"`` for solo seatings."""
        if not self.b_roles and self.rest == "A":
            return "A=all"
        if not self.a_roles and self.rest == "B":
            return "B=all"
        return f"A={'+'.join(self.a_roles) or '-'} B={'+'.join(self.b_roles) or '-'}"

    def policy_of_role(self, role: str) -> str:
        """``"A"`` or ``"B"``: who plays ``role`` in this seating."""
        if role in self.a_roles:
            return "A"
        if role in self.b_roles:
            return "B"
        return self.rest

    def to_dict(self) -> dict[str, object]:
        """JSON form (stored with every game record)."""
        return {"a_roles": list(self.a_roles), "b_roles": list(self.b_roles), "rest": self.rest}


def make_seatings(roles: Sequence[str]) -> list[Seating]:
    """The seatings for a game with these roles (see the module docstring)."""
    names = sorted(set(roles))
    if len(names) <= 1:
        return [Seating(tuple(names), (), "A"), Seating((), tuple(names), "B")]
    out: list[Seating] = []
    seen: set[tuple[str, ...]] = set()
    for role in names:
        others = tuple(r for r in names if r != role)
        for seating in (Seating((role,), others, "B"), Seating(others, (role,), "A")):
            if seating.a_roles not in seen:
                seen.add(seating.a_roles)
                out.append(seating)
    return out


def policy_map(seating: Seating, a: SeatPolicy, b: SeatPolicy) -> PolicyMap:
    """The rollout :class:`PolicyMap` of ``seating`` (routing by the agent's true role)."""
    by = {"A": a, "B": b}
    by_role = {r: a for r in seating.a_roles} | {r: b for r in seating.b_roles}
    return PolicyMap(by[seating.rest], by_role)


def team_policies(outcome: Outcome, seating: Seating) -> dict[str, str]:
    """Team → ``"A"`` / ``"B"``: who played each team (by the team's declared role)."""
    return {team: seating.policy_of_role(outcome.roles.get(team, "")) for team in outcome.teams}


def episode_result(outcome: Outcome, seating: Seating) -> float | None:
    """A's result in an episode both policies played: 1 won, 0.5 draw, 0 lost.

    None when one policy played every team (the result then comes from the
    paired episode on the same seed, :func:`paired_result`).  A team shared by
    the winners of both sides, or no winner, is a draw.
    """
    owners = team_policies(outcome, seating)
    if len(set(owners.values())) < 2:
        return None
    winners = {owners[t] for t in outcome.winners}
    if winners == {"A"}:
        return 1.0
    if winners == {"B"}:
        return 0.0
    return 0.5


def side_score(outcome: Outcome, seating: Seating, side: str) -> float | None:
    """Mean score of the teams ``side`` (``"A"``/``"B"``) played, or None if it played none."""
    owners = team_policies(outcome, seating)
    scores = [float(outcome.scores[t]) for t, who in owners.items() if who == side]
    return sum(scores) / len(scores) if scores else None


def paired_result(a_score: float, b_score: float) -> float:
    """A's result on a seed both played alone: higher mean score wins, equal is a draw."""
    if a_score > b_score:
        return 1.0
    if a_score < b_score:
        return 0.0
    return 0.5


def roles_of(outcome: Outcome) -> list[str]:
    """The roles an outcome declares (every team's role; a team without one is ``""``)."""
    return sorted({outcome.roles.get(t, "") for t in outcome.teams})

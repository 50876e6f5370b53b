"""Ratings from evaluation results with openskill (Plackett-Luce, multi-player, team-aware).

Every policy is one rated player.  A game's two sides are teams (the policy
that played the spy is a team of one; with more policies per side each would
be a member), ranked by A's result: a win ranks A's side first, a draw ties.
Results are applied in a fixed order (pairs, then seeds), so the same games
always give the same ratings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass
class Rating:
    """One policy's rating: mean ``mu``, uncertainty ``sigma``, games rated."""

    name: str
    mu: float
    sigma: float
    games: int = 0

    @property
    def ordinal(self) -> float:
        """A conservative score, ``mu - 3 sigma`` (what the table sorts by)."""
        return self.mu - 3 * self.sigma

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON form."""
        return {
            "name": self.name, "mu": self.mu, "sigma": self.sigma, "ordinal": self.ordinal,
            "games": self.games,
        }  # fmt: skip


def rate(names: Sequence[str], games: Iterable[tuple[str, str, float]]) -> dict[str, Rating]:
    """Ratings of ``names`` after ``games`` given as ``(a, b, result of a)`` (1, 0.5 or 0)."""
    try:
        from openskill.models import PlackettLuce
    except ImportError as exc:  # pragma: no cover - the eval extra installs it
        raise ValueError("vzgym arena needs openskill: pip install 'vzgym[eval]'") from exc

    model = PlackettLuce()
    state = {name: model.rating(name=name) for name in names}
    counts = dict.fromkeys(names, 0)
    for a, b, result in games:
        ranks = [1, 2] if result > 0.5 else [2, 1] if result < 0.5 else [1, 1]
        [[new_a], [new_b]] = model.rate([[state[a]], [state[b]]], ranks=ranks)
        state[a], state[b] = new_a, new_b
        counts[a] += 1
        counts[b] += 1
    return {n: Rating(n, float(state[n].mu), float(state[n].sigma), counts[n]) for n in names}

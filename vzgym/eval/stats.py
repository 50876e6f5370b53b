"""Pure statistics of an evaluation: Wilson intervals and win/draw/loss tallies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vzgym.core.intervals import wilson_interval

__all__ = ["Tally", "wilson_interval"]


@dataclass
class Tally:
    """Wins, draws and losses of policy A; draws count half a win."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    def add(self, result: float) -> None:
        """Count one result: 1 = A won, 0.5 = draw, 0 = A lost."""
        if result > 0.5:
            self.wins += 1
        elif result < 0.5:
            self.losses += 1
        else:
            self.draws += 1

    @property
    def games(self) -> int:
        """Decided results counted (wins + draws + losses)."""
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float | None:
        """(wins + draws / 2) / games, or None without results."""
        if not self.games:
            return None
        return (self.wins + 0.5 * self.draws) / self.games

    def to_dict(self) -> dict[str, float | int | None]:
        """Counts, win rate and its 95% Wilson interval."""
        low, high = wilson_interval(self.wins + 0.5 * self.draws, self.games)
        return {
            "games": self.games,
            "wins": self.wins,
            "draws": self.draws,
            "losses": self.losses,
            "win_rate": self.win_rate,
            "ci_low": low if self.games else None,
            "ci_high": high if self.games else None,
        }


def tally(results: Iterable[float]) -> Tally:
    """A :class:`Tally` of results (1 / 0.5 / 0)."""
    out = Tally()
    for value in results:
        out.add(value)
    return out

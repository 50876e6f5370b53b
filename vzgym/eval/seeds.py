"""Held-out evaluation seeds: a range that training never draws.

The local trainer plays step ``t``'s games on seeds
``trainer.seed * 1_000_003 + t * games_per_step + k`` (``k < games_per_step``),
and ``vzgym rollout`` on ``--seed + k`` (default 0).  Both stay below
``10**12`` for any run with ``trainer.seed < 999_000`` and fewer than ``10**11``
games, so evaluation starts at :data:`EVAL_SEED_BASE` = ``10**12``: an
evaluated deal was never a training deal.
"""

from __future__ import annotations

#: First seed of the held-out evaluation range (training draws seeds far below it).
EVAL_SEED_BASE = 10**12

#: The sentence ``--help`` texts use to describe the default seeds.
HELD_OUT_HELP = (
    "First seed (default 10^12: held out; training draws seeds "
    "trainer.seed*1000003 + step*games_per_step + k, far below it)."
)


def eval_seeds(first: int, count: int) -> list[int]:
    """The ``count`` consecutive seeds starting at ``first``."""
    return [first + k for k in range(count)]

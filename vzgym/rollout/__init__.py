"""Batched rollouts and trajectory files (see :mod:`.runner` and :mod:`.writer`)."""

from vzgym.rollout.runner import (
    PolicyMap,
    RolloutConfig,
    RolloutRunner,
    RolloutSummary,
    SeatPolicy,
    run_rollouts,
)
from vzgym.rollout.writer import TURN_SCHEMA, TrajectoryWriter, read_trajectories

__all__ = [
    "TURN_SCHEMA",
    "PolicyMap",
    "RolloutConfig",
    "RolloutRunner",
    "RolloutSummary",
    "SeatPolicy",
    "TrajectoryWriter",
    "read_trajectories",
    "run_rollouts",
]

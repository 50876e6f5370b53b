"""Who a turn belongs to and what it earned: the credit rules every trainer shares.

* A turn's **role** is the agent's true role when the game reveals it (in the
  final ``info`` or the observation's privileged fields), else the role the
  agent was shown.
* A turn's **reward** is the agent's ``info["reward_<phase>"]`` when the game
  reports per-stage rewards (each stage is credited for its own part), else the
  agent's total reward in the episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vzgym.core.observation import Observation


def true_role(obs: Observation, info: Mapping[str, Any] | None = None) -> str:
    """The role a turn is credited to: ``info["true_role"]``, the private one, else the shown."""
    revealed = (info or {}).get("true_role") or obs.private.get("true_role")
    return str(revealed or obs.role)


def credit_reward(phase: str, info: Mapping[str, Any], total: float) -> float:
    """A turn's reward: ``info["reward_<phase>"]`` when reported, else the episode ``total``."""
    stage = info.get(f"reward_{phase}")
    return float(stage) if isinstance(stage, (int, float)) else float(total)

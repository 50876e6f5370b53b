"""Pluggable reward functions: a plugin swaps a game's reward without forking the game.

A plugin implements the ``register_rewards`` hook::

    from vzgym.plugins import hookimpl

    @hookimpl
    def register_rewards(register):
        register("spy", "decision", my_decision_reward)

and a game asks for its reward with a default::

    fn = get_reward_fn("spy", "decision", decision_reward)

``env_family`` is ``"spy"``, ``"svg"`` or a plugin game's id; ``name`` is the
reward's slot in that game.  Slots the built-in games look up:

* ``("spy", "decision")`` — same signature as
  :func:`vzgym.envs.spy.rewards.decision_reward`:
  ``fn(*, correct: bool, na: bool, valid: bool, scheme: str = "paper") -> float``.
* ``("spy", "clue")`` — same signature as
  :func:`vzgym.envs.spy.rewards.clue_rewards`:
  ``fn(votes: Mapping[int, int], spy: int, *, beta: float = 0.1, lam: float = 0.1)
  -> dict[int, float]``.

**A plugin function must have exactly the signature of the default it
replaces** (same parameters, keyword-only where the default's are, same
return type): the game calls it exactly as it would call the default.

When several plugins register the same ``(env_family, name)``, the one loaded
last wins (built-in plugins load first, then entry points in discovery order;
a ``@hookimpl(tryfirst=True)`` counts as loaded last) and a
:class:`RewardOverrideWarning` names both.  A plugin whose
hook raises is recorded like any plugin failure (``vzgym plugins``) and the
other plugins' rewards still load.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "RewardOverrideWarning",
    "RegisteredReward",
    "get_reward_fn",
    "list_rewards",
]

F = TypeVar("F", bound=Callable[..., Any])


class RewardOverrideWarning(UserWarning):
    """Two plugins registered a reward for the same ``(env_family, name)``."""


@dataclass(frozen=True)
class RegisteredReward:
    """One registered reward function and the plugin that registered it."""

    env_family: str
    name: str
    fn: Callable[..., Any]
    plugin: str


_registry: dict[tuple[str, str], RegisteredReward] | None = None
_registry_key: tuple[Any, ...] | None = None


def _load() -> dict[tuple[str, str], RegisteredReward]:
    """Call every plugin's ``register_rewards`` (cached until the plugin set changes)."""
    global _registry, _registry_key
    from vzgym.plugins import manager

    key = manager.hook_key("register_rewards")
    if _registry is not None and key == _registry_key:
        return _registry
    registry: dict[tuple[str, str], RegisteredReward] = {}

    def add(plugin: str, env_family: str, name: str, fn: Callable[..., Any]) -> None:
        _add(registry, env_family, name, fn, plugin)

    manager.run_register_hook("register_rewards", add)  # load order: last wins
    _registry, _registry_key = registry, key
    return registry


def _add(
    registry: dict[tuple[str, str], RegisteredReward],
    env_family: str,
    name: str,
    fn: Callable[..., Any],
    plugin: str,
) -> None:
    for label, value in (("env_family", env_family), ("name", name)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"register_rewards: {label} must be a non-empty string, got {value!r}")
    if not callable(fn):
        raise TypeError(f"register_rewards: reward {env_family}/{name} must be callable")
    key = (env_family, name)
    previous = registry.get(key)
    if previous is not None and previous.fn is not fn:
        warnings.warn(
            f"reward {env_family}/{name} from plugin {previous.plugin!r} is replaced by "
            f"plugin {plugin!r} (the last plugin loaded wins)",
            RewardOverrideWarning,
            stacklevel=3,
        )
    registry[key] = RegisteredReward(env_family, name, fn, plugin)


def get_reward_fn(env_family: str, name: str, default: F) -> F:
    """Return the plugin reward registered for ``(env_family, name)``, else ``default``.

    The returned function is called exactly like ``default``, so a plugin's
    function must have the same signature (see the module docstring).
    """
    entry = _load().get((env_family, name))
    return entry.fn if entry is not None else default  # type: ignore[return-value]


def list_rewards() -> list[RegisteredReward]:
    """Return every plugin-registered reward, sorted by ``(env_family, name)``."""
    return [entry for _, entry in sorted(_load().items())]

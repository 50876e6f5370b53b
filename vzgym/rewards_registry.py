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

When several plugins register the same ``(env_family, name)``, the first one
loaded keeps it (built-in plugins load first, then entry points in discovery
order) and the later registration is refused and recorded as a failure of the
plugin that made it (``vzgym plugins``), like every registry
(:class:`vzgym.core.registry.Registry`).  A plugin whose hook raises is recorded
the same way and the other plugins' rewards still load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from vzgym.core.registry import Registry

__all__ = [
    "RegisteredReward",
    "get_reward_fn",
    "list_rewards",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RegisteredReward:
    """One registered reward function and the plugin that registered it."""

    env_family: str
    name: str
    fn: Callable[..., Any]
    plugin: str


_registry: Registry[RegisteredReward] | None = None
_registry_key: tuple[Any, ...] | None = None


def _slot(env_family: str, name: str) -> str:
    return f"{env_family}/{name}"


def _load() -> Registry[RegisteredReward]:
    """Call every plugin's ``register_rewards`` (cached until the plugin set changes)."""
    global _registry, _registry_key
    from vzgym.plugins import manager

    key = manager.hook_key("register_rewards")
    if _registry is not None and key == _registry_key:
        return _registry
    registry: Registry[RegisteredReward] = Registry("reward")

    def add(plugin: str, env_family: str, name: str, fn: Callable[..., Any]) -> None:
        for label, value in (("env_family", env_family), ("name", name)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"register_rewards: {label} must be a non-empty string, got {value!r}"
                )
        if not callable(fn):
            raise TypeError(f"register_rewards: reward {env_family}/{name} must be callable")
        slot = _slot(env_family, name)
        taken = registry.entry(slot).value if slot in registry else None
        if taken is not None and taken.fn is fn:
            return  # the same function again: one entry
        registry.add(slot, RegisteredReward(env_family, name, fn, plugin), plugin)

    manager.fill_registry("register_rewards", add)  # load order: the first keeps a slot
    _registry, _registry_key = registry, key
    return registry


def get_reward_fn(env_family: str, name: str, default: F) -> F:
    """Return the plugin reward registered for ``(env_family, name)``, else ``default``.

    The returned function is called exactly like ``default``, so a plugin's
    function must have the same signature (see the module docstring).
    """
    registry = _load()
    slot = _slot(env_family, name)
    return registry.get(slot).fn if slot in registry else default  # type: ignore[return-value]


def list_rewards() -> list[RegisteredReward]:
    """Return every plugin-registered reward, sorted by ``(env_family, name)``."""
    entries = [e.value for e in _load().entries()]
    return sorted(entries, key=lambda e: (e.env_family, e.name))

"""Utilities for env authors: :func:`check_env` and the PettingZoo adapter."""

from __future__ import annotations

from typing import Any

__all__ = ["EnvCheckError", "check_env", "to_pettingzoo"]


def check_env(env: Any, **kwargs: Any) -> None:
    """Check ``env`` against the vzgym env contract (see :mod:`vzgym.utils.env_checker`)."""
    from vzgym.utils.env_checker import check_env as _check

    _check(env, **kwargs)


def to_pettingzoo(env: Any) -> Any:
    """Wrap a vzgym env as a PettingZoo ``ParallelEnv`` (needs ``pettingzoo``)."""
    from vzgym.utils.pettingzoo import VzgymParallelEnv

    return VzgymParallelEnv(env)


def __getattr__(name: str) -> Any:
    if name == "EnvCheckError":
        from vzgym.utils.env_checker import EnvCheckError

        return EnvCheckError
    raise AttributeError(name)

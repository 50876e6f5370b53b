"""vzgym: Gym-style self-play games in which vision-language models improve themselves.

``import vzgym`` is cheap (no torch, no game modules imported): it mirrors the
built-in env ids into Gymnasium's registry, so ``gymnasium.make("vzgym/spy-clevr-v0")``
works after it.  :func:`make` (and the CLI) load all plugins on first use; third-party
envs are mirrored into Gymnasium then (or call :func:`registry` yourself).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "make", "registry"]


def make(env_id: str, **kwargs: Any) -> Any:
    """Create the env registered as ``env_id`` (see ``vzgym envs``)."""
    from vzgym.registration import make as _make

    return _make(env_id, **kwargs)


def registry() -> Any:
    """Return the env registry (loads plugins on first use)."""
    from vzgym.registration import get_registry

    return get_registry()


def _mirror_builtin_envs() -> None:
    from vzgym.plugins import builtin_envs
    from vzgym.registration import EnvSpec, _mirror_to_gymnasium

    def register(env_id: str, entry_point: Any, description: str = "", **kwargs: Any) -> None:
        kwargs.pop("scripted_policy", None)
        _mirror_to_gymnasium(EnvSpec(env_id, entry_point, description, kwargs, "builtin"))

    builtin_envs.register_envs(register=register)


def _trainer_setup() -> Any:
    from vzgym.trainers import setup

    return setup


def _install_config_checks() -> None:
    """Let :mod:`vzgym.config` check the trainer's settings without importing the trainers."""
    from vzgym.config.validate import install_trainer_setup

    install_trainer_setup(_trainer_setup)


_mirror_builtin_envs()
_install_config_checks()

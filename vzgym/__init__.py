"""vzgym: Gym-style self-play games in which vision-language models improve themselves.

``import vzgym`` is cheap (no torch, no games imported); :func:`make` loads the
plugins on first use.
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

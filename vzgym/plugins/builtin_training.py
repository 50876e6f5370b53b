"""Built-in advantage estimators, registered through the same hook as any plugin.

:mod:`vzgym.trainers.advantages` knows its built-ins even when this plugin
is not loaded; registering them here too makes ``vzgym plugins`` show where
they come from (registering the same factory twice is silent).
"""

from __future__ import annotations

from typing import Any

from vzgym.plugins.hookspecs import hookimpl


@hookimpl
def register_advantages(register: Any) -> None:
    """Register ``group_norm``, ``rae`` and ``rloo``."""
    from vzgym.trainers.advantages import RAE, RLOO, GroupNorm

    register(GroupNorm.name, GroupNorm)
    register(RAE.name, RAE)
    register(RLOO.name, RLOO)

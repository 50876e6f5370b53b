"""The hooks a vzgym plugin can implement (pluggy, project name ``vzgym``).

A plugin is a module (or object) with functions marked ``@vzgym.plugins.hookimpl``
and named like the specs below.  Third-party plugins are found through the
``vzgym`` entry-point group; built-in ones are loaded the same way through the
same hooks (see :mod:`vzgym.plugins.manager`).
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("vzgym")
hookimpl = pluggy.HookimplMarker("vzgym")


@hookspec
def register_envs(register: Any) -> None:
    """Register games: call ``register(env_id, entry_point, description=..., **kwargs)``.

    ``entry_point`` is ``"package.module:ClassName"`` (imported only when the env
    is made) or a callable returning a :class:`vzgym.envs.base.MultiAgentEnv`;
    extra keyword arguments become the env's default constructor arguments.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``vzgym`` click group ``cli`` (``cli.add_command(...)``)."""


@hookspec
def register_policies(register: Any) -> None:
    """Register policy backends: ``register(prefix, factory)``.

    ``factory(spec_rest: str, **options)`` returns a :class:`vzgym.agents.base.Policy`
    for a spec string ``"prefix:rest"`` (``"hf:/models/qwen"``).
    """


@hookspec
def register_advantages(register: Any) -> None:
    """Register advantage estimators: ``register(name, factory)``."""


@hookspec
def register_rewards(register: Any) -> None:
    """Register reward functions: ``register(env_id, name, fn)`` to swap a game's reward."""

"""Built-in games, registered through the same ``register_envs`` hook as any plugin."""

from __future__ import annotations

from typing import Any

from vzgym.plugins.hookspecs import hookimpl


@hookimpl
def register_envs(register: Any) -> None:
    """Register vzgym's own games."""
    register(
        "spy-clevr",
        "vzgym.envs.spy.clevr_env:SpyClevrEnv",
        description="Who-Is-the-Spy over procedural CLEVR-like image pairs (Vision-Zero).",
        scripted_policy="vzgym.agents.scripted:ScriptedSpyPolicy",
    )
    register(
        "spy-pairs",
        "vzgym.envs.spy.pairs_env:SpyPairsEnv",
        description="Who-Is-the-Spy over image pairs from a folder (Vision-Zero dataset layout).",
        scripted_policy="vzgym.agents.scripted:ScriptedSpyPolicy",
    )

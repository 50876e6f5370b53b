"""Registers ``two-stage`` through the public ``register_envs`` hook."""

from vzgym.plugins import hookimpl


@hookimpl
def register_envs(register):
    """Register ``two-stage``."""
    register(
        "two-stage",
        "vzgym_twostage.game:TwoStageEnv",
        description="Test plugin: look at a square, then name its colour (two stages).",
    )

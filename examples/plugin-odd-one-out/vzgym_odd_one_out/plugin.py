"""Registers the odd-one-out game with vzgym through the ``register_envs`` hook."""

from vzgym.plugins import hookimpl


@hookimpl
def register_envs(register):
    """Register ``odd-one-out``."""
    register(
        "odd-one-out",
        "vzgym_odd_one_out.game:OddOneOutEnv",
        description="Example plugin: find the tile whose colour differs (one player).",
        scripted_policy="vzgym_odd_one_out.game:OddOneOutBot",
    )

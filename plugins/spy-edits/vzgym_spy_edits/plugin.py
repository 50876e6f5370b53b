"""Registers ``spy-edits`` with vzgym through the public ``register_envs`` hook."""

from vzgym.plugins import hookimpl


@hookimpl
def register_envs(register):
    """Register ``spy-edits`` and its scripted bots."""
    register(
        "spy-edits",
        "vzgym_spy_edits.env:SpyEditsEnv",
        description="Who-Is-the-Spy over a folder of photos (-o folder=DIR), "
        "the spy's copy edited locally (recolour, inpaint, mirror, shift, shape).",
        scripted_policy="vzgym_spy_edits.bots:EditsSpyBot",
    )

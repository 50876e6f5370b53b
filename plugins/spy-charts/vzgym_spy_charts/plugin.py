"""Registers ``spy-charts`` with vzgym through the public ``register_envs`` hook."""

from vzgym.plugins import hookimpl


@hookimpl
def register_envs(register):
    """Register ``spy-charts`` and its scripted players."""
    register(
        "spy-charts",
        "vzgym_spy_charts.env:SpyChartsEnv",
        description="Who-Is-the-Spy over procedural charts: bar, grouped bar, line, pie, scatter "
        "(Vision-Zero's chart setting).",
        scripted_policy="vzgym_spy_charts.bots:ChartSpyBot",
    )

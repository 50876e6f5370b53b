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
        scripted_policy="vzgym.envs.spy.bots:ScriptedSpyPolicy",
    )
    register(
        "spy-pairs",
        "vzgym.envs.spy.pairs_env:SpyPairsEnv",
        description="Who-Is-the-Spy over image pairs from a folder (Vision-Zero dataset layout).",
        scripted_policy="vzgym.envs.spy.bots:ScriptedSpyPolicy",
    )
    svg_bots = "vzgym.envs.svg.bots:ScriptedSVGPolicy"
    register(
        "svg-propose",
        "vzgym.envs.svg:SVGProposeEnv",
        description="MM-Zero SVG world, Proposer role: caption + easy/hard questions.",
        scripted_policy=svg_bots,
    )
    register(
        "svg-codegen",
        "vzgym.envs.svg:SVGCodegenEnv",
        description="MM-Zero SVG world, CodeGen role: write SVG for a caption (rendered safely).",
        scripted_policy=svg_bots,
    )
    register(
        "svg-solve",
        "vzgym.envs.svg:SVGSolveEnv",
        description="MM-Zero SVG world, Solver role: answer a question about a rendered SVG.",
        scripted_policy=svg_bots,
    )
    register(
        "toy-color",
        "vzgym.envs.toy:ToyColorEnv",
        description="Toy: answer the letter of the square's colour (checks that training learns).",
        scripted_policy="vzgym.envs.toy:ToyColorBot",
    )

"""The SVG world's scripted bots, re-exported: they live with their game (envs/svg/bots.py)."""

from vzgym.envs.svg.bots import (
    ScriptedCodegen,
    ScriptedProposer,
    ScriptedSolver,
    ScriptedSVGPolicy,
    SeededBot,
    chart_proposal,
    chart_svg,
    parse_chart_caption,
)

__all__ = [
    "ScriptedCodegen",
    "ScriptedProposer",
    "ScriptedSVGPolicy",
    "ScriptedSolver",
    "SeededBot",
    "chart_proposal",
    "chart_svg",
    "parse_chart_caption",
]

"""MM-Zero's "SVG question world": propose a picture and questions, draw it as SVG, solve it.

Envs (one trained role each, the other roles filled by policies):
:class:`SVGProposeEnv` (``svg-propose``), :class:`SVGCodegenEnv` (``svg-codegen``),
:class:`SVGSolveEnv` (``svg-solve``).  Parsers live in :mod:`.parsing`, answer
equivalence in :mod:`.answers`, pure rewards in :mod:`.rewards`, data filters in
:mod:`.filters`, batch metrics in :mod:`.metrics`.

Importing this package is cheap: no renderer, torch or model is loaded.
"""

from vzgym.envs.svg.envs import SolveItem, SVGCodegenEnv, SVGProposeEnv, SVGSolveEnv
from vzgym.envs.svg.metrics import aggregate_metrics, batch_metrics
from vzgym.envs.svg.parsing import (
    CONTENT_TYPES,
    Proposal,
    extract_boxed,
    extract_svg,
    parse_proposal,
    parse_solver_answer,
)
from vzgym.envs.svg.topics import SEED_TOPICS

__all__ = [
    "CONTENT_TYPES",
    "SEED_TOPICS",
    "Proposal",
    "SVGCodegenEnv",
    "SVGProposeEnv",
    "SVGSolveEnv",
    "SolveItem",
    "aggregate_metrics",
    "batch_metrics",
    "extract_boxed",
    "extract_svg",
    "parse_proposal",
    "parse_solver_answer",
]

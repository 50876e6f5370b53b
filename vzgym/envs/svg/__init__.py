"""MM-Zero's "SVG question world": propose a picture and questions, draw it as SVG, solve it.

Envs (one trained role each, one module per role over :mod:`.base`; the other
roles are :data:`~.roles.RoleCall` callables they are given, scripted bots of
:mod:`.bots` by default): :class:`SVGProposeEnv` (``svg-propose``),
:class:`SVGCodegenEnv` (``svg-codegen``), :class:`SVGSolveEnv` (``svg-solve``).
Parsers live in :mod:`.parsing`, answer equivalence in :mod:`.answers`, pure
rewards in :mod:`.rewards`, data filters in :mod:`.filters`, batch metrics in
:mod:`.metrics`.

Importing this package is cheap: no renderer, torch or model is loaded.
"""

from vzgym.envs.svg.codegen import SVGCodegenEnv
from vzgym.envs.svg.metrics import aggregate_metrics, batch_metrics
from vzgym.envs.svg.parsing import (
    CONTENT_TYPES,
    Proposal,
    extract_boxed,
    extract_svg,
    parse_proposal,
    parse_solver_answer,
)
from vzgym.envs.svg.propose import SVGProposeEnv
from vzgym.envs.svg.roles import RoleCall
from vzgym.envs.svg.solve import SolveItem, SVGSolveEnv
from vzgym.envs.svg.topics import SEED_TOPICS

__all__ = [
    "CONTENT_TYPES",
    "SEED_TOPICS",
    "Proposal",
    "RoleCall",
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

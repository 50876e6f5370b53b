"""Evaluation: win rates of one policy against another (``vzgym eval``), ratings over a
run's checkpoints (``vzgym arena``) and evaluation during training.

Outcomes come only from the game's declared :meth:`MultiAgentEnv.outcome`
(:class:`vzgym.core.facts.Outcome`); statistics only from its declared
:class:`~vzgym.core.facts.GameFacts`.  Nothing here knows a game by name.
"""

from vzgym.eval.match import EvalConfig, EvalResult, run_eval
from vzgym.eval.seeds import EVAL_SEED_BASE
from vzgym.eval.stats import wilson_interval

__all__ = ["EVAL_SEED_BASE", "EvalConfig", "EvalResult", "run_eval", "wilson_interval"]

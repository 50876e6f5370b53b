"""The three SVG-world envs, one module per role (kept so older imports still work).

:class:`~vzgym.envs.svg.propose.SVGProposeEnv`,
:class:`~vzgym.envs.svg.codegen.SVGCodegenEnv` and
:class:`~vzgym.envs.svg.solve.SVGSolveEnv` share :class:`~vzgym.envs.svg.base.SVGWorldEnv`.
Common behaviour: ``reset(seed)`` draws every bot seed from ``self.np_random``
in a fixed order, so the same seed gives the same episode (text, PNG bytes and
rewards).  If fewer valid items than agents could be built, only the first
agents act (``infos[agent]["active"]`` says which).  Junk actions give
format-failure rewards, never exceptions.  ``close()`` closes a renderer the env
created (a renderer passed in is borrowed and stays open).  Every agent's info
holds the same batch ``metrics`` dict (see :mod:`vzgym.envs.svg.metrics`) and
the declared stats in ``game``.  A proposer or codegen score that rests on an
infrastructure failure (renderer down, a codegen or solver call that failed) is
not a score: that agent gets reward 0 and ``infos[agent]["reward_valid"] = False``,
and the rollout runner writes its turn as not trainable.
"""

from vzgym.envs.svg.base import SVGWorldEnv
from vzgym.envs.svg.codegen import SVGCodegenEnv
from vzgym.envs.svg.propose import SVGProposeEnv
from vzgym.envs.svg.solve import SolveItem, SVGSolveEnv

__all__ = ["SVGCodegenEnv", "SVGProposeEnv", "SVGSolveEnv", "SVGWorldEnv", "SolveItem"]

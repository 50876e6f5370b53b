"""The SVG world's scripted bots as policies (the bots live with their game: envs/svg/bots.py).

:class:`ScriptedProposer`, :class:`ScriptedCodegen` and :class:`ScriptedSolver`
fill seats with the bots of :mod:`vzgym.envs.svg.bots` (same constructor
options, same outputs: completion ``k`` of ``n`` is the bot's sample ``k``);
:class:`ScriptedSVGPolicy` fills any SVG-world seat by the observation's phase.
The chart helpers are re-exported from there.
"""

from __future__ import annotations

from collections.abc import Sequence

from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams
from vzgym.envs.svg.bots import (
    CodegenBot,
    ProposerBot,
    SeededBot,
    SolverBot,
    chart_proposal,
    chart_svg,
    parse_chart_caption,
)

__all__ = [
    "ScriptedCodegen",
    "ScriptedProposer",
    "ScriptedSVGPolicy",
    "ScriptedSolver",
    "chart_proposal",
    "chart_svg",
    "parse_chart_caption",
]


def _n(sampling: SamplingParams | None) -> int:
    return max(1, int(sampling.n)) if sampling is not None else 1


class _BotPolicy(Policy):
    """A policy answering with a :class:`~vzgym.envs.svg.bots.SeededBot`."""

    bot: SeededBot

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return ``n`` scripted completions per observation."""
        out = []
        for obs in observations:
            row = []
            for k in range(_n(sampling)):
                text, meta = self.bot.sample(obs, k)
                row.append(Completion(text, finish_reason="scripted", meta=meta))
            out.append(row)
        return out


class ScriptedProposer(_BotPolicy):
    """:class:`~vzgym.envs.svg.bots.ProposerBot` as a policy."""

    name = ProposerBot.name

    def __init__(self, junk_rate: float = 0.0):
        self.bot = ProposerBot(junk_rate)


class ScriptedCodegen(_BotPolicy):
    """:class:`~vzgym.envs.svg.bots.CodegenBot` as a policy."""

    name = CodegenBot.name

    def __init__(self, fail_rate: float = 0.1, junk_rate: float = 0.0):
        self.bot = CodegenBot(fail_rate, junk_rate)


class ScriptedSolver(_BotPolicy):
    """:class:`~vzgym.envs.svg.bots.SolverBot` as a policy."""

    name = SolverBot.name

    def __init__(
        self, easy_noise: float = 0.1, hard_noise: float = 0.4, format_error_rate: float = 0.0
    ):
        self.bot = SolverBot(easy_noise, hard_noise, format_error_rate)


class ScriptedSVGPolicy(Policy):
    """Fills any SVG-world seat: dispatches on ``Observation.phase`` to the three bots."""

    name = "scripted-svg"

    def __init__(self) -> None:
        self.bots: dict[str, Policy] = {
            "propose": ScriptedProposer(),
            "codegen": ScriptedCodegen(),
            "solve": ScriptedSolver(),
        }

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Answer each observation with the bot of its phase (order kept)."""
        out: list[list[Completion]] = [[] for _ in observations]
        for phase, bot in self.bots.items():
            idx = [i for i, o in enumerate(observations) if o.phase == phase]
            if idx:
                for i, answers in zip(idx, bot.generate([observations[i] for i in idx], sampling)):
                    out[i] = answers
        missing = [o.phase for o, a in zip(observations, out) if not a]
        if missing:
            raise ValueError(f"ScriptedSVGPolicy cannot answer phases {sorted(set(missing))}")
        return out

"""The one policy interface: a batch of observations in, ``n`` completions each out.

Neutral shared types (:class:`SamplingParams`, :class:`Completion`, :class:`Policy`):
policies (:mod:`vzgym.agents`), scripted bots beside their games (:mod:`vzgym.envs`),
rollouts and trainers import them from here.  :mod:`vzgym.agents.base` re-exports
them for plugins written against the old path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vzgym.core.observation import Observation


@dataclass
class SamplingParams:
    """How to sample: the knobs every backend understands.

    ``seed`` makes sampling reproducible where the backend supports it.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    n: int = 1
    seed: int | None = None


@dataclass
class Completion:
    """One sampled answer to one observation.

    Attributes:
        text: the decoded completion (special tokens removed).
        token_ids: the exact sampled token ids (empty for non-model policies).
        logprobs: the sampling log-probability of each token in ``token_ids``.
        finish_reason: ``"stop"`` (EOS / stop string), ``"length"`` (hit
            ``max_new_tokens``), ``"scripted"``, ``"human"`` or ``"error"``.
        prompt_token_ids: the prompt as the model saw it, where the backend knows it.
        meta: backend-specific extras (timings, error messages).
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_token_ids: list[int] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


class Policy(ABC):
    """A policy answers a batch of observations with ``n`` completions each.

    Backends (transformers, vLLM, OpenAI-compatible servers, a human at a
    terminal, scripted bots) all implement :meth:`generate`; rollouts gather
    every pending prompt of a policy across all running games into one call.
    """

    #: A short name shown in logs and summaries.
    name: str = "policy"

    @abstractmethod
    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Return, for each observation in order, ``sampling.n`` completions."""

    def act(self, observation: Observation, sampling: SamplingParams | None = None) -> str:
        """Return the text of one completion for one observation (convenience)."""
        return self.generate([observation], sampling)[0][0].text

    def close(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release resources (engines, worker processes); default does nothing."""

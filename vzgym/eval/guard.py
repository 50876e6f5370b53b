"""A policy wrapper that turns a crashed call into error completions.

During an evaluation a policy call that raises (a server gone, CUDA out of
memory) must not lose the games already played: :class:`GuardedPolicy` answers
every observation of that call with ``finish_reason="error"`` and
``meta["error"] = "policy_crashed"``; the rollout runner then ends those
episodes as ``failed:policy_crashed`` and the evaluation counts and reports them.
"""

from __future__ import annotations

from collections.abc import Sequence

from vzgym.agents.base import Completion, Policy, SamplingParams
from vzgym.envs.base import Observation


class GuardedPolicy(Policy):
    """Wraps ``inner``; exceptions become error completions (counted in ``crashes``)."""

    def __init__(self, inner: Policy):
        self.inner = inner
        self.name = inner.name
        self.crashes = 0
        self.last_error = ""

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Call the wrapped policy; on an exception answer every row with an error."""
        n = max(1, int(sampling.n)) if sampling is not None else 1
        try:
            return self.inner.generate(observations, sampling)
        except Exception as exc:  # noqa: BLE001 - the whole point: a crash is a counted failure
            self.crashes += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            meta = {"error": "policy_crashed", "message": self.last_error}
            return [
                [Completion("", finish_reason="error", meta=dict(meta)) for _ in range(n)]
                for _ in observations
            ]

    def close(self) -> None:
        """Close the wrapped policy."""
        self.inner.close()


class SilentPolicy(Policy):
    """Answers every observation with an empty text at once (used to probe a game's roles)."""

    name = "silent"

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """One empty completion per observation and sample."""
        n = max(1, int(sampling.n)) if sampling is not None else 1
        return [[Completion("", finish_reason="stop") for _ in range(n)] for _ in observations]

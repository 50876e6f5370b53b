r"""Scripted spy-game bots: baselines, test opponents and the other seats in ``vzgym play``.

* A civilian states a true fact about its own scene that nobody has said yet.
* The spy states a fact true in both images when it can (it peeks at the
  privileged scene graphs), else something vague; with probability
  ``spy_mistake_rate`` it slips and states a fact of its own image instead.
* A voter (civilian or judge) counts, per player, the clues that are false in its
  own scene and votes for the single most suspicious player, or ``N/A``.

Bots read ``Observation.private`` (the scene graph), so they only work with
games that provide it (``spy-clevr``); elsewhere they fall back to vague clues
and ``N/A`` votes.  Their choices are deterministic per observation and ``seed``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams
from vzgym.envs.spy.prompts import NO_VALID_CLUE

VAGUE_CLUES = (
    "there are several objects",
    "the objects stand on a gray floor",
    "the light is soft",
)


def _facts(scene: object) -> list[str]:
    if scene is None:
        return []
    from vzgym.envs.clevr import scene_facts

    return list(scene_facts(scene))


class ScriptedSpyPolicy(Policy):
    """Rule-based player for the spy games (clues and votes)."""

    name = "scripted"

    def __init__(self, seed: int = 0, spy_mistake_rate: float = 0.0):
        self.seed = seed
        self.spy_mistake_rate = spy_mistake_rate

    def _rng(self, obs: Observation) -> np.random.Generator:
        key = zlib.crc32(f"{obs.agent}|{obs.phase}|{obs.round}|{obs.text()}".encode())
        return np.random.default_rng([self.seed, key])

    def generate(
        self, observations: Sequence[Observation], sampling: SamplingParams | None = None
    ) -> list[list[Completion]]:
        """Answer each observation ``sampling.n`` times (identical answers)."""
        n = (sampling or SamplingParams()).n
        out = []
        for obs in observations:
            text = self.vote(obs) if obs.phase == "decision" else self.clue(obs)
            out.append([Completion(text, finish_reason="scripted") for _ in range(n)])
        return out

    def clue(self, obs: Observation) -> str:
        """Return a clue action for ``obs``."""
        rng = self._rng(obs)
        said = {c for rnd in obs.private.get("public_log", []) for _, c in rnd}
        own = _facts(obs.private.get("scene"))
        if obs.private.get("true_role") == "spy":
            other = obs.private.get("other_scene")
            common: list[str] = []
            if other is not None and own:
                from vzgym.envs.clevr import common_facts

                common = list(common_facts(obs.private["scene"], other))
            giveaway = [f for f in own if f not in set(common)]
            if giveaway and rng.random() < self.spy_mistake_rate:
                candidates = giveaway
                reason = "I describe my own image and hope it matches theirs."
            elif common:
                candidates = common
                reason = "I should only say what is surely in everyone's image."
            else:
                candidates = list(VAGUE_CLUES)
                reason = "I cannot tell what differs, so I stay vague."
        else:
            candidates = own or list(VAGUE_CLUES)
            reason = "I describe something that is in my image."
        fresh = [c for c in candidates if c not in said] or candidates
        clue = fresh[int(rng.integers(len(fresh)))]
        return f"{reason}\n\\boxed{{{clue}}}"

    def vote(self, obs: Observation) -> str:
        """Return a vote action for ``obs``: the most suspicious player, or N/A."""
        own = set(_facts(obs.private.get("scene")))
        me = obs.extra.get("seat", 0)
        if not own:
            return "I have nothing to compare with.\n\\boxed{N/A}"
        suspicion: dict[int, int] = {}
        for rnd in obs.private.get("public_log", []):
            for seat, clue in rnd:
                if seat != me:
                    bad = clue == NO_VALID_CLUE or clue not in own
                    suspicion[seat] = suspicion.get(seat, 0) + int(bad)
        if not suspicion:
            return "Nobody has spoken.\n\\boxed{N/A}"
        top = max(suspicion.values())
        leaders = [s for s, v in suspicion.items() if v == top]
        if top == 0 or len(leaders) > 1:
            return "No single player said something false about my image.\n\\boxed{N/A}"
        return (
            f"Player {leaders[0]} said things that are false in my image.\n\\boxed{{{leaders[0]}}}"
        )

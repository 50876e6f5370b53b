r"""Scripted spy-game bots: baselines, test opponents, imitation teachers and ``vzgym play`` seats.

They play the real game and do not give their role away in how they speak:

* **Every player, spy or civilian, says the same kind of thing**: one true fact of
  *its own* image (:func:`vzgym.envs.clevr.scene_facts`), one nobody has said yet,
  after the same one-line reasoning.  It first draws a fact kind uniformly
  (:data:`vzgym.envs.clevr.FACT_KINDS`: relation, count, object, described
  object), then a fact of that kind, so the mix of kinds does not depend on the
  image (drawing facts uniformly did: an edit that makes two objects look alike
  removes relation facts, so the spy said more "there is a ..." and a word
  counter found it 36 % of the time instead of 25 %).  Roles can then only be told
  apart by comparing the clues with an image: with ``spy_view="edited"`` some of
  the spy's facts are false in the civilians' image.
* **A spy who sees nothing** (``spy_view="blank"``: its scene is ``None``) does not
  switch to vague phrases (that was a tell a text-only reader could learn); it
  *imagines* a scene (:func:`vzgym.envs.clevr.sample_scene`, ``imagined_objects``
  objects, from its seeded RNG) and states a fact of it, in the same templates.
  Such facts are usually false in the civilians' image, so it is usually caught.
* ``spy_view="identical"`` (a noise game): the spy sees the civilians' image, so it
  says true facts of it like everybody else, and the voters answer N/A.
* **A voter** (civilian or judge) reads only its *own* scene
  (``Observation.private["scene"]``), counts per other seat the clues that are not
  true in it, and votes for the single seat with the most such clues; with no
  such seat (nobody said anything false, or a tie) it answers ``N/A``.  It never
  reads the other image's scene or anyone's true role.

Games without scene graphs (``spy-pairs``) give every seat ``scene=None``: all seats
then imagine scenes (still indistinguishable) and voters answer ``N/A``.  Choices
are deterministic per observation and ``seed``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams
from vzgym.envs.spy.prompts import NO_VALID_CLUE

#: How a bot's vote explains itself (see :class:`ScriptedSpyPolicy`).
VOTE_STYLES = ("brief", "verdicts", "restate")

#: The reasoning line every clue carries (the same for every role: no tell).
CLUE_REASON = "I describe something that is in my image."


def _facts(scene: Any) -> list[str]:
    if scene is None:
        return []
    from vzgym.envs.clevr import scene_facts

    return list(scene_facts(scene))


def _imagined_facts(rng: np.random.Generator, num_objects: Any) -> list[str]:
    from vzgym.envs.clevr import sample_scene

    return _facts(sample_scene(rng, num_objects=num_objects))


class SpyBot(Policy):
    """Base of scripted spy-game players: seeded choices and clue/vote dispatch.

    Subclasses implement :meth:`clue` and :meth:`vote`; each draws its choices from
    :meth:`_rng`, keyed by the seat, phase, round, the episode (``private["episode_key"]``)
    and the prompt, so the same seed and observation give the same answer while the
    same prompt in another game does not (a constant first choice per role is a tell).
    Plugin games' bots build on it.
    """

    name = "scripted"

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def _rng(self, obs: Observation) -> np.random.Generator:
        # The episode is part of the key: the text alone repeats across games (the first
        # speaker's prompt is the same in every game, and a blank spy's image too), which
        # made each seat's first choice a constant per role, a tell a word counter learnt.
        text = f"{obs.agent}|{obs.phase}|{obs.round}|{obs.private.get('episode_key')}|{obs.text()}"
        key = zlib.crc32(text.encode())
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
        raise NotImplementedError

    def vote(self, obs: Observation) -> str:
        """Return a vote action for ``obs``."""
        raise NotImplementedError


class ScriptedSpyPolicy(SpyBot):
    """Rule-based player for the spy games (clues and votes); see the module docstring.

    Args:
        seed: mixes into every choice (same seed and observation, same answer).
        imagined_objects: object count (int or inclusive range) of the scene a
            player who sees no scene graph imagines; the game's default range.
        kinds: the fact kinds every player states (a subset of
            :data:`vzgym.envs.clevr.FACT_KINDS`, a sequence or ``"a|b"``); ``None``
            = all.  Every role obeys it alike (no tell).  ``kinds="object"`` in a
            one-object scene makes each clue a function of the image ("there is a
            red cube"), a teacher a small student can copy (``scripted:kinds=object``).
        votes: ``"brief"`` (one line naming the seat), ``"verdicts"``: the reasoning
            first judges every other seat in seat order ("Player 1: true." / "Player 3:
            false."), then names the one judged false, or ``"restate"``: the same with
            each seat's clue copied next to its verdict ("Player 1 said there is a red
            cube: true.").  Both make a vote a small student can learn step by step.
    """

    name = "scripted"

    def __init__(
        self,
        seed: int = 0,
        imagined_objects: int | tuple[int, int] = (3, 10),
        kinds: str | Sequence[str] | None = None,
        votes: str = "brief",
    ):
        super().__init__(seed)
        self.imagined_objects = imagined_objects
        if votes not in VOTE_STYLES:
            raise ValueError(f"votes must be one of {VOTE_STYLES}, got {votes!r}")
        self.votes = votes
        from vzgym.envs.clevr import FACT_KINDS

        if isinstance(kinds, str):
            kinds = [k.strip() for k in kinds.split("|") if k.strip()]
        self.kinds = tuple(FACT_KINDS) if kinds is None else tuple(kinds)
        unknown = [k for k in self.kinds if k not in FACT_KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"kinds must be a non-empty subset of {FACT_KINDS}, got {kinds!r}")

    def clue(self, obs: Observation) -> str:
        """Return a clue action: a fresh fact of the player's own (or imagined) image."""
        rng = self._rng(obs)
        said = {c for rnd in obs.private.get("public_log", []) for _, c in rnd}
        candidates = _facts(obs.private.get("scene")) or _imagined_facts(rng, self.imagined_objects)
        fresh = [c for c in candidates if c not in said] or candidates
        from vzgym.envs.clevr import FACT_KINDS, fact_kind

        # Prefer a fresh fact of the allowed kinds, then a repeated one of them, and only
        # when the image has none of those kinds at all, a fresh fact of any kind.
        by_kind = {k: [c for c in fresh if fact_kind(c) == k] for k in FACT_KINDS}
        kinds = [k for k in self.kinds if by_kind[k]]
        if not kinds:
            repeats = {k: [c for c in candidates if fact_kind(c) == k] for k in self.kinds}
            if any(repeats.values()):
                by_kind = repeats
                kinds = [k for k in self.kinds if repeats[k]]
            else:
                kinds = [k for k in FACT_KINDS if by_kind[k]]
        pool = by_kind[kinds[int(rng.integers(len(kinds)))]]
        clue = pool[int(rng.integers(len(pool)))]
        return f"{CLUE_REASON}\n\\boxed{{{clue}}}"

    def vote(self, obs: Observation) -> str:
        """Return a vote action: the one seat whose clues are most often false in my image."""
        own = set(_facts(obs.private.get("scene")))
        me = obs.extra.get("seat", 0)
        if not own:
            return "I have nothing to compare with.\n\\boxed{N/A}"
        suspicion: dict[int, int] = {}
        said: dict[int, list[str]] = {}
        for rnd in obs.private.get("public_log", []):
            for seat, clue in rnd:
                if seat != me:
                    bad = clue == NO_VALID_CLUE or clue not in own
                    suspicion[seat] = suspicion.get(seat, 0) + int(bad)
                    said.setdefault(seat, []).append(clue)
        if not suspicion:
            return "Nobody has spoken.\n\\boxed{N/A}"
        top = max(suspicion.values())
        leaders = [s for s, v in suspicion.items() if v == top]
        if self.votes in ("verdicts", "restate"):
            reason = " ".join(
                f"Player {seat}"
                + (f" said {'; '.join(said[seat])}" if self.votes == "restate" else "")
                + f": {'false' if bad else 'true'}."
                for seat, bad in sorted(suspicion.items())
            )
            pick = leaders[0] if top > 0 and len(leaders) == 1 else "N/A"
            return f"{reason}\n\\boxed{{{pick}}}"
        if top == 0 or len(leaders) > 1:
            return "No single player said something false about my image.\n\\boxed{N/A}"
        return (
            f"Player {leaders[0]} said things that are false in my image.\n\\boxed{{{leaders[0]}}}"
        )

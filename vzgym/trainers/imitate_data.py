"""Imitation data: seeded games played by a teacher in every seat, made on the fly.

:class:`TeacherStream` plays game after game (seeds ``seed_base + g``) with the
teacher policy (the env's scripted bots by default, or any policy spec such as
``openai:URL#model`` or ``hf:PATH`` for distillation) and hands out the turns,
``(observation, action text)``, in a fixed order.  Games are played in blocks of
``mix`` games whose turns are shuffled together (a permutation seeded by the block's
first game), so a batch holds turns of many images instead of the few turns of one
or two games: on spy-clevr, where the players of one game describe the same image,
batches of consecutive turns taught the tiny student colour but never shape (chance
after 7000 steps), while the clue turns (``phases``) of 16 mixed games taught it both
(the mix alone, over all turns, had not in 3000 steps).  Its position (the
block's first game and the turns already used of the block) is all the state a
resumed run needs: a deterministic teacher replays the same block.  A game in which
the teacher fails (a completion with ``finish_reason == "error"``) is dropped whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vzgym.core.observation import Observation
from vzgym.core.policy import Policy, SamplingParams

#: Seeds of training games start here (times the run seed); evaluation uses others.
TRAIN_SEED_STRIDE = 10_000_000
#: Seeds of held-out evaluation games start here (never used for training).
EVAL_SEED_BASE = 900_000_000


@dataclass
class Turn:
    """One teacher turn: what the player saw and what the teacher answered."""

    observation: Observation
    action: str
    game: int


def make_teacher(spec: str, env_id: str, **options: Any) -> Policy:
    """Build the teacher: ``scripted[:OPTIONS]`` (the bot the game declares) or any policy spec."""
    from vzgym.agents.spec import make_policy
    from vzgym.registration import get_registry

    is_bot = spec.partition(":")[0] == "scripted"
    if is_bot and get_registry().spec(env_id).scripted_policy is None:
        raise ValueError(
            f"env {env_id!r} declares no scripted bot to imitate; pass --teacher "
            "(e.g. openai:URL#model or hf:PATH)"
        )
    return make_policy(spec, env_id=env_id, **options)


def teacher_role_calls(env_id: str, teacher: Policy) -> dict[str, Any]:
    """The roles the env consults itself (``<role>_call`` options), all played by the teacher.

    The SVG envs ask frozen roles for proposals, pictures and silver labels; a teacher
    given options (``scripted:style=compact``) plays those roles too, so the student
    learns in the world its teacher made (the env's default bots otherwise).
    """
    from vzgym.registration import get_registry
    from vzgym.rollout.seating import PolicyCall

    names = get_registry().spec(env_id).option_names() or set()
    return {name: PolicyCall(teacher) for name in sorted(names) if name.endswith("_call")}


@dataclass
class TeacherStream:
    """Turns of seeded teacher games, in order (see the module docstring).

    Attributes:
        make_env: builds a fresh env (``vzgym.make(env_id, **kwargs)``).
        teacher: the policy that plays every seat.
        seed_base: the seed of game 0.
        sampling: the teacher's sampling settings.
        game: index of the next game to play (at construction: the first game of the
            block to resume in).
        offset: turns already handed out of the block being used (at construction: of
            the block starting at ``game``, which is then replayed and those turns
            skipped).
        mix: games per block whose turns are shuffled together (1: turns in game order).
        phases: only turns of these observation phases are handed out (empty: all);
            the teacher still plays every turn, the game goes on as it would.
    """

    make_env: Callable[[], Any]
    teacher: Policy
    seed_base: int
    sampling: SamplingParams = field(default_factory=SamplingParams)
    game: int = 0
    offset: int = 0
    pending: list[Turn] = field(default_factory=list)
    dropped_games: int = 0
    mix: int = 1
    phases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.mix, bool) or not isinstance(self.mix, int) or self.mix < 1:
            raise ValueError(f"mix must be an int >= 1, got {self.mix!r}")
        self._env = self.make_env()
        self._block_start = self.game
        self._kept_any = False
        if self.offset:  # resuming inside the block at ``game``: replay it, skip what was used
            skip, self.offset = self.offset, 0
            while not self.pending:
                self._play_next()
            self.pending = self.pending[skip:]
            self.offset = skip

    def play_game(self, seed: int) -> list[Turn] | None:
        """All turns of one teacher game with ``seed`` (None when the teacher failed)."""
        obs, _ = self._env.reset(seed=seed)
        turns: list[Turn] = []
        while obs:
            agents = list(obs)
            answers = self.teacher.generate([obs[a] for a in agents], self.sampling)
            comps = [a[0] for a in answers]
            if any(c.finish_reason == "error" for c in comps):
                return None
            turns.extend(Turn(obs[a], c.text, seed) for a, c in zip(agents, comps, strict=True))
            obs, *_ = self._env.step({a: c.text for a, c in zip(agents, comps, strict=True)})
        return turns

    def _play_next(self) -> None:
        """Play the next block of ``mix`` games; its turns (shuffled) become ``pending``."""
        start = self.game
        block: list[Turn] = []
        for _ in range(self.mix):
            turns = self.play_game(self.seed_base + self.game)
            self.game += 1
            if turns is None:
                self.dropped_games += 1
                if self.dropped_games > 20 and self.dropped_games > self.game // 2:
                    raise RuntimeError("the teacher failed in most games; see its errors")
                continue
            block.extend(t for t in turns if not self.phases or t.observation.phase in self.phases)
        if not block and self.phases and self.game >= 20 and not self._kept_any:
            raise RuntimeError(
                f"the teacher's first {self.game} games have no turns of phases "
                f"{list(self.phases)}"
            )
        self._kept_any = self._kept_any or bool(block)
        if self.mix > 1:
            order = np.random.default_rng(self.seed_base + start).permutation(len(block))
            block = [block[i] for i in order]
        self._block_start, self.offset, self.pending = start, 0, block

    def prime(self) -> None:
        """Play games until turns are waiting (errors of the env or teacher show here)."""
        while not self.pending:
            self._play_next()

    def take(self, k: int) -> list[Turn]:
        """The next ``k`` turns (plays new games as needed)."""
        out: list[Turn] = []
        while len(out) < k:
            if not self.pending:
                self._play_next()
                continue
            n = min(k - len(out), len(self.pending))
            out.extend(self.pending[:n])
            self.pending = self.pending[n:]
            self.offset += n
        return out

    def state(self) -> dict[str, int]:
        """Where the stream stands (for checkpoints): the first game of the block being
        used (or of the next block) and how many of the block's turns were handed out."""
        if self.pending:
            return {"game": self._block_start, "offset": self.offset}
        return {"game": self.game, "offset": 0}

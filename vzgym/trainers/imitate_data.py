"""Imitation data: seeded games played by a teacher in every seat, made on the fly.

:class:`TeacherStream` plays game after game (seeds ``seed_base + g``) with the
teacher policy (the env's scripted bots by default, or any policy spec such as
``openai:URL#model`` or ``hf:PATH`` for distillation) and hands out the turns,
``(observation, action text)``, in a fixed order.  Its position (game index and
turns already used of that game) is all the state a resumed run needs: a
deterministic teacher replays the same turns.  A game in which the teacher fails
(a completion with ``finish_reason == "error"``) is dropped whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
        game: index of the next game to play (at construction: the game to resume in).
        offset: turns already handed out of the game being used (at construction: of
            game ``game``, which is then replayed and those turns skipped).
    """

    make_env: Callable[[], Any]
    teacher: Policy
    seed_base: int
    sampling: SamplingParams = field(default_factory=SamplingParams)
    game: int = 0
    offset: int = 0
    pending: list[Turn] = field(default_factory=list)
    dropped_games: int = 0

    def __post_init__(self) -> None:
        self._env = self.make_env()
        if self.offset:  # resuming inside game ``game``: replay it and skip what was used
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
        turns = self.play_game(self.seed_base + self.game)
        self.game += 1
        self.offset = 0
        if turns is None:
            self.dropped_games += 1
            if self.dropped_games > 20 and self.dropped_games > self.game // 2:
                raise RuntimeError("the teacher failed in most games; see its errors")
            return
        self.pending = turns

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
        """Where the stream stands (for checkpoints): the game being used (or the next one)
        and how many of its turns were handed out already."""
        if self.pending:
            return {"game": self.game - 1, "offset": self.offset}
        return {"game": self.game, "offset": 0}

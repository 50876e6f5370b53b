"""The turn-based multi-agent env base class every vzgym game builds on.

A vzgym game is a :class:`gymnasium.Env` whose ``reset`` and ``step`` speak in
dicts keyed by agent id (PettingZoo's parallel convention):

* ``reset(seed=None, options=None) -> (observations, infos)``
* ``step(actions) -> (observations, rewards, terminations, truncations, infos)``

``observations`` holds exactly the agents who must act next.  Each value is an
:class:`Observation`: chat messages (OpenAI-style content parts, images as PIL
images) plus structured fields, so any policy can act without knowing the game.
Actions are plain text.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import gymnasium
from gymnasium import spaces

from vzgym.core.facts import GameFacts, Outcome
from vzgym.core.observation import AgentID, Observation, part_kind, text_message
from vzgym.core.observation import message_parts as _parts

__all__ = [  # Observation & co. live in vzgym.core.observation; re-exported for plugins
    "AgentID",
    "FreeText",
    "MultiAgentEnv",
    "Observation",
    "ObservationSpace",
    "StepResult",
    "part_kind",
    "text_message",
]

#: Characters :meth:`FreeText.sample` draws from.
_SAMPLE_CHARS = string.ascii_letters + string.digits + string.punctuation + " \n"


class FreeText(spaces.Space[str]):
    """Any ``str`` of at most ``max_length`` characters: model output is arbitrary text.

    (``gymnasium.spaces.Text`` only admits a fixed charset, which model output is not.)
    """

    def __init__(self, max_length: int = 1_000_000, seed: int | None = None):
        self.max_length = max_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Text cannot be flattened into a numpy array."""
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Return a short random printable string drawn from this space's RNG."""
        n = int(self.np_random.integers(1, 32))
        idx = self.np_random.integers(0, len(_SAMPLE_CHARS), size=n)
        return "".join(_SAMPLE_CHARS[i] for i in idx)

    def contains(self, x: Any) -> bool:
        """Return whether ``x`` is a string within the length limit."""
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"FreeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FreeText) and other.max_length == self.max_length


class ObservationSpace(spaces.Space[Observation]):
    """The space of :class:`Observation` values (chat messages with text and images)."""

    def __init__(self, seed: int | None = None):
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Chat observations cannot be flattened into a numpy array."""
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> Observation:
        """Return a one-message observation with random text (for API tests only)."""
        text = FreeText(seed=int(self.np_random.integers(2**31))).sample()
        return Observation("agent", "player", "sample", 0, [text_message("user", text)])

    def contains(self, x: Any) -> bool:
        """Return whether ``x`` is a well-formed :class:`Observation`."""
        if not isinstance(x, Observation) or not isinstance(x.messages, list):
            return False
        for msg in x.messages:
            if not isinstance(msg, Mapping) or "role" not in msg:
                return False
            for part in _parts(msg):
                kind = part.get("type")
                if kind == "text" and not isinstance(part.get("text"), str):
                    return False
                if kind == "image" and not hasattr(part.get("image"), "size"):
                    return False
                if kind not in ("text", "image"):
                    return False
        return True

    def __repr__(self) -> str:
        return "ObservationSpace()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObservationSpace)


StepResult = tuple[
    dict[AgentID, Observation],
    dict[AgentID, float],
    dict[AgentID, bool],
    dict[AgentID, bool],
    dict[AgentID, dict[str, Any]],
]


class MultiAgentEnv(gymnasium.Env):
    """Base class for turn-based multi-agent text+image games.

    Subclasses set ``possible_agents`` in ``__init__`` and implement
    :meth:`_reset` and :meth:`_step`.  The base class seeds ``self.np_random``
    (the env's only RNG), keeps ``agents`` (the live agents) and checks that
    ``step`` gets exactly one text action from every agent that must act.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "name": "vzgym-env"}

    #: Maximum characters of one action; longer text is cut before parsing.
    max_action_chars: int = 200_000

    #: What generic code may know about this game (stages, stats, plots ...).
    facts: GameFacts = GameFacts()

    def __init__(self, render_mode: str | None = None):
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; "
                f"choose from {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.possible_agents: list[AgentID] = []
        self.agents: list[AgentID] = []
        self._pending: list[AgentID] = []

    # -- spaces -------------------------------------------------------------
    def observation_space(self, agent: AgentID) -> ObservationSpace:  # type: ignore[override]
        """Return the observation space of ``agent`` (chat messages with images)."""
        self._check_known(agent)
        return self._spaces("obs", agent, ObservationSpace)

    def action_space(self, agent: AgentID) -> FreeText:  # type: ignore[override]
        """Return the action space of ``agent`` (free text)."""
        self._check_known(agent)
        return self._spaces("act", agent, lambda: FreeText(self.max_action_chars))

    @property
    def pending_agents(self) -> list[AgentID]:
        """The agents who must act in the next ``step`` (the keys of the last observations)."""
        return list(self._pending)

    # -- API ----------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        """Start a new episode; same ``seed`` ⇒ identical episode.

        If the game's set-up raises, the exception propagates and the env has
        no episode (``step`` raises until a ``reset`` succeeds).
        """
        super().reset(seed=seed)
        self._pending = []  # a failed reset must not leave the previous episode playable
        observations, infos = self._reset(dict(options or {}))
        self._pending = list(observations)
        return observations, infos

    def step(self, actions: Mapping[AgentID, str]) -> StepResult:  # type: ignore[override]
        """Apply one text action per pending agent and advance the game."""
        if not self._pending:
            raise RuntimeError("step() called on a finished or un-reset episode; call reset()")
        if not isinstance(actions, Mapping):
            raise TypeError(f"actions must be a dict agent_id -> str, got {type(actions).__name__}")
        missing = [a for a in self._pending if a not in actions]
        extra = [a for a in actions if a not in self._pending]
        if missing or extra:
            raise ValueError(
                f"step() needs exactly one action from each pending agent {self._pending}; "
                f"missing {missing}, not expected {extra}"
            )
        clean: dict[AgentID, str] = {}
        for agent in self._pending:
            action = actions[agent]
            if isinstance(action, bytes):
                action = action.decode("utf-8", errors="replace")
            if not isinstance(action, str):
                raise TypeError(f"action of {agent} must be str, got {type(action).__name__}")
            clean[agent] = action[: self.max_action_chars]
        result = self._step(clean)
        self._pending = list(result[0])
        return result

    # -- to implement -------------------------------------------------------
    def _reset(
        self, options: dict[str, Any]
    ) -> tuple[dict[AgentID, Observation], dict[AgentID, dict[str, Any]]]:
        raise NotImplementedError

    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        raise NotImplementedError

    @classmethod
    def samples_per_prompt(cls, options: dict[str, Any]) -> dict[str, int]:
        """Stage → how many turns of *one* episode answer the same prompt (default: 1 each).

        A game that samples one prompt several times inside an episode (Vision-Zero's
        observer voting ``observer_samples`` times on one transcript) says so here, so a
        group estimator has a group even with ``trainer.group_size = 1``.
        ``options`` are the env's constructor options.
        """
        return {}

    #: Optional classmethod ``rescore_batch(infos) -> list[float | None] | None``: given
    #: the ``infos`` of every trained turn of one training step (all games and copies),
    #: return new rewards (None = keep), for reward terms computed over the whole
    #: batch (MM-Zero's proposer diversity).  Absent (None) on most games.
    rescore_batch: Any = None

    def shared_reset_options(self) -> dict[str, Any]:
        """Options that let copies of this episode skip costly set-up (same-seed GRPO groups).

        After ``reset(seed=s)``, ``copy.reset(seed=s, options=env.shared_reset_options())``
        must start the identical episode; the default shares nothing.
        """
        return {}

    def outcome(self) -> Outcome | None:
        """How the finished episode came out (teams and scores); None while it runs.

        The default declares no outcome: evaluation refuses such a game with a
        clear error rather than guessing a winner.
        """
        return None

    def describe_step(self, infos: Mapping[AgentID, Mapping[str, Any]]) -> list[str]:
        """Lines a person at the table sees after a step (what was said in public).

        ``infos`` are the step's infos; the default announces nothing.
        """
        return []

    def describe_result(self) -> list[str]:
        """Lines telling a person how the finished episode went (default: nothing more).

        ``vzgym play`` prints them after the rewards table and the outcome.
        """
        return []

    def format_human_action(self, observation: Observation, text: str) -> str:
        """Turn what a person typed into a well-formed action (default: unchanged)."""
        return text

    # -- helpers ------------------------------------------------------------
    def _spaces(self, kind: str, agent: AgentID, factory: Any) -> Any:
        """Return the cached space of ``agent`` (the same object on every call)."""
        cache = self.__dict__.setdefault("_space_cache", {})
        key = (kind, agent)
        if key not in cache:
            cache[key] = factory()
        return cache[key]

    def _check_known(self, agent: AgentID) -> None:
        if agent not in self.possible_agents:
            raise KeyError(f"unknown agent {agent!r}; agents are {self.possible_agents}")

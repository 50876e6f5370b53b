"""Who-Is-the-Spy (Vision-Zero) over image pairs: the rules, independent of where pairs come from.

Flow of one episode:

1. ``reset``: draw an image pair and the spy's seat from ``self.np_random``.
2. Clue stage: ``clue_rounds`` rounds, players speak in seat order 1..N, one per
   ``step``.  A speaker sees its own image, its role line, the public clue log
   (clues only) and its own earlier reasoning, never another's.
3. Decision stage (one ``step``): in ``decision="civilians"`` every civilian votes
   (the spy does not); in ``"observer"`` ``observer_samples`` judge seats, who see
   the civilians' image and all clues, vote independently.
4. Rewards come at the final step: zero-sum clue rewards for the players
   (:func:`vzgym.envs.spy.rewards.clue_rewards`), minus ``invalid_clue_penalty`` per
   unparseable clue, and a decision reward per voter.  ``infos[agent]`` splits them
   into ``reward_clue`` and ``reward_decision`` so trainers can credit each stage.

Spy views: ``edited`` (the spy sees the edited image), ``blank`` (a flat gray
image) or ``identical`` (a "noise game": the spy sees the same image, and the
correct vote is N/A).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from PIL import Image

from vzgym.core.facts import GameFacts, Outcome, PlotPanel, Stage, StageSwitch, Stat
from vzgym.envs.base import AgentID, MultiAgentEnv, Observation, StepResult, text_message
from vzgym.envs.spy import prompts
from vzgym.envs.spy import rewards as spy_rewards
from vzgym.envs.spy.parsing import ParsedClue, ParsedVote, parse_clue, parse_vote
from vzgym.envs.spy.prompts import PROMPT_SETS
from vzgym.envs.spy.rewards import DECISION_SCHEMES, count_votes

SPY_VIEWS = ("edited", "blank", "identical")

#: What generic code knows about every spy game (Vision-Zero): two stages trained
#: in turn by Iterative-SPO (clue with role-conditioned RAE baselines, decision
#: with group normalisation), switched on vote accuracy and the N/A rate.
SPY_FACTS = GameFacts(
    stages=(
        Stage("clue", "rae", "players give clues about their image, round by round"),
        Stage("decision", "group_norm", "voters name the spy (or N/A)"),
    ),
    stats=(
        Stat("spy_found", "rate", "the votes singled out the spy", higher_is_better=None),
        Stat("vote_accuracy", "rate", "share of votes that named the spy", True),
        Stat("na_rate", "rate", "share of votes that abstained (N/A)", None),
        Stat("invalid_vote_rate", "rate", "share of votes that could not be parsed", False),
        Stat("invalid_clue_rate", "rate", "share of clues that could not be parsed", False),
        Stat(
            "civilian_clue_true_rate",
            "rate",
            "share of civilians' clues true of their image (games with scene graphs)",
            True,
        ),
        Stat(
            "spy_clue_true_rate",
            "rate",
            "share of the spy's clues true of the civilians' image (games with scene graphs)",
            None,
        ),
    ),
    switch=StageSwitch(
        accuracy="vote_accuracy", na_rate="na_rate", solve_stage="decision", harden_stage="clue"
    ),
    plots=(
        PlotPanel(
            "spy_game.png",
            "Spy games",
            ("game/spy_found", "game/vote_accuracy", "game/na_rate", "game/invalid_vote_rate"),
        ),
    ),
    view="vzgym.envs.spy.view:spy_view",
)
DECISION_MODES = ("civilians", "observer")


class Phase(str, Enum):
    """Stages of a spy game."""

    CLUE = "clue"
    DECISION = "decision"
    DONE = "done"


class Role(str, Enum):
    """Hidden roles of a spy game."""

    SPY = "spy"
    CIVILIAN = "civilian"
    JUDGE = "judge"


@dataclass
class PairSample:
    """One image pair for a game: what civilians see, what the spy sees, and why they differ.

    ``original_scene`` / ``modified_scene`` are optional privileged scene graphs
    (for scripted bots); ``changes`` is the change log.
    """

    original: Image.Image
    modified: Image.Image
    changes: list[dict[str, Any]] = field(default_factory=list)
    original_scene: Any = None
    modified_scene: Any = None
    source: str = ""


@dataclass
class _Turn:
    seat: int
    round: int
    parsed: ParsedClue


class SpyEnv(MultiAgentEnv):
    """Who-Is-the-Spy: the rules.  Subclasses supply image pairs via :meth:`sample_pair`.

    Agents are ``player_1..player_N`` and, with ``decision="observer"``,
    ``judge_1..judge_K``.  Pass ``options={"pair": PairSample}`` to ``reset`` to
    reuse a pair (GRPO groups share one; benchmarks exclude image making).
    """

    metadata = {"render_modes": ["ansi"], "name": "spy"}

    facts = SPY_FACTS

    def __init__(
        self,
        *,
        num_players: int = 4,
        clue_rounds: int = 2,
        spy_view: str = "edited",
        reveal_roles: bool = True,
        decision: str = "civilians",
        observer_samples: int = 1,
        decision_reward: str = "paper",
        beta: float = 0.1,
        lam: float = 0.1,
        invalid_clue_penalty: float = 0.5,
        max_clue_chars: int = 300,
        max_reasoning_chars: int = 600,
        prompts: str = "vzgym",
        render_mode: str | None = None,
    ):
        super().__init__(render_mode=render_mode)
        if not isinstance(num_players, int) or num_players < 3:
            raise ValueError(f"num_players must be an int >= 3, got {num_players!r}")
        if not isinstance(clue_rounds, int) or clue_rounds < 1:
            raise ValueError(f"clue_rounds must be an int >= 1, got {clue_rounds!r}")
        _check_choice("spy_view", spy_view, SPY_VIEWS)
        _check_choice("decision", decision, DECISION_MODES)
        _check_choice("decision_reward", decision_reward, DECISION_SCHEMES)
        _check_choice("prompts", prompts, tuple(PROMPT_SETS))
        if decision == "observer" and (
            not isinstance(observer_samples, int) or observer_samples < 1
        ):
            raise ValueError(f"observer_samples must be an int >= 1, got {observer_samples!r}")
        self.num_players = num_players
        self.clue_rounds = clue_rounds
        self.spy_view = spy_view
        if not isinstance(reveal_roles, bool):
            raise ValueError(f"reveal_roles must be true or false, got {reveal_roles!r}")
        self.reveal_roles = reveal_roles
        self.decision = decision
        self.observer_samples = observer_samples if decision == "observer" else 0
        self.decision_scheme = decision_reward
        self.beta, self.lam = float(beta), float(lam)
        self.invalid_clue_penalty = float(invalid_clue_penalty)
        self.max_clue_chars = max_clue_chars
        self.max_reasoning_chars = max_reasoning_chars
        self.prompt_set = prompts
        self._prompts = PROMPT_SETS[prompts]
        from vzgym.rewards_registry import get_reward_fn

        # Plugins may swap either reward (``register_rewards``); the defaults are Vision-Zero's.
        self._clue_rewards = get_reward_fn("spy", "clue", spy_rewards.clue_rewards)
        self._decision_reward = get_reward_fn("spy", "decision", spy_rewards.decision_reward)
        # the reasoning-length format check is passed to the built-in reward only (a
        # plugin's replacement keeps the documented keyword set)
        self._vz_format = (
            decision_reward == "vz-code" and self._decision_reward is spy_rewards.decision_reward
        )
        self.players = [f"player_{i}" for i in range(1, num_players + 1)]
        self.judges = [f"judge_{i}" for i in range(1, self.observer_samples + 1)]
        self.possible_agents = self.players + self.judges
        self._pair: PairSample | None = None
        self._last_game: dict[str, Any] | None = None
        self.spy_seat = 0
        self.phase = Phase.DONE

    # -- subclasses ---------------------------------------------------------
    def sample_pair(self) -> PairSample:
        """Draw an image pair using ``self.np_random`` only."""
        raise NotImplementedError

    def facts_of_scene(self, scene: Any) -> set[str] | None:
        """The clues that count as true of ``scene`` (None: this game cannot tell)."""
        return None

    def _clue_truth(self) -> dict[str, Any]:
        """Shares of civilians' and the spy's clues true of the civilians' image."""
        facts = self.facts_of_scene(self._pair.original_scene)
        if facts is None:
            return {}
        out: dict[str, Any] = {}
        for key, spy in (("civilian_clue_true_rate", False), ("spy_clue_true_rate", True)):
            said = [t.parsed.clue in facts for t in self._turns if (t.seat == self.spy_seat) == spy]
            if said:
                out[key] = sum(said) / len(said)
        return out

    # -- game state ---------------------------------------------------------
    def _reset(self, options: dict[str, Any]) -> tuple[dict[AgentID, Observation], dict]:
        pair = options.get("pair")
        if pair is not None and not isinstance(pair, PairSample):
            raise TypeError(f"options['pair'] must be a PairSample, got {type(pair).__name__}")
        # The spy seat is drawn first so a given seed picks the same seat with or without
        # a supplied pair.
        spy_seat = int(self.np_random.integers(1, self.num_players + 1))
        new_pair = pair if pair is not None else self.sample_pair()  # may raise: state untouched
        self.spy_seat, self._pair = spy_seat, new_pair
        self._spy_image = self._make_spy_image(self._pair)
        # A per-episode number for scripted bots' RNGs (the same for same-seed copies);
        # it carries nothing about the images a player could use.
        self._episode_key = zlib.crc32(self._pair.original.tobytes()) ^ spy_seat
        self.agents = list(self.possible_agents)
        self.phase = Phase.CLUE
        self.round = 1
        self.speaker = 1
        self._turns: list[_Turn] = []
        self._votes: dict[AgentID, ParsedVote] = {}
        self._raw_votes: dict[AgentID, str] = {}
        self._last_game = None
        obs = {self._agent(1): self._clue_observation(1)}
        infos = {a: self._base_info(a) for a in self.agents}
        return obs, infos

    def _make_spy_image(self, pair: PairSample) -> Image.Image:
        if self.spy_view == "edited":
            return pair.modified
        if self.spy_view == "identical":
            return pair.original
        return Image.new("RGB", pair.original.size, (128, 128, 128))

    @property
    def answer(self) -> int | None:
        """The correct vote: the spy's seat, or None (N/A) in an ``identical`` noise game."""
        return None if self.spy_view == "identical" else self.spy_seat

    def role_of(self, agent: AgentID) -> Role:
        """The true role of ``agent`` in the current episode."""
        if agent in self.judges:
            return Role.JUDGE
        return Role.SPY if self._seat(agent) == self.spy_seat else Role.CIVILIAN

    def _seat(self, agent: AgentID) -> int:
        return int(agent.rsplit("_", 1)[1])

    def _agent(self, seat: int) -> AgentID:
        return f"player_{seat}"

    def _image_of(self, seat: int) -> Image.Image:
        return self._spy_image if seat == self.spy_seat else self._pair.original

    def _scene_of(self, seat: int) -> Any:
        pair = self._pair
        if seat == self.spy_seat and self.spy_view == "edited":
            return pair.modified_scene
        if seat == self.spy_seat and self.spy_view == "blank":
            return None
        return pair.original_scene

    def _public_log(self) -> list[list[tuple[int, str]]]:
        log: list[list[tuple[int, str]]] = [[] for _ in range(self.clue_rounds)]
        for turn in self._turns:
            clue = turn.parsed.clue if turn.parsed.valid else prompts.NO_VALID_CLUE
            log[turn.round - 1].append((turn.seat, clue))
        return log

    def _own_notes(self, seat: int) -> list[str]:
        cap = self.max_reasoning_chars
        return [
            t.parsed.reasoning[:cap] for t in self._turns if t.seat == seat and t.parsed.reasoning
        ]

    def _shown_role(self, seat: int) -> str:
        if not self.reveal_roles:
            return "player"
        return Role.SPY.value if seat == self.spy_seat else Role.CIVILIAN.value

    # -- observations -------------------------------------------------------
    @classmethod
    def samples_per_prompt(cls, options: dict[str, Any]) -> dict[str, int]:
        """With ``decision="observer"`` the judges vote ``observer_samples`` times on one
        transcript and image: one prompt, that many samples in every episode."""
        if options.get("decision") == "observer":
            samples = options.get("observer_samples", 1)
            return {"decision": samples if isinstance(samples, int) and samples > 0 else 1}
        return {}

    def difference_note(self) -> str:
        """What the players are told about how the spy's picture differs (prompt text)."""
        return prompts.difference_text(None, None)

    def _clue_observation(self, seat: int) -> Observation:
        log = self._public_log()
        body = self._prompts.clue(
            seat,
            self._shown_role(seat),
            self.reveal_roles,
            self.round,
            self.clue_rounds,
            log,
            self._own_notes(seat),
            self.num_players,
            self.difference_note(),
        )
        return self._observation(
            self._agent(seat), seat, Phase.CLUE, self._image_of(seat), body, log
        )

    def _vote_observation(self, agent: AgentID) -> Observation:
        public = self._public_log()
        if agent in self.judges:
            body = self._prompts.judge(public, self.num_players, self.difference_note())
            image, seat = self._pair.original, 0
        else:
            seat = self._seat(agent)
            body = self._prompts.vote(
                seat,
                self._shown_role(seat),
                self.reveal_roles,
                public,
                self._own_notes(seat),
                self.num_players,
                self.difference_note(),
            )
            image = self._image_of(seat)
        return self._observation(agent, seat, Phase.DECISION, image, body, public)

    def _observation(
        self,
        agent: AgentID,
        seat: int,
        phase: Phase,
        image: Image.Image,
        body: str,
        public_log: list[list[tuple[int, str]]],
    ) -> Observation:
        system = self._prompts.system(
            self.num_players, self.clue_rounds, self.decision, self.difference_note()
        )
        role = Role.JUDGE.value if agent in self.judges else self._shown_role(seat)
        private: dict[str, Any] = {
            "true_role": self.role_of(agent).value,
            "scene": self._pair.original_scene if seat == 0 else self._scene_of(seat),
            "public_log": public_log,
            "num_players": self.num_players,
            "episode_key": self._episode_key,
        }
        if seat == self.spy_seat:
            private["other_scene"] = self._pair.original_scene
        return Observation(
            agent=agent,
            role=role,
            phase=phase.value,
            round=self.round if phase is Phase.CLUE else 0,
            messages=[text_message("system", system), text_message("user", image, body)],
            extra={
                "seat": seat,
                "num_players": self.num_players,
                "clue_rounds": self.clue_rounds,
                "clue_log": public_log,
            },
            private=private,
        )

    def _base_info(self, agent: AgentID) -> dict[str, Any]:
        return {"phase": self.phase.value, "round": self.round}

    # -- steps --------------------------------------------------------------
    def _step(self, actions: dict[AgentID, str]) -> StepResult:
        if self.phase is Phase.CLUE:
            return self._clue_step(actions)
        return self._decision_step(actions)

    def _clue_step(self, actions: dict[AgentID, str]) -> StepResult:
        agent = self._agent(self.speaker)
        parsed = parse_clue(actions[agent], max_chars=self.max_clue_chars)
        self._turns.append(_Turn(self.speaker, self.round, parsed))
        zero = dict.fromkeys(self.agents, 0.0)
        false = dict.fromkeys(self.agents, False)
        info_extra = {"clue": parsed.clue, "clue_error": parsed.error}
        self.speaker += 1
        if self.speaker > self.num_players:
            self.speaker = 1
            self.round += 1
        if self.round <= self.clue_rounds:
            obs = {self._agent(self.speaker): self._clue_observation(self.speaker)}
        else:
            self.phase = Phase.DECISION
            obs = {a: self._vote_observation(a) for a in self._voters()}
        infos = {a: self._base_info(a) for a in self.agents}
        infos[agent].update(info_extra)
        return obs, zero, false, dict(false), infos

    def _voters(self) -> list[AgentID]:
        if self.decision == "observer":
            return list(self.judges)
        return [self._agent(s) for s in range(1, self.num_players + 1) if s != self.spy_seat]

    def _decision_step(self, actions: dict[AgentID, str]) -> StepResult:
        for agent, text in actions.items():
            self._votes[agent] = parse_vote(text, self.num_players)
        summary = self._score()
        self._last_game = summary["game"]
        self.phase = Phase.DONE
        agents = list(self.agents)
        rewards = {a: summary["rewards"][a] for a in agents}
        infos = {}
        for a in agents:
            info = self._base_info(a)
            info.update(
                reward_clue=summary["reward_clue"].get(a, 0.0),
                reward_decision=summary["reward_decision"].get(a, 0.0),
                true_role=self.role_of(a).value,
                game=summary["game"],
            )
            infos[a] = info
        self.agents = []
        return {}, rewards, dict.fromkeys(agents, True), dict.fromkeys(agents, False), infos

    def _score(self) -> dict[str, Any]:
        votes = self._votes
        counts = count_votes([v.target for v in votes.values()], self.num_players)
        clue = self._clue_rewards(counts, self.spy_seat, beta=self.beta, lam=self.lam)
        reward_clue: dict[AgentID, float] = {}
        for seat, value in clue.items():
            invalid = sum(1 for t in self._turns if t.seat == seat and not t.parsed.valid)
            reward_clue[self._agent(seat)] = value - self.invalid_clue_penalty * invalid
        reward_decision: dict[AgentID, float] = {}
        correct_n = na_n = invalid_n = 0
        for agent, vote in votes.items():
            correct = vote.valid and (
                vote.na if self.answer is None else vote.target == self.answer
            )
            correct_n += correct
            na_n += vote.na
            invalid_n += not vote.valid
            reward_decision[agent] = self._decision_reward(
                correct=correct,
                na=vote.na,
                valid=vote.valid,
                scheme=self.decision_scheme,
                **({"reasoned": vote.reasoning_chars > 10} if self._vz_format else {}),
            )
        n_votes = max(len(votes), 1)
        rewards = {
            a: reward_clue.get(a, 0.0) + reward_decision.get(a, 0.0) for a in self.possible_agents
        }
        game = {
            "spy_seat": self.spy_seat,
            "answer": self.answer,
            "spy_view": self.spy_view,
            "votes": {a: ("N/A" if v.na else v.target) for a, v in votes.items()},
            "vote_errors": {a: v.error for a, v in votes.items() if v.error},
            "votes_per_seat": counts,
            "vote_accuracy": correct_n / n_votes,
            "na_rate": na_n / n_votes,
            "invalid_vote_rate": invalid_n / n_votes,
            "spy_found": counts[self.spy_seat]
            > max((c for s, c in counts.items() if s != self.spy_seat), default=0),
            "clues": [
                {"seat": t.seat, "round": t.round, "clue": t.parsed.clue, "error": t.parsed.error}
                for t in self._turns
            ],
            "changes": self._pair.changes,
            "pair_source": self._pair.source,
            "invalid_clue_rate": sum(not t.parsed.valid for t in self._turns)
            / max(len(self._turns), 1),
            **self._clue_truth(),
        }
        return {
            "rewards": rewards,
            "reward_clue": reward_clue,
            "reward_decision": reward_decision,
            "game": game,
        }

    def outcome(self) -> Outcome | None:
        """Spy vs civilians: the civilians win when the votes single out the spy.

        Judges (``decision="observer"``) only vote, so they are on no team.
        """
        if self.phase is not Phase.DONE or self._last_game is None:
            return None
        spy = self._agent(self.spy_seat)
        civilians = [self._agent(s) for s in range(1, self.num_players + 1) if s != self.spy_seat]
        found = bool(self._last_game["spy_found"])
        return Outcome(
            teams={"spy": [spy], "civilians": civilians},
            scores={"spy": 0.0 if found else 1.0, "civilians": 1.0 if found else 0.0},
            roles={"spy": Role.SPY.value, "civilians": Role.CIVILIAN.value},
        )

    def describe_step(self, infos: Any) -> list[str]:
        """Each clue given this step, as the table heard it."""
        lines = []
        for agent, info in infos.items():
            if "clue" in info:
                shown = info.get("clue") or f"(no valid clue: {info.get('clue_error')})"
                lines.append(f"{agent} says: {shown}")
        return lines

    def describe_result(self) -> list[str]:
        """Who the spy was, the votes, the accuracy and the change log."""
        game = self._last_game
        if game is None:
            return []
        lines = [
            f"The spy was Player {game['spy_seat']}. Votes: {game['votes']}",
            f"Vote accuracy {game['vote_accuracy']:.2f}, N/A rate {game['na_rate']:.2f}",
        ]
        lines += [f"  change: {describe_change(c)}" for c in game.get("changes", [])[:10]]
        return lines

    def shared_reset_options(self) -> dict[str, Any]:
        """Share the image pair: a same-seed copy then skips making images."""
        return {"pair": self._pair} if self._pair is not None else {}

    def format_human_action(self, observation: Observation, text: str) -> str:
        r"""Box a bare answer typed by a person (``red cube`` → ``\boxed{red cube}``)."""
        return text if "\\boxed" in text else f"\\boxed{{{text.strip()}}}"

    # -- display ------------------------------------------------------------
    def render(self) -> str | None:
        """Return the public state as text (``render_mode="ansi"``)."""
        if self.render_mode != "ansi":
            return None
        log = prompts.clue_log_text(self._public_log()) if self._pair else "(not started)"
        return f"phase={self.phase.value} round={getattr(self, 'round', 0)}\n{log}"


def describe_change(change: Any) -> str:
    """One line for a change-log entry: ``object 3 (replace): large red ... -> ...``."""
    if not isinstance(change, dict) or not {"before", "after"} <= set(change):
        return str(change)

    def words(attrs: Any) -> str:
        if attrs is None:
            return "nothing"
        if not isinstance(attrs, dict):
            return str(attrs)
        keys = ("size", "color", "material", "shape")
        text = " ".join(str(attrs[k]) for k in keys if k in attrs)
        if "x" in attrs and "y" in attrs:
            text += f" at ({attrs['x']:.1f}, {attrs['y']:.1f})"
        return text

    where = ", ".join(
        f"{k} {v}"
        for k, v in change.items()
        if k not in ("kind", "before", "after", "id") and isinstance(v, (str, int, float))
    )
    if "id" in change or not where:
        head = f"object {change.get('id', '?')} ({change.get('kind', 'edit')})"
    else:
        head = f"{change.get('kind', 'edit')} ({where})"
    return f"{head}: {words(change['before'])} -> {words(change['after'])}"


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")

"""Batched rollouts: many games at once, one model call per policy per tick.

``M`` games × ``G`` same-seed copies (a GRPO group: identical start, independent
sampling) run side by side.  Each tick gathers every pending prompt of every
game, groups them by policy and makes one ``generate`` call per policy; then
every game steps.  Copies of a group share costly set-up through
:meth:`MultiAgentEnv.shared_reset_options` (for spy games: the images are made
once per group).

Credit: a turn's ``reward`` is the agent's final ``info["reward_<phase>"]`` when
the game reports per-stage rewards (spy: clue / decision), else the agent's
total reward in the episode.

Seeds: with ``sampling.seed`` set, every policy call gets its own seed (from the
tick and the call's index in it), so a rollout is reproducible for the same
config; how a backend spreads a call's seed over its rows is the backend's
(HF draws one stream for the whole batch, so an episode's samples also depend
on which other games share its calls; vLLM/OpenAI seed each row by position).

A completion with ``finish_reason == "error"`` (e.g. a prompt longer than the
model's context) ends *that* episode with status ``failed:<reason>``; its turns
are still written (marked), the rest of the batch goes on.  A turn whose env
info says ``reward_valid: False`` (its reward rests on an infrastructure
failure) is written with ``trainable = False``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from vzgym.core.credit import credit_reward, true_role
from vzgym.core.observation import Observation
from vzgym.core.policy import Completion, Policy, SamplingParams
from vzgym.envs.base import MultiAgentEnv
from vzgym.registration import facts_of
from vzgym.rollout.writer import TrajectoryWriter, to_jsonable


@dataclass
class SeatPolicy:
    """A policy as seated in a game: its display name and whether its turns are trained."""

    name: str
    policy: Policy
    trainable: bool = True


@dataclass
class PolicyMap:
    """Which policy plays which seat: one for all (self-play) or one per role."""

    default: SeatPolicy
    by_role: dict[str, SeatPolicy] = field(default_factory=dict)

    def for_observation(self, obs: Observation) -> SeatPolicy:
        """The seat policy for the agent of ``obs`` (by true role, else shown role)."""
        role = true_role(obs)
        return self.by_role.get(role, self.by_role.get(obs.role, self.default))

    def policies(self) -> list[SeatPolicy]:
        """Every distinct seat policy."""
        seen: dict[int, SeatPolicy] = {}
        for seat in [self.default, *self.by_role.values()]:
            seen.setdefault(id(seat), seat)
        return list(seen.values())


@dataclass
class RolloutConfig:
    """What to roll out: env, how many games and copies, seeds and sampling.

    Game ``g`` (``first_game <= g < first_game + games``) is played with seed
    ``seed + g`` and its copies get episode ids from ``first_episode`` on; a run
    appended to earlier trajectories starts both after theirs (no id twice).
    """

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    games: int = 8
    group: int = 4
    seed: int = 0
    sampling: SamplingParams = field(default_factory=SamplingParams)
    max_steps: int = 1000
    first_game: int = 0
    first_episode: int = 0


@dataclass
class _Episode:
    env: MultiAgentEnv
    group_id: int
    copy: int
    episode_id: int
    seed: int
    obs: dict[str, Observation] = field(default_factory=dict)
    turns: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "running"
    steps: int = 0


@dataclass
class RolloutSummary:
    """What a rollout did: counts, rewards per role, game statistics and speeds."""

    games: int = 0
    episodes: int = 0
    failed_episodes: int = 0
    turns: int = 0
    model_calls: int = 0
    generated_tokens: int = 0
    model_seconds: float = 0.0
    wall_seconds: float = 0.0
    reward_by_role: dict[str, float] = field(default_factory=dict)
    game_stats: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of model time."""
        return self.generated_tokens / self.model_seconds if self.model_seconds else 0.0

    @property
    def overhead_ms_per_turn(self) -> float:
        """Wall time outside model calls, per agent turn (env, parsing, rewards, writing)."""
        if not self.turns:
            return 0.0
        return 1000 * (self.wall_seconds - self.model_seconds) / self.turns

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (with the derived speeds)."""
        out = dict(self.__dict__)
        out["tokens_per_second"] = self.tokens_per_second
        out["overhead_ms_per_turn"] = self.overhead_ms_per_turn
        return out


def _make_env(config: RolloutConfig) -> MultiAgentEnv:
    from vzgym.registration import make

    return make(config.env_id, **config.env_kwargs)


class RolloutRunner:
    """Runs batched rollouts of one env id with a :class:`PolicyMap`."""

    def __init__(
        self,
        config: RolloutConfig,
        policies: PolicyMap,
        writer: TrajectoryWriter | None = None,
    ):
        if config.games < 1 or config.group < 1:
            raise ValueError("games and group must be >= 1")
        self.config = config
        self.policies = policies
        self.writer = writer

    def _start(self) -> list[_Episode]:
        cfg = self.config
        episodes = []
        for k in range(cfg.games):
            game = cfg.first_game + k
            seed = cfg.seed + game
            shared: dict[str, Any] | None = None
            for copy in range(cfg.group):
                env = _make_env(cfg)
                ep = _Episode(env, game, copy, cfg.first_episode + k * cfg.group + copy, seed)
                ep.obs, _ = env.reset(seed=seed, options=shared)
                if not ep.obs:  # nothing to play (e.g. no usable items this seed)
                    ep.status = "ok"
                if shared is None:
                    shared = env.shared_reset_options() or None
                episodes.append(ep)
        return episodes

    def run(self, progress: bool = False) -> tuple[RolloutSummary, list[_Episode]]:
        """Play every episode to the end; return the summary and the finished episodes."""
        summary = RolloutSummary(games=self.config.games)
        wall = time.perf_counter()
        episodes = self._start()
        bar = _Progress(len(episodes), progress)
        sampling = SamplingParams(**{**self.config.sampling.__dict__, "n": 1})
        tick = 0
        while True:
            live = [ep for ep in episodes if ep.status == "running" and ep.obs]
            if not live:
                break
            by_policy: dict[int, list[tuple[_Episode, str, Observation]]] = defaultdict(list)
            seat_of: dict[int, SeatPolicy] = {}
            for ep in live:
                for agent, obs in ep.obs.items():
                    seat = self.policies.for_observation(obs)
                    by_policy[id(seat)].append((ep, agent, obs))
                    seat_of[id(seat)] = seat
            chosen: dict[int, dict[str, tuple[Completion, SeatPolicy]]] = defaultdict(dict)
            for call, (key, items) in enumerate(by_policy.items()):
                seat = seat_of[key]
                if sampling.seed is not None:  # distinct per tick and per policy call
                    base = self.config.sampling.seed
                    sampling.seed = base + 1_000_003 * tick + 7919 * call  # type: ignore[operator]
                started = time.perf_counter()
                answers = seat.policy.generate([obs for _, _, obs in items], sampling)
                summary.model_seconds += time.perf_counter() - started
                summary.model_calls += 1
                for (ep, agent, _), completions in zip(items, answers):
                    chosen[id(ep)][agent] = (completions[0], seat)
            tick += 1
            for ep in live:
                self._advance(ep, chosen[id(ep)], summary)
                if ep.status != "running" or not ep.obs:
                    self._finish(ep, summary)
                    bar.advance()
        bar.close()
        summary.episodes = len(episodes)
        summary.wall_seconds = time.perf_counter() - wall
        self._aggregate(summary, episodes)
        if self.writer is not None:
            self.writer.flush()
        for ep in episodes:
            ep.env.close()
        return summary, episodes

    def _advance(
        self,
        ep: _Episode,
        chosen: dict[str, tuple[Completion, SeatPolicy]],
        summary: RolloutSummary,
    ) -> None:
        errors = [
            c.meta.get("error", "error") for c, _ in chosen.values() if c.finish_reason == "error"
        ]
        for agent, (completion, seat) in chosen.items():
            obs = ep.obs[agent]
            summary.turns += 1
            summary.generated_tokens += len(completion.token_ids)
            ep.turns.append(
                {
                    "agent": agent,
                    "obs": obs,
                    "completion": completion,
                    "seat": seat,
                    "turn": ep.steps,
                }
            )
        if errors:
            ep.status = f"failed:{errors[0]}"
            return
        actions = {agent: completion.text for agent, (completion, _) in chosen.items()}
        obs, rewards, _, _, infos = ep.env.step(actions)
        ep.steps += 1
        for agent, value in rewards.items():
            ep.totals[agent] += float(value)
        for agent, info in infos.items():
            ep.infos[agent] = info
        ep.obs = obs
        if ep.steps >= self.config.max_steps and obs:
            ep.status = "failed:max_steps"

    def _finish(self, ep: _Episode, summary: RolloutSummary) -> None:
        if ep.status == "running":
            ep.status = "ok"
        else:
            reason = ep.status.split(":", 1)[1]
            summary.failures[reason] = summary.failures.get(reason, 0) + 1
            summary.failed_episodes += 1
        if self.writer is not None:
            self.writer.add(self.records(ep))

    def records(self, ep: _Episode) -> list[dict[str, Any]]:
        """The trajectory rows of a finished episode (schema :data:`TURN_SCHEMA`)."""
        assert self.writer is not None
        rows = []
        for turn in ep.turns:
            obs: Observation = turn["obs"]
            completion: Completion = turn["completion"]
            seat: SeatPolicy = turn["seat"]
            agent = turn["agent"]
            info = ep.infos.get(agent, {})
            total = ep.totals.get(agent, 0.0)
            reward = credit_reward(obs.phase, info, total)
            prompt, images = self.writer.prompt_json(obs.messages)
            rows.append(
                {
                    "env_id": self.config.env_id,
                    "seed": ep.seed,
                    "group_id": ep.group_id,
                    "episode_id": ep.episode_id,
                    "copy": ep.copy,
                    "turn": turn["turn"],
                    "agent": agent,
                    "role": true_role(obs, info),
                    "shown_role": obs.role,
                    "phase": obs.phase,
                    "round": obs.round,
                    "policy": seat.name,
                    "trainable": seat.trainable
                    and ep.status == "ok"
                    and info.get("reward_valid", True) is not False
                    and "" not in images,  # an image that could not be stored
                    "prompt": prompt,
                    "images": images,
                    "completion": completion.text,
                    "token_ids": list(completion.token_ids),
                    "logprobs": [float(x) for x in completion.logprobs],
                    "prompt_token_ids": list(completion.prompt_token_ids),
                    "finish_reason": completion.finish_reason,
                    "reward": reward if ep.status == "ok" else 0.0,
                    "episode_reward": float(total),
                    "episode_status": ep.status,
                    "info": _info_json(info, self.writer),
                }
            )
        return rows

    def _aggregate(self, summary: RolloutSummary, episodes: list[_Episode]) -> None:
        by_role: dict[str, list[float]] = defaultdict(list)
        stats: dict[str, list[float]] = defaultdict(list)
        games: list[dict[str, Any]] = []
        for ep in episodes:
            if ep.status != "ok":
                continue
            for agent, total in ep.totals.items():
                role = str(ep.infos.get(agent, {}).get("true_role", agent.rsplit("_", 1)[0]))
                by_role[role].append(total)
            game = next((i["game"] for i in ep.infos.values() if "game" in i), None)
            if isinstance(game, dict):  # the game's declared per-episode statistics
                games.append(game)
            batch = next((i["metrics"] for i in ep.infos.values() if "metrics" in i), None)
            if isinstance(batch, dict):  # games that report batch metrics (the SVG world)
                for key, value in batch.items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        if math.isfinite(float(value)):
                            stats[key].append(float(value))
        summary.reward_by_role = {r: sum(v) / len(v) for r, v in sorted(by_role.items())}
        game_stats = {k: sum(v) / len(v) for k, v in stats.items()}
        game_stats.update(facts_of(self.config.env_id).aggregate(games))
        summary.game_stats = dict(sorted(game_stats.items()))


def _info_json(info: dict[str, Any], writer: TrajectoryWriter) -> str:
    import json

    # Images in infos (the SVG world's rendered PNG) are stored like prompt images.
    return json.dumps(to_jsonable(info, image_ref=writer.image_ref), ensure_ascii=False)


class _Progress:
    """A rich progress bar over finished episodes (silent when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self._progress = None
        if enabled:
            from rich.progress import Progress

            self._progress = Progress(transient=False)
            self._progress.start()
            self._task = self._progress.add_task("episodes", total=total)

    def advance(self) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def run_rollouts(
    config: RolloutConfig,
    policies: PolicyMap,
    out_dir: str | None = None,
    progress: bool = False,
) -> RolloutSummary:
    """Run ``config`` with ``policies``; write trajectories to ``out_dir`` when given."""
    writer = TrajectoryWriter(out_dir) if out_dir else None
    try:
        summary, _ = RolloutRunner(config, policies, writer).run(progress=progress)
    finally:
        if writer is not None:
            writer.close()
    return summary

"""vzgym games inside OpenRLHF's one-prompt-one-result rollout model.

OpenRLHF (0.11.2) hands every prompt to one vLLM engine actor, whose
``generate_responses`` runs ``n_samples_per_prompt`` ``execute`` coroutines of
the same prompt concurrently (``asyncio.gather``) and returns their result
dicts.  vzgym uses that guarantee:

* a prompt is a :class:`~vzgym.trainers.openrlhf.dataset.GameRow` (one game seed);
* the ``n`` executions of a row join one :class:`_RowGroup` (keyed by the row, in
  this engine process); the first one starts it, it plays ``row.group`` copies
  of the game (same seed, independent sampling) through ``llm_engine``, every
  seat included;
* every trainable *seat-turn* of those games is one sample: execution ``k`` of
  the row returns turn ``k`` (prompt tokens + the sampled answer, one action
  range), so all seats' turns are trained and no game is played twice;
* rewards are credited per turn exactly like :mod:`vzgym.rollout.runner`
  (``info["reward_<phase>"]`` else the episode total), then vzgym's advantage
  estimator (per ``(role, phase)``: GRPO, RAE, RLOO ...) runs over the row's
  samples, and its advantage is returned as OpenRLHF's ``reward``.

A spy-game turn is a fresh prompt (system + image + clue log), not a growing
chat, so a seat's turns cannot be one multi-turn sample without training on a
context the model never saw; one sample per turn keeps rollout and training
log-probabilities identical.

This module does not import OpenRLHF at import time (only its VLM helper,
inside :meth:`GameExecutor.tokenize_turn`); :mod:`vzgym.trainers.openrlhf.agent`
binds it to ``AgentExecutorBase``.
"""

from __future__ import annotations

import asyncio
import copy as _copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from vzgym.core.credit import credit_reward, true_role
from vzgym.trainers.openrlhf.dataset import GameRow

logger = logging.getLogger(__name__)

#: How many copies beyond ``row.group`` a row may play to fill its samples.
MAX_EXTRA_COPY_FACTOR = 4


class PromptTooLongError(ValueError):
    """A seat's prompt leaves no room to answer within ``max_length`` (raise --data.max_len)."""


@dataclass
class TurnRecord:
    """One seat-turn as played: tokens, images, the answer and its credited reward.

    Attributes:
        copy: the game copy within the row's group (0-based).
        step: the env step the turn belongs to.
        agent: the agent id (``"player_2"``).
        role: the agent's true role (filled in when the game ends).
        phase, round: the observation's phase and round.
        prompt_ids: the prompt tokens (image placeholders expanded, as trained).
        action_ids: the sampled tokens, as the engine returned them.
        logprobs: rollout log-probabilities of ``action_ids`` (None when not requested).
        text: the action given to the env (``action_ids`` decoded without special tokens).
        finish_reason: the engine's finish reason (``"stop"``, ``"length"``).
        mm_train_inputs: the processor's image tensors for training (None without images).
        num_images: images in the prompt.
        reward: the per-turn reward credited like vzgym's runner.
    """

    copy: int
    step: int
    agent: str
    role: str
    phase: str
    round: int
    prompt_ids: list[int]
    action_ids: list[int]
    logprobs: list[float] | None
    text: str
    finish_reason: str
    mm_train_inputs: dict[str, Any] | None
    num_images: int
    reward: float = 0.0


@dataclass
class GameRecord:
    """A finished game copy: its turns, totals, final infos and status (``ok``/``failed:*``)."""

    copy: int
    turns: list[TurnRecord] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "running"

    @property
    def summary(self) -> dict[str, Any]:
        """The game summary some envs put in ``info["game"]`` (empty when absent)."""
        for info in self.infos.values():
            if isinstance(info.get("game"), dict):
                return info["game"]
        return {}


def score_of(reward: float) -> float:
    """Map a turn reward to OpenRLHF's ``scores`` in [0, 1]: 1 won, 0.5 even, 0 lost.

    OpenRLHF's dynamic filtering drops a prompt whose mean score is outside
    ``--algo.dynamic_filtering_range`` (default (0, 1)): a row whose every turn
    was won (or lost) is filtered, like an all-correct GRPO group.
    """
    if reward > 0:
        return 1.0
    if reward < 0:
        return 0.0
    return 0.5


@dataclass
class _Context:
    """What the first execution of a row brought: engine, tokenizer, sampling and budget."""

    engine: Any
    tokenizer: Any
    sampling_params: Any
    max_length: int


class _RowGroup:
    """The executions of one row in this process, and the games they share."""

    def __init__(self, key: str, row: GameRow):
        self.key = key
        self.row = row
        self.members = 0
        self.task: asyncio.Future[list[dict[str, Any]]] | None = None

    @property
    def full(self) -> bool:
        return self.members >= self.row.samples

    def join(self) -> int:
        index = self.members
        self.members += 1
        return index


class GameExecutor:
    """Plays vzgym games for OpenRLHF; see the module docstring for the design.

    One instance lives in each vLLM engine actor (OpenRLHF builds it with no
    arguments).  Its state: the open row groups and the advantage estimators
    (RAE keeps an EMA baseline per ``(role, phase)`` here, per engine process).
    """

    def __init__(self) -> None:
        self._open: dict[str, _RowGroup] = {}
        self._estimators: dict[str, Any] = {}
        #: Statistics since start: rows, games, turns played, turns returned, turns discarded.
        self.stats: dict[str, int] = {
            "rows": 0,
            "games": 0,
            "turns": 0,
            "returned": 0,
            "discarded": 0,
        }

    # -- hooks (tests and subclasses override) --------------------------------

    def make_env(self, row: GameRow) -> Any:
        """Build one env of ``row`` (``vzgym.make``)."""
        from vzgym.registration import make

        return make(row.env_id, **row.env_kwargs)

    def facts(self, row: GameRow) -> Any:
        """The :class:`~vzgym.core.facts.GameFacts` of ``row``'s game (its stats are logged)."""
        from vzgym.registration import facts_of

        return facts_of(row.env_id)

    def estimator(self, row: GameRow, phase: str = "*") -> Any:
        """The vzgym estimator for ``phase`` turns of ``row`` (cached: RAE's EMA persists).

        None means raw rewards (``"none"``/``"raw"``).
        """
        name, options = row.estimator_for(phase)
        if name in ("none", "raw"):
            return None
        key = json.dumps([name, options], sort_keys=True)
        if key not in self._estimators:
            from vzgym.trainers.advantages import get_estimator

            self._estimators[key] = get_estimator(name, **options)
        return self._estimators[key]

    # -- OpenRLHF entry point ---------------------------------------------------

    async def execute(
        self,
        prompt: str,
        label: Any,
        sampling_params: Any,
        max_length: int,
        hf_tokenizer: Any,
        llm_engine: Any,
        images: Any = None,
    ) -> dict[str, Any]:
        """Return one seat-turn of the row's games as OpenRLHF's result dict.

        The first execution of a row (in this process) starts its games; the
        row's other executions join them.  Every execution awaits the games,
        then takes its own turn.  Joining happens before the first ``await``,
        so all ``n_samples_per_prompt`` executions of one ``generate_responses``
        call land in the same group.
        """
        row = GameRow.from_prompt(prompt)
        key = row.to_prompt()
        group = self._open.get(key)
        if group is None or group.full or group.task is None or group.task.done():
            group = _RowGroup(key, row)
            self._open[key] = group
        index = group.join()
        if group.task is None:
            ctx = _Context(llm_engine, hf_tokenizer, sampling_params, int(max_length))
            group.task = asyncio.ensure_future(self._run_group(group, ctx))
        if group.full and self._open.get(key) is group:
            del self._open[key]
        results = await asyncio.shield(group.task)
        result = dict(results[index])
        result["prompt"], result["label"], result["images"] = prompt, label, images
        return result

    # -- the games ----------------------------------------------------------------

    async def _run_group(self, group: _RowGroup, ctx: _Context) -> list[dict[str, Any]]:
        try:
            return await asyncio.wait_for(self._play_group(group, ctx), group.row.timeout_s)
        finally:
            if self._open.get(group.key) is group:
                del self._open[group.key]

    async def _play_group(self, group: _RowGroup, ctx: _Context) -> list[dict[str, Any]]:
        row = group.row
        # Yield once so every execution of this generate_responses call has joined.
        await asyncio.sleep(0)
        self.stats["rows"] += 1
        games = await self._play_copies(row, ctx, range(row.group))
        pool = self._pool(row, games)
        limit = row.group * MAX_EXTRA_COPY_FACTOR
        while len(pool) < group.members:
            if len(games) >= row.group + limit:
                raise RuntimeError(
                    f"row seed={row.seed}: {group.members} samples wanted but {len(games)} games "
                    f"gave only {len(pool)} trainable turns (is --rollout.n_samples_per_prompt "
                    f"= group x turns per game?)"
                )
            missing = group.members - len(pool)
            per_game = max(1, len(pool) // max(1, len(games)))
            more = min(limit, max(1, -(-missing // per_game)))
            games += await self._play_copies(row, ctx, range(len(games), len(games) + more))
            pool = self._pool(row, games)
        chosen = pool[: group.members]
        discarded = len(pool) - len(chosen)
        self.stats["returned"] += len(chosen)
        self.stats["discarded"] += discarded
        advantages = self._advantages(row, chosen)
        by_copy = {g.copy: g for g in games}
        return [
            self._result(
                turn,
                adv,
                by_copy[turn.copy],
                facts=self.facts(row),
                n_games=len(games),
                pool=len(pool),
                discarded=discarded,
            )
            for turn, adv in zip(chosen, advantages, strict=True)
        ]

    def _pool(self, row: GameRow, games: list[GameRecord]) -> list[TurnRecord]:
        """Trainable turns of finished games: the row's roles, rewards not marked invalid."""
        pool: list[TurnRecord] = []
        for game in games:
            if game.status != "ok":
                continue
            for turn in game.turns:
                if game.infos.get(turn.agent, {}).get("reward_valid", True) is False:
                    continue  # the reward rests on an infrastructure failure
                if row.roles is None or turn.role in row.roles:
                    pool.append(turn)
        return pool

    async def _play_copies(self, row: GameRow, ctx: _Context, copies: range) -> list[GameRecord]:
        envs = []
        shared: dict[str, Any] | None = None
        first_obs = []
        for _ in copies:
            env = self.make_env(row)
            obs, _ = env.reset(seed=row.seed, options=shared)
            if shared is None:
                shared = env.shared_reset_options() or None
            envs.append(env)
            first_obs.append(obs)
        try:
            return list(
                await asyncio.gather(
                    *(
                        self._play_game(row, ctx, env, obs, c)
                        for env, obs, c in zip(envs, first_obs, copies, strict=True)
                    )
                )
            )
        finally:
            for env in envs:
                env.close()

    async def _play_game(
        self, row: GameRow, ctx: _Context, env: Any, obs: dict[str, Any], copy: int
    ) -> GameRecord:
        game = GameRecord(copy=copy)
        totals: dict[str, float] = {}
        step = 0
        try:
            while obs:
                agents = list(obs)
                turns = await asyncio.gather(
                    *(self._play_turn(ctx, obs[a], copy=copy, step=step) for a in agents)
                )
                game.turns.extend(turns)
                obs, rewards, _, _, infos = env.step({t.agent: t.text for t in turns})
                for agent, value in rewards.items():
                    totals[agent] = totals.get(agent, 0.0) + float(value)
                game.infos.update(infos)
                step += 1
                if obs and step >= row.max_steps:
                    game.status = "failed:max_steps"
                    break
            else:
                game.status = "ok"
        except PromptTooLongError:
            raise  # a configuration error (--data.max_len): every game would hit it
        except Exception as exc:  # noqa: BLE001 - one failed game must not stop the run
            # (the engine or the env failed on this copy: drop it, more copies are played)
            game.status = f"failed:{type(exc).__name__}"
            self.stats["failed_games"] = self.stats.get("failed_games", 0) + 1
            logger.warning("row seed=%s copy %s failed: %s: %s", row.seed, copy,
                           type(exc).__name__, exc)  # fmt: skip
        game.totals = totals
        self.stats["games"] += 1
        self.stats["turns"] += len(game.turns)
        for turn in game.turns:
            info = game.infos.get(turn.agent, {})
            turn.role = str(info.get("true_role") or turn.role)
            turn.reward = credit_reward(turn.phase, info, totals.get(turn.agent, 0.0))
        return game

    async def _play_turn(self, ctx: _Context, obs: Any, *, copy: int, step: int) -> TurnRecord:
        prompt_ids, mm_inputs, pil_images = self.tokenize_turn(ctx.tokenizer, obs)
        budget = ctx.max_length - len(prompt_ids)
        if budget < 1:
            raise PromptTooLongError(
                f"{obs.agent} ({obs.phase}): the prompt has {len(prompt_ids)} tokens and "
                f"--data.max_len is {ctx.max_length}; raise --data.max_len (VLM prompts are "
                "never cut: that would misalign image tokens and pixel_values)"
            )
        params = _copy.deepcopy(ctx.sampling_params)
        wanted = getattr(params, "max_tokens", None)
        params.max_tokens = budget if wanted is None else min(int(wanted), budget)
        mm_data = {"image": pil_images} if pil_images else None
        output = await ctx.engine.generate(prompt_ids, params, multi_modal_data=mm_data)
        completion = output.outputs[0]
        action_ids = [int(t) for t in completion.token_ids]
        logprobs: list[float] | None = None
        if getattr(params, "logprobs", None) is not None and completion.logprobs is not None:
            logprobs = []
            for tok, entry in zip(action_ids, completion.logprobs, strict=False):
                hit = entry.get(tok) if entry is not None else None
                logprobs.append(float(hit.logprob) if hit is not None else 0.0)
        text = ctx.tokenizer.decode(action_ids, skip_special_tokens=True)
        return TurnRecord(
            copy=copy,
            step=step,
            agent=obs.agent,
            role=true_role(obs),
            phase=obs.phase,
            round=int(obs.round),
            prompt_ids=list(prompt_ids),
            action_ids=action_ids,
            logprobs=logprobs,
            text=text,
            finish_reason=str(completion.finish_reason),
            mm_train_inputs=mm_inputs,
            num_images=len(pil_images),
        )

    def tokenize_turn(self, tokenizer: Any, obs: Any) -> tuple[list[int], Any, list[Any]]:
        """Render an observation with the chat template and tokenize it like OpenRLHF does.

        The prompt string comes from :func:`vzgym.agents.chat.render_prompt` (special
        tokens in game text neutralised); images go through OpenRLHF's own
        ``process_prompt_with_images``, which expands the image placeholders and
        returns the training tensors (``pixel_values``, ``image_grid_thw``).
        Returns ``(token_ids, mm_train_inputs, pil_images)``.
        """
        from vzgym.agents.chat import render_prompt

        text, images = render_prompt(tokenizer, obs)
        if images and hasattr(tokenizer, "image_processor"):
            from openrlhf.utils.vlm_utils import process_prompt_with_images

            ids, mm_inputs, pil = process_prompt_with_images(tokenizer, text, images)
            return list(ids), mm_inputs, list(pil)
        if images:
            raise ValueError(
                f"{obs.agent}'s prompt has {len(images)} image(s) but the model's tokenizer has no "
                "image processor: train a vision-language model"
            )
        ids = tokenizer(text=text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
        return ids.tolist(), None, []

    # -- rewards -------------------------------------------------------------------

    def _advantages(self, row: GameRow, turns: list[TurnRecord]) -> list[float]:
        from vzgym.trainers.advantages import AdvSample

        out = [t.reward for t in turns]
        by_estimator: dict[int, tuple[Any, list[int]]] = {}
        for i, turn in enumerate(turns):
            estimator = self.estimator(row, turn.phase)
            if estimator is not None:
                by_estimator.setdefault(id(estimator), (estimator, []))[1].append(i)
        by_agent = self.facts(row).group_by == "agent"
        for estimator, idx in by_estimator.values():
            samples = [
                AdvSample(
                    reward=turns[i].reward,
                    group_id=0,
                    role=turns[i].role,
                    phase=turns[i].phase,
                    episode_id=turns[i].copy,
                    prompt_key=turns[i].agent if by_agent else "",
                )
                for i in idx
            ]
            for i, adv in zip(idx, estimator.compute(samples), strict=True):
                out[i] = float(adv)
        return out

    def _result(
        self,
        turn: TurnRecord,
        advantage: float,
        game: GameRecord,
        *,
        facts: Any,
        n_games: int,
        pool: int,
        discarded: int,
    ) -> dict[str, Any]:
        prompt_len = len(turn.prompt_ids)
        tokens = turn.prompt_ids + turn.action_ids
        log_probs = None
        if turn.logprobs is not None:
            log_probs = [0.0] * prompt_len + list(turn.logprobs)
        extra: dict[str, float] = {
            "vzgym/turn_reward": float(turn.reward),
            "vzgym/advantage": float(advantage),
            "vzgym/games_per_row": float(n_games),
            "vzgym/turns_per_row": float(pool),
            "vzgym/discarded_turns": float(discarded),
        }
        for key, value in facts.aggregate([game.summary]).items():
            extra[f"vzgym/{key}"] = value  # the statistics the game declares
        return {
            "mm_train_inputs": turn.mm_train_inputs,
            "observation_tokens": tokens,
            "action_ranges": [(prompt_len, len(tokens))],
            "rollout_log_probs": log_probs,
            "truncated": turn.finish_reason == "length",
            "reward": float(advantage),
            "scores": score_of(turn.reward),
            "extra_logs": extra,
            # Not read by OpenRLHF; kept for logs and tests.
            "vzgym_turn": {
                "copy": turn.copy,
                "step": turn.step,
                "agent": turn.agent,
                "role": turn.role,
                "phase": turn.phase,
                "round": turn.round,
                "text": turn.text,
                "reward": turn.reward,
                "num_images": turn.num_images,
            },
        }

"""vzgym's OpenRLHF agent module against the real OpenRLHF 0.11.2 classes, on CPU.

Needs ``openrlhf`` installed without its GPU dependencies
(``scripts/install-openrlhf-nodeps.sh``).  The engine is
:class:`openrlhf_engine_shim.TransformersEngine` (``tests/openrlhf_engine_shim.py``:
vzgym's tiny model; test support, not product code).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "openrlhf.utils.agent",
    reason="openrlhf is not installed: run scripts/install-openrlhf-nodeps.sh",
)
import torch  # noqa: E402
from openrlhf.utils.agent import (  # noqa: E402
    AgentExecutorBase,
    AgentInstanceBase,
    MultiTurnAgentExecutor,
    SingleTurnAgentExecutor,
)
from openrlhf_engine_shim import (  # noqa: E402
    CompletionOutput,
    Logprob,
    RequestOutput,
    SamplingParams,
    TransformersEngine,
)

from vzgym.agents.base import Completion, Policy  # noqa: E402
from vzgym.agents.hf_policy import check_image_placeholders  # noqa: E402
from vzgym.rollout.runner import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy  # noqa: E402
from vzgym.rollout.writer import TrajectoryWriter  # noqa: E402
from vzgym.trainers.advantages import AdvSample, GroupNorm  # noqa: E402
from vzgym.trainers.openrlhf.dataset import GameRow  # noqa: E402

AGENT_FILE = Path(__file__).resolve().parents[1] / "vzgym" / "trainers" / "openrlhf" / "agent.py"
ENV = "spy-clevr"
SEED = 5
GROUP = 2
TURNS = 11  # 4 players x 2 clue rounds + 3 civilian votes


def _openrlhf_source(module: str) -> Path:
    """The source file of an OpenRLHF module, found without importing its packages."""
    root = Path(importlib.util.find_spec("openrlhf").origin).parent
    return root.joinpath(*module.split(".")[1:]).with_suffix(".py")


def _openrlhf_function(module: str, qualname: str, namespace: dict) -> object:
    """Compile one function of an installed OpenRLHF module from its real source.

    For modules whose top-level imports need Ray/vLLM (absent on CPU machines).
    """
    origin = _openrlhf_source(module)
    tree = ast.parse(origin.read_text())
    parts = qualname.split(".")
    nodes = tree.body
    found = None
    for part in parts:
        found = next(n for n in nodes if getattr(n, "name", None) == part)
        nodes = getattr(found, "body", [])
    code = compile(ast.Module(body=[found], type_ignores=[]), str(origin), "exec")
    exec(code, namespace)
    return namespace[parts[-1]]


def _load_agent_executor_cls():
    """OpenRLHF's own ``_load_agent_executor`` (vllm_engine.py) applied to our agent file."""
    load = _openrlhf_function(
        "openrlhf.trainer.ray.vllm_engine",
        "_load_agent_executor",
        {"AgentExecutorBase": AgentExecutorBase},
    )
    return type(load(str(AGENT_FILE)))


def _process_response():
    """OpenRLHF's own ``SamplesGenerator._process_response_into_experience``."""
    from openrlhf.trainer.ppo_utils.experience import Experience

    fn = _openrlhf_function(
        "openrlhf.trainer.ppo_utils.samples_generator",
        "SamplesGenerator._process_response_into_experience",
        {"torch": torch, "Experience": Experience},
    )
    return lambda response, max_len: fn(None, response, max_len=max_len)


@pytest.fixture(scope="module")
def engine() -> TransformersEngine:
    return TransformersEngine.from_pretrained(seed=11)


class _RecordingExecutorMixin:
    """Wrap every env so the test sees the exact actions each seat sent."""

    def make_env(self, row):
        env = super().make_env(row)
        log = self.actions_log
        copy_index = len(self.envs_made)
        self.envs_made.append(env)
        inner_step = env.step

        def step(actions):
            for agent, text in actions.items():
                log[(copy_index, agent, len([k for k in log if k[:2] == (copy_index, agent)]))] = (
                    text
                )
            return inner_step(actions)

        env.step = step
        return env


def _recording_executor():
    base = _load_agent_executor_cls()
    cls = type("RecordingExecutor", (_RecordingExecutorMixin, base), {})
    ex = cls()
    ex.actions_log = {}
    ex.envs_made = []
    return ex


def _run_row(executor, engine, row: GameRow, n: int, params=None, max_length=2048):
    params = params or SamplingParams(temperature=1.0, max_tokens=24, logprobs=1)
    processor = engine.processor

    async def main():
        # Exactly what RolloutRayActor.generate_responses does for one prompt.
        return await asyncio.gather(
            *[
                executor.execute(
                    prompt=row.to_prompt(),
                    label="",
                    sampling_params=params,
                    max_length=max_length,
                    hf_tokenizer=processor,
                    llm_engine=engine,
                    images=None,
                )
                for _ in range(n)
            ]
        )

    return asyncio.run(main())


@pytest.fixture(scope="module")
def played(engine):
    executor = _recording_executor()
    row = GameRow(env_id=ENV, seed=SEED, group=GROUP, samples=GROUP * TURNS)
    results = _run_row(executor, engine, row, GROUP * TURNS)
    return executor, row, results


# -- the shim honours OpenRLHF's engine contract ----------------------------------------


def test_shim_drives_openrlhf_single_turn_executor_with_images(engine):
    from PIL import Image

    processor = engine.processor
    image = Image.new("RGB", (96, 64), (200, 30, 30))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    prompt = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    params = SamplingParams(temperature=1.0, max_tokens=12, logprobs=1)
    out = asyncio.run(
        SingleTurnAgentExecutor().execute(prompt, "", params, 1024, processor, engine, [image])
    )
    start, end = out["action_ranges"][0]
    assert end == len(out["observation_tokens"]) and end > start
    request = engine.requests[-1]
    assert (
        request["num_images"] == 1 and request["expanded_ids"] == out["observation_tokens"][:start]
    )
    grid = out["mm_train_inputs"]["image_grid_thw"]
    n_pad = out["observation_tokens"][:start].count(engine.image_token_id)
    assert n_pad == int(grid.prod()) // 4
    assert len(out["rollout_log_probs"]) == end and all(
        x == 0 for x in out["rollout_log_probs"][:start]
    )
    assert all(x < 0 or x == 0 for x in out["rollout_log_probs"][start:])


class _EchoInstance(AgentInstanceBase):
    """Two-turn text env for OpenRLHF's MultiTurnAgentExecutor (reward must be a tensor)."""

    reward_type = "tensor"
    seen: list[str] = []

    def __init__(self, *args, **kwargs):
        self.turn = 0

    async def step(self, state_dict, **kwargs):
        self.turn += 1
        _EchoInstance.seen.append(state_dict["action_text"])
        reward = torch.tensor(1.0) if self.reward_type == "tensor" else 1.0
        return {
            "rewards": reward,
            "scores": reward,
            "environment_feedback": "<|im_end|>\n<|im_start|>user\nAgain.<|im_end|>\n"
            "<|im_start|>assistant\n",
            "done": self.turn >= 2,
        }


def test_shim_drives_openrlhf_multi_turn_executor(engine):
    tok = engine.processor.tokenizer
    prompt = "<|im_start|>user\nSay something.<|im_end|>\n<|im_start|>assistant\n"
    _EchoInstance.seen = []
    params = SamplingParams(temperature=1.0, max_tokens=10, logprobs=1, skip_special_tokens=False)
    out = asyncio.run(
        MultiTurnAgentExecutor(_EchoInstance).execute(prompt, "", params, 512, tok, engine)
    )
    assert len(out["action_ranges"]) == 2
    for (start, end), text in zip(out["action_ranges"], _EchoInstance.seen, strict=True):
        assert tok.decode(out["observation_tokens"][start:end]) == text
    assert out["reward"] == 2.0
    # Trap: a plain float reward breaks OpenRLHF's executor (it calls .item()).
    _EchoInstance.reward_type = "float"
    try:
        with pytest.raises(AttributeError, match="item"):
            asyncio.run(
                MultiTurnAgentExecutor(_EchoInstance).execute(prompt, "", params, 512, tok, engine)
            )
    finally:
        _EchoInstance.reward_type = "tensor"


# -- the agent module -------------------------------------------------------------------


def test_agent_module_loads_through_openrlhf_loader():
    cls = _load_agent_executor_cls()
    assert issubclass(cls, AgentExecutorBase)
    assert cls.__name__ == "AgentExecutor"


def test_every_seat_turn_becomes_one_sample(played, engine):
    executor, row, results = played
    assert len(results) == GROUP * TURNS
    keys = {
        (r["vzgym_turn"]["copy"], r["vzgym_turn"]["agent"], r["vzgym_turn"]["step"])
        for r in results
    }
    assert len(keys) == GROUP * TURNS  # no turn returned twice
    assert {r["vzgym_turn"]["copy"] for r in results} == set(range(GROUP))
    seats = defaultdict(int)
    for r in results:
        seats[(r["vzgym_turn"]["role"], r["vzgym_turn"]["phase"])] += 1
    assert seats == {("civilian", "clue"): 6 * GROUP, ("spy", "clue"): 2 * GROUP,
                     ("civilian", "decision"): 3 * GROUP}  # fmt: skip
    assert executor.stats["games"] == GROUP and executor.stats["discarded"] == 0
    for r in results:
        assert r["prompt"] == row.to_prompt() and r["label"] == "" and r["images"] is None


def test_action_ranges_decode_to_what_each_seat_said(played, engine):
    executor, _, results = played
    tok = engine.processor.tokenizer
    per_agent_counter = defaultdict(int)
    by_key = {}
    for r in sorted(results, key=lambda r: (r["vzgym_turn"]["copy"], r["vzgym_turn"]["step"])):
        t = r["vzgym_turn"]
        k = (t["copy"], t["agent"])
        by_key[(t["copy"], t["agent"], per_agent_counter[k])] = r
        per_agent_counter[k] += 1
    assert set(by_key) == set(executor.actions_log)
    for key, r in by_key.items():
        ((start, end),) = r["action_ranges"]
        said = executor.actions_log[key]
        assert tok.decode(r["observation_tokens"][start:end], skip_special_tokens=True) == said
        assert r["vzgym_turn"]["text"] == said
        assert end == len(r["observation_tokens"])


def test_images_align_with_placeholder_tokens(played, engine):
    _, _, results = played
    config = engine.model.config
    for r in results:
        start, _ = r["action_ranges"][0]
        prompt = torch.tensor([r["observation_tokens"][:start]])
        inputs = {"input_ids": prompt, **r["mm_train_inputs"]}
        check_image_placeholders(
            inputs,
            [r["vzgym_turn"]["num_images"]],
            image_token_id=config.image_token_id,
            vision_start_token_id=config.vision_start_token_id,
            merge_size=engine.processor.image_processor.merge_size,
        )
        assert r["vzgym_turn"]["num_images"] == 1
    # The engine collapsed and re-expanded every prompt to exactly the trained ids.
    assert all(
        q["expanded_ids"] == q["prompt_token_ids"] for q in engine.requests if q["num_images"]
    )


def test_results_convert_to_openrlhf_experiences(played):
    _, _, results = played
    process = _process_response()
    for r in results:
        exp = process(r, 2048)
        start, end = r["action_ranges"][0]
        assert exp.sequences.shape == (1, end)
        assert int(exp.action_mask.sum()) == end - start
        assert exp.rollout_log_probs.shape == exp.action_mask.shape
        assert float(exp.rewards[0]) == pytest.approx(r["reward"])
        assert 0.0 <= float(exp.scores[0]) <= 1.0
        assert set(exp.info) >= {"reward", "score", "vzgym/turn_reward"}


class _ReplayPolicy(Policy):
    """Answers each agent with what it said in the executor's game, in order."""

    name = "replay"

    def __init__(self, said: dict[tuple[str, int], str]):
        self.said = said
        self.count: dict[str, int] = defaultdict(int)

    def generate(self, observations, sampling=None):
        out = []
        for obs in observations:
            k = self.count[obs.agent]
            self.count[obs.agent] += 1
            out.append([Completion(text=self.said[(obs.agent, k)])])
        return out


def test_rewards_match_the_local_runner(played, tmp_path):
    executor, row, results = played
    for copy_index in range(GROUP):
        said = {(a, k): text for (c, a, k), text in executor.actions_log.items() if c == copy_index}
        config = RolloutConfig(env_id=ENV, games=1, group=1, seed=row.seed)
        writer = TrajectoryWriter(tmp_path / f"copy{copy_index}")
        runner = RolloutRunner(config, PolicyMap(SeatPolicy("replay", _ReplayPolicy(said))), writer)
        _, episodes = runner.run()
        rows = runner.records(episodes[0])
        writer.close()
        local = {(r["agent"], r["turn"]): r["reward"] for r in rows}
        ours = {
            (r["vzgym_turn"]["agent"], r["vzgym_turn"]["step"]): r["extra_logs"][
                "vzgym/turn_reward"
            ]
            for r in results
            if r["vzgym_turn"]["copy"] == copy_index
        }
        assert ours == pytest.approx(local) and len(ours) == TURNS
        roles = {(r["agent"], r["turn"]): r["role"] for r in rows}
        assert roles == {
            (r["vzgym_turn"]["agent"], r["vzgym_turn"]["step"]): r["vzgym_turn"]["role"]
            for r in results
            if r["vzgym_turn"]["copy"] == copy_index
        }


# -- rewards, advantages, groups ---------------------------------------------------------


class ScriptedTokenEngine:
    """An engine answering with random well-formed clues/votes (varied rewards, no model)."""

    ANSWERS = (
        "\\boxed{a red cube}",
        "\\boxed{2}",
        "\\boxed{3}",
        "\\boxed{1}",
        "\\boxed{N/A}",
        "hmm",
    )

    def __init__(self, tokenizer, seed=0):
        self.tok = tokenizer
        self.rng = random.Random(seed)
        self.end = tokenizer.convert_tokens_to_ids("<|im_end|>")

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        await asyncio.sleep(0)
        text = self.rng.choice(self.ANSWERS)
        ids = self.tok(text, add_special_tokens=False)["input_ids"] + [self.end]
        lps = [{t: Logprob(-0.5)} for t in ids] if sampling_params.logprobs is not None else None
        out = CompletionOutput(0, text, ids, None, lps, "stop")
        return RequestOutput("scripted", None, list(prompt_token_ids), [out])


def _scripted_run(engine, row, n, seed=0, executor=None):
    executor = executor or _load_agent_executor_cls()()
    scripted = ScriptedTokenEngine(engine.processor.tokenizer, seed=seed)
    scripted.processor = engine.processor
    return executor, _run_row(executor, scripted, row, n)


def test_advantages_are_vzgym_group_norm_per_role_and_phase(engine):
    row = GameRow(env_id=ENV, seed=2, group=4, samples=4 * TURNS)
    _, results = _scripted_run(engine, row, 4 * TURNS, seed=1)
    turns = [r["vzgym_turn"] for r in results]
    expected = GroupNorm().compute(
        [AdvSample(reward=t["reward"], group_id=0, role=t["role"], phase=t["phase"]) for t in turns]
    )
    got = np.array([r["reward"] for r in results])
    assert got == pytest.approx(expected)
    assert np.ptp(got) > 0  # the scripted answers gave varied rewards
    assert abs(got.sum()) < 1e-9
    # OpenRLHF's group_norm over the prompt's samples is then only a positive rescaling.
    source = _openrlhf_source("openrlhf.trainer.ppo_utils.experience_maker")
    assert (
        "rewards = (rewards - rewards.mean(-1, keepdim=True)) / (rewards.std(-1, keepdim=True)"
        in (source.read_text())
    )
    rewards = torch.tensor(got)
    after = (rewards - rewards.mean()) / (rewards.std() + 1e-9)
    ratio = after / torch.where(rewards == 0, torch.ones_like(rewards), rewards)
    nonzero = rewards.abs() > 1e-12
    assert torch.allclose(ratio[nonzero], ratio[nonzero][0].expand(int(nonzero.sum())))
    for r in results:
        assert 0.0 <= r["scores"] <= 1.0
        assert r["scores"] == (1.0 if r["vzgym_turn"]["reward"] > 0 else
                               0.0 if r["vzgym_turn"]["reward"] < 0 else 0.5)  # fmt: skip


def test_rae_baseline_persists_across_rows_in_one_engine(engine):
    executor = _load_agent_executor_cls()()
    rows = [
        GameRow(env_id=ENV, seed=s, group=2, samples=2 * TURNS, advantage="rae") for s in (7, 8)
    ]
    _, first = _scripted_run(engine, rows[0], 2 * TURNS, seed=3, executor=executor)
    raw = [r["vzgym_turn"]["reward"] for r in first]
    # First batch: baseline = the batch mean per (role, phase).
    means = defaultdict(list)
    for r in first:
        means[(r["vzgym_turn"]["role"], r["vzgym_turn"]["phase"])].append(r["vzgym_turn"]["reward"])
    for r, x in zip(first, raw, strict=True):
        key = (r["vzgym_turn"]["role"], r["vzgym_turn"]["phase"])
        assert r["reward"] == pytest.approx(x - np.mean(means[key]))
    estimator = executor.estimator(rows[1])
    baseline = estimator.baseline("civilian", "decision")
    assert baseline is not None
    _, second = _scripted_run(engine, rows[1], 2 * TURNS, seed=4, executor=executor)
    for r in second:
        t = r["vzgym_turn"]
        if (t["role"], t["phase"]) == ("civilian", "decision"):
            assert r["reward"] == pytest.approx(t["reward"] - baseline)


def test_more_samples_than_turns_plays_extra_copies_and_fewer_discards(engine):
    row = GameRow(env_id=ENV, seed=9, group=1, samples=TURNS + 3)
    executor, results = _scripted_run(engine, row, TURNS + 3)
    assert len(results) == TURNS + 3 and executor.stats["games"] == 2
    assert executor.stats["discarded"] == TURNS - 3
    row = GameRow(env_id=ENV, seed=9, group=1, samples=TURNS)
    executor, results = _scripted_run(engine, row, 5)
    assert len(results) == 5 and executor.stats["discarded"] == TURNS - 5


def test_trainable_roles_filter_and_concurrent_rows(engine):
    executor = _load_agent_executor_cls()()
    scripted = ScriptedTokenEngine(engine.processor.tokenizer, seed=5)
    rows = [GameRow(env_id=ENV, seed=s, group=2, samples=4, roles=["spy"]) for s in (1, 2)]
    params = SamplingParams(max_tokens=16)

    async def main():
        calls = [
            executor.execute(row.to_prompt(), "", params, 2048, engine.processor, scripted)
            for row in rows
            for _ in range(row.samples)
        ]
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert [r["vzgym_turn"]["role"] for r in results] == ["spy"] * 8
    assert [r["prompt"] for r in results] == [rows[0].to_prompt()] * 4 + [rows[1].to_prompt()] * 4
    assert all(r["rollout_log_probs"] is None for r in results)  # logprobs not requested
    assert executor.stats["rows"] == 2 and executor._open == {}


def test_prompt_too_long_fails_loudly(engine):
    from vzgym.trainers.openrlhf.executor import PromptTooLongError

    row = GameRow(env_id=ENV, seed=1, group=1, samples=TURNS)
    with pytest.raises(PromptTooLongError, match="max_len"):
        _run_row(_load_agent_executor_cls()(), engine, row, 2, max_length=64)


def test_non_row_prompt_is_rejected(engine):
    from vzgym.trainers.openrlhf.dataset import RowFormatError

    ex = _load_agent_executor_cls()()
    with pytest.raises(RowFormatError, match="apply_chat_template"):
        asyncio.run(ex.execute("<|im_start|>user\nhi", "", SamplingParams(), 64, None, engine))


def test_per_phase_estimators(engine):
    row = GameRow(
        env_id=ENV,
        seed=3,
        group=2,
        samples=2 * TURNS,
        advantage={"clue": "rae", "*": "group_norm"},
        advantage_options={"rae": {"alpha": 0.9}},
    )
    executor, results = _scripted_run(engine, row, 2 * TURNS, seed=6)
    assert executor.estimator(row, "clue").alpha == 0.9
    votes = [r for r in results if r["vzgym_turn"]["phase"] == "decision"]
    expected = GroupNorm().compute(
        [
            AdvSample(
                reward=r["vzgym_turn"]["reward"], group_id=0, role="civilian", phase="decision"
            )
            for r in votes
        ]
    )
    assert [r["reward"] for r in votes] == pytest.approx(list(expected))


def test_turns_with_invalid_rewards_never_reach_the_pool():
    from vzgym.trainers.openrlhf.executor import GameRecord, TurnRecord

    def turn(agent):
        return TurnRecord(
            0, 0, agent, "proposer", "propose", 0, [1], [2], None, "x", "stop", None, 0
        )

    game = GameRecord(
        0,
        turns=[turn("proposer_0"), turn("proposer_1"), turn("proposer_2")],
        infos={"proposer_0": {"reward_valid": False}, "proposer_1": {"reward_valid": True}},
        status="ok",
    )
    row = GameRow(env_id="svg-propose", seed=0, group=1, samples=2)
    pool = _load_agent_executor_cls()()._pool(row, [game])
    assert [t.agent for t in pool] == ["proposer_1", "proposer_2"]


def test_a_failed_game_is_dropped_and_replaced(engine):
    class FlakyEngine(ScriptedTokenEngine):
        """Fails the 5th request (one game copy), answers everything else."""

        calls = 0

        async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
            type(self).calls += 1
            if type(self).calls == 5:
                raise RuntimeError("engine hiccup")
            return await super().generate(prompt_token_ids, sampling_params, multi_modal_data)

    flaky = FlakyEngine(engine.processor.tokenizer, seed=3)
    flaky.processor = engine.processor
    executor = _load_agent_executor_cls()()
    row = GameRow(env_id=ENV, seed=4, group=2, samples=2 * TURNS)
    results = _run_row(executor, flaky, row, 2 * TURNS)
    assert len(results) == 2 * TURNS
    assert executor.stats["failed_games"] == 1 and executor.stats["games"] >= 3
    copies = {r["vzgym_turn"]["copy"] for r in results}
    assert len(copies) == 2  # two complete games, the failed copy left out


def test_extra_logs_carry_the_stats_the_game_declares(played):
    from vzgym.registration import facts_of

    _, _, results = played
    declared = {f"vzgym/{s.key}" for s in facts_of(ENV).stats}
    assert declared  # the spy game declares its statistics
    for r in results:
        assert declared <= set(r["extra_logs"])
        assert all(0.0 <= r["extra_logs"][k] <= 1.0 for k in declared)  # all are rates

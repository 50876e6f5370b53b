import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import datasets
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vzgym.agents.base import Completion, Policy, SamplingParams
from vzgym.agents.scripted import ScriptedSpyPolicy
from vzgym.rollout import (
    PolicyMap,
    RolloutConfig,
    RolloutRunner,
    SeatPolicy,
    TrajectoryWriter,
    read_trajectories,
    run_rollouts,
)


class CountingPolicy(Policy):
    """Records the size of every batch it is asked for, answers like the scripted bot."""

    def __init__(self):
        self.calls = []
        self.inner = ScriptedSpyPolicy()

    def generate(self, observations, sampling=None):
        self.calls.append(len(observations))
        out = self.inner.generate(observations, sampling)
        return [[Completion(c[0].text, token_ids=[1, 2], logprobs=[-0.1, -0.2])] for c in out]


def test_one_batched_call_per_policy_per_tick(tmp_path):
    policy = CountingPolicy()
    config = RolloutConfig("spy-clevr", {"num_players": 4, "clue_rounds": 2}, games=3, group=2)
    summary = run_rollouts(config, PolicyMap(SeatPolicy("p", policy)), str(tmp_path))
    # 8 clue ticks with one speaker in each of the 6 episodes, then one vote tick of 3 voters
    assert policy.calls == [6] * 8 + [18]
    assert summary.episodes == 6 and summary.turns == 6 * 8 + 18
    assert summary.generated_tokens == 2 * summary.turns


def test_group_copies_share_images_and_seeds(tmp_path):
    config = RolloutConfig("spy-clevr", games=2, group=3, seed=10)
    runner = RolloutRunner(config, PolicyMap(SeatPolicy("s", ScriptedSpyPolicy())))
    _, episodes = runner.run()
    for game in range(2):
        copies = [ep for ep in episodes if ep.group_id == game]
        assert {ep.seed for ep in copies} == {10 + game}
        assert len({id(ep.env._pair) for ep in copies}) == 1  # made once per group
        assert len({ep.env.spy_seat for ep in copies}) == 1


def test_trajectory_records(tmp_path):
    config = RolloutConfig("spy-clevr", games=2, group=2)
    run_rollouts(config, PolicyMap(SeatPolicy("s", CountingPolicy())), str(tmp_path))
    ds = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "trajectories" / "*.parquet"), split="train"
    )
    assert len(ds) == 4 * 11
    row = ds[0]
    assert row["env_id"] == "spy-clevr" and row["token_ids"] == [1, 2]
    messages = json.loads(row["prompt"])
    image_ref = messages[1]["content"][0]["image"]
    assert image_ref in row["images"]
    assert Image.open(tmp_path / image_ref).size == (480, 320)
    assert len(list((tmp_path / "images").glob("*.png"))) == 4  # 2 games x (original, edited)
    for r in ds:
        info = json.loads(r["info"])
        key = f"reward_{r['phase']}"
        assert r["reward"] == pytest.approx(info[key])
        assert r["role"] in ("spy", "civilian")
    decision = [r for r in ds if r["phase"] == "decision"]
    assert all(r["role"] == "civilian" for r in decision)


def test_frozen_roles_are_not_trainable(tmp_path):
    bot = ScriptedSpyPolicy()
    policies = PolicyMap(SeatPolicy("s", bot), {"spy": SeatPolicy("frozen", bot, trainable=False)})
    run_rollouts(RolloutConfig("spy-clevr", games=1, group=2), policies, str(tmp_path))
    table = read_trajectories(tmp_path).to_pylist()
    assert {r["trainable"] for r in table if r["role"] == "spy"} == {False}
    assert {r["trainable"] for r in table if r["role"] == "civilian"} == {True}


def test_a_failed_game_does_not_stop_the_batch(tmp_path):
    class FailSomeGames(Policy):
        def generate(self, observations, sampling=None):
            return [
                [Completion("", finish_reason="error", meta={"error": "prompt_too_long"})]
                if obs.private.get("true_role") == "spy" and obs.extra["seat"] % 2 == 1
                else [Completion("\\boxed{1}")]
                for obs in observations
            ]

    summary = run_rollouts(
        RolloutConfig("spy-clevr", games=6, group=1),
        PolicyMap(SeatPolicy("f", FailSomeGames())),
        str(tmp_path),
    )
    rows = read_trajectories(tmp_path).to_pylist()
    failed = {r["episode_id"] for r in rows if r["episode_status"] == "failed:prompt_too_long"}
    assert summary.failed_episodes == len(failed) >= 1
    assert summary.episodes - summary.failed_episodes >= 1
    assert all(not r["trainable"] for r in rows if r["episode_id"] in failed)


def test_turns_with_invalid_rewards_are_not_trainable(tmp_path):
    from vzgym.agents.scripted_svg import ScriptedProposer
    from vzgym.rollout.seating import PolicyCall

    class CodegenDown(Policy):
        """A codegen whose server is down: every call fails."""

        def generate(self, observations, sampling=None):
            raise ConnectionError("codegen server down")

    config = RolloutConfig(
        "svg-propose",
        {"num_proposals": 2, "codegen_call": PolicyCall(CodegenDown())},
        games=1,
        group=1,
    )
    run_rollouts(config, PolicyMap(SeatPolicy("p", ScriptedProposer())), str(tmp_path))
    rows = read_trajectories(tmp_path).to_pylist()
    assert len(rows) == 2 and {r["episode_status"] for r in rows} == {"ok"}
    assert all(json.loads(r["info"])["reward_valid"] is False for r in rows)
    assert not any(r["trainable"] for r in rows)


def test_writer_shards_are_atomic_and_survive_kill_9(tmp_path):
    script = textwrap.dedent(
        f"""
        import time
        from vzgym.rollout.writer import TrajectoryWriter
        w = TrajectoryWriter({str(tmp_path)!r}, shard_rows=5)
        row = dict(env_id="x", seed=0, group_id=0, episode_id=0, copy=0, turn=0, agent="a",
                   role="r", shown_role="r", phase="p", round=0, policy="p", trainable=True,
                   prompt="[]", images=[], completion="c" * 20000, token_ids=list(range(3000)),
                   logprobs=[0.0] * 3000, prompt_token_ids=[], finish_reason="stop", reward=1.0,
                   episode_reward=1.0, episode_status="ok", info="{{}}")
        i = 0
        while True:
            w.add([dict(row, episode_id=i)])
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while len(list((tmp_path / "trajectories").glob("part-*.parquet"))) < 3:
        assert time.time() < deadline, "writer produced no shards"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shards = sorted((tmp_path / "trajectories").glob("part-*.parquet"))
    for shard in shards:
        assert pq.read_table(shard).num_rows == 5  # every visible shard is whole
    ids = read_trajectories(tmp_path).column("episode_id").to_pylist()
    assert ids == list(range(len(ids)))  # nothing lost or duplicated before the last shard
    # a new writer continues the numbering and never overwrites
    w = TrajectoryWriter(tmp_path, shard_rows=100)
    assert w._next_shard == len(shards) or w._next_shard > int(shards[-1].stem.split("-")[1])


def test_sampling_n_is_forced_to_one_per_seat(tmp_path):
    seen = []

    class Spy(Policy):
        def generate(self, observations, sampling=None):
            seen.append(sampling.n)
            return [[Completion("\\boxed{1}")] for _ in observations]

    run_rollouts(
        RolloutConfig("spy-clevr", games=1, group=2, sampling=SamplingParams(n=4)),
        PolicyMap(SeatPolicy("s", Spy())),
    )
    assert set(seen) == {1}


def test_cli_rollout(tmp_path, vzgym_cli):
    out = vzgym_cli(
        "rollout",
        "--env",
        "spy-clevr",
        "--policy",
        "scripted",
        "--games",
        "2",
        "--group",
        "2",
        "--out",
        str(tmp_path),
        "--no-progress",
    ).stdout
    assert "games 2, episodes 4" in out and "spy_found: " in out
    assert "(the votes singled out the spy)" in out  # the declared stat, described
    assert len(read_trajectories(tmp_path)) == 4 * 11


def _row(**overrides):
    row = {
        "env_id": "e", "seed": 0, "group_id": 0, "episode_id": 0, "copy": 0, "turn": 0,
        "agent": "a", "role": "r", "shown_role": "r", "phase": "p", "round": 0, "policy": "x",
        "trainable": True, "prompt": "[]", "images": [], "completion": "c", "token_ids": [1],
        "logprobs": [-0.5], "prompt_token_ids": [2], "finish_reason": "stop", "reward": 1.0,
        "episode_reward": 1.0, "episode_status": "ok", "info": "{}",
    }  # fmt: skip
    row.update(overrides)
    return row


def test_writer_cleans_strings_and_rejects_bad_rows_without_losing_others(tmp_path):
    writer = TrajectoryWriter(tmp_path)
    writer.add([_row(completion="half an emoji \ud83d", info='{"x": "\udc80"}')])
    with pytest.raises(ValueError, match="TURN_SCHEMA"):
        writer.add([_row(turn=1), _row(turn=2, token_ids=["not an id"])])
    writer.add([_row(turn=3)])
    writer.close()
    rows = read_trajectories(tmp_path).to_pylist()
    assert [r["turn"] for r in rows] == [0, 3]  # the bad call added nothing, the rest is kept
    assert rows[0]["completion"] == "half an emoji \ufffd"
    assert json.loads(rows[0]["info"]) == {"x": "\ufffd"}


def test_writer_images_palette_modes_and_unstorable(tmp_path):
    writer = TrajectoryWriter(tmp_path)
    red, blue = Image.new("P", (4, 4), 0), Image.new("P", (4, 4), 0)
    red.putpalette([255, 0, 0] * 256)
    blue.putpalette([0, 0, 255] * 256)
    ref_red, ref_blue = writer.image_ref(red), writer.image_ref(blue)
    assert ref_red != ref_blue  # same pixel indices, different palettes
    with Image.open(tmp_path / ref_blue) as img:
        assert img.convert("RGB").getpixel((0, 0)) == (0, 0, 255)
    for mode in ("CMYK", "F", "YCbCr"):
        ref = writer.image_ref(Image.new(mode, (3, 2)))
        assert ref is not None and (tmp_path / ref).exists()
    assert writer.image_ref(Image.new("RGB", (0, 0))) is None and writer.images_failed == 1
    prompt, refs = writer.prompt_json(
        [{"role": "user", "content": [{"image": Image.new("RGB", (0, 0))}, {"text": "hi"}]}]
    )
    assert refs == [""] and json.loads(prompt)[0]["content"][0] == {"type": "image", "image": ""}


def test_turn_whose_image_could_not_be_stored_is_not_trainable(tmp_path):
    class AnswerA(Policy):
        def generate(self, observations, sampling=None):
            return [[Completion("A", token_ids=[1], logprobs=[-0.1])] for _ in observations]

    policy = AnswerA()
    summary = run_rollouts(
        RolloutConfig("toy-color", {"size": 0}, games=2, group=1),
        PolicyMap(SeatPolicy("s", policy)),
        str(tmp_path),
    )
    rows = read_trajectories(tmp_path).to_pylist()
    assert summary.failed_episodes == 0 and len(rows) == 2
    assert all(r["images"] == [""] and not r["trainable"] for r in rows)


def test_seating_frozen_roles_and_star():
    from vzgym.rollout.seating import build_policy_map

    spy = ScriptedSpyPolicy()
    seats = build_policy_map("spy-clevr", ScriptedSpyPolicy(), {"spy": spy}, frozen=["*"])
    assert not seats.default.trainable and not seats.by_role["spy"].trainable
    seats = build_policy_map("spy-clevr", ScriptedSpyPolicy(), {"spy": spy}, frozen=["civilian"])
    assert seats.default.trainable and seats.by_role["spy"].trainable
    assert not seats.by_role["civilian"].trainable

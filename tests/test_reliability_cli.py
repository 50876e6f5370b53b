"""The CLI's failure classes, each replayed as a user meets them: one ``Error:`` line, the
right exit code, and nothing written, lost or silently duplicated."""

import pytest
from conftest import run_vzgym

from vzgym.rollout.writer import read_trajectories, shard_paths

pytestmark = pytest.mark.reliability

ROLLOUT = ["rollout", "--env", "spy-clevr", "--policy", "scripted", "--games", "2",
           "--group", "2", "--no-progress"]  # fmt: skip


def _error_line(proc, code=1):
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("Error:")][0]


def test_rollout_into_a_used_out_refuses_or_appends_fresh_seeds(tmp_path):
    out = tmp_path / "out"
    run_vzgym(*ROLLOUT, "--out", str(out))
    shards = shard_paths(out)
    again = run_vzgym(*ROLLOUT, "--out", str(out), check=False)
    assert "already holds trajectories (2 game(s), seeds 0..1)" in _error_line(again)
    assert "--append" in again.stderr and shard_paths(out) == shards  # nothing written
    run_vzgym(*ROLLOUT, "--out", str(out), "--append")
    table = read_trajectories(out).to_pydict()
    episodes = {(s, g, e, c) for s, g, e, c in zip(
        table["seed"], table["group_id"], table["episode_id"], table["copy"])}  # fmt: skip
    assert sorted({s for s, *_ in episodes}) == [0, 1, 2, 3]  # fresh seeds, no game twice
    assert len({e for _, _, e, _ in episodes}) == len(episodes) == 8  # episode ids unique
    assert sorted({g for _, g, _, _ in episodes}) == [0, 1, 2, 3]


def test_append_refuses_reused_seeds(tmp_path):
    out = tmp_path / "out"
    run_vzgym(*ROLLOUT, "--out", str(out), "--seed", "4")  # seeds 4, 5
    clash = run_vzgym(*ROLLOUT, "--out", str(out), "--append", "--seed", "2", check=False)
    assert "seed(s) [4, 5] are already in" in _error_line(clash)  # games 2, 3 -> seeds 4, 5
    assert len(read_trajectories(out).to_pydict()["seed"]) > 0


@pytest.mark.parametrize("command", [["play", "--env", "spy-clevr", "--bots-only"], ROLLOUT])
def test_negative_seeds_are_a_usage_error(tmp_path, command):
    extra = ["--out", str(tmp_path / "o")] if command is ROLLOUT else []
    proc = run_vzgym(*command, *extra, "--seed", "-1", check=False)
    assert "Invalid value for '--seed'" in _error_line(proc, code=2)

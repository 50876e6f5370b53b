"""The CLI's failure classes, each replayed as a user meets them: one ``Error:`` line, the
right exit code, and nothing written, lost or silently duplicated."""

from pathlib import Path

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


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/>'
SVG += "</svg>"


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "latin1.toml").write_bytes(b'[trainer]\nlr = "\xff\xfe"\n')
    (root / "a.svg").write_text(SVG)
    (root / "afile").write_text("not a folder")
    broken = root / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    return root


TOY = ["--env", "toy-color", "--steps", "1", "--set", "trainer.games_per_step=2",
       "--set", "trainer.group_size=2", "--set", "sampling.max_new_tokens=2",
       "--set", "logging.progress=false"]  # fmt: skip


def _cases(root):
    out = str(root / "out")
    return {
        "config not UTF-8": (["train", *TOY, "--config", str(root / "latin1.toml")], "latin1.toml"),
        "full disk": (["render", str(root / "a.svg"), "-o", "/dev/full"], "/dev/full"),
        "unwritable run dir": (["train", *TOY, "--run-dir", "/proc/vzgym-run"], "/proc/vzgym-run"),
        "run dir under a file": (
            ["train", *TOY, "--run-dir", str(root / "afile" / "run")], str(root / "afile")),
        "broken model dir": (
            ["train", *TOY, "--model", str(root / "broken-model"), "--run-dir", str(root / "r1")],
            "broken-model"),
        "out-of-range --set": (
            ["train", "--env", "spy-clevr", "--set", "env.options.num_players=-3",
             "--run-dir", str(root / "r2")], "num_players"),
        "out-of-range -o": (
            ["rollout", "--env", "spy-clevr", "--policy", "scripted", "-o", "num_players=-3",
             "--out", out], "num_players"),
        "missing hf: path": (
            ["rollout", "--env", "toy-color", "--policy", "hf:/nope/model", "--out", out],
            "/nope/model"),
        "play option of the wrong type": (
            ["play", "--env", "spy-clevr", "--bots-only", "-o", "num_players=many"],
            "num_players"),
    }  # fmt: skip


CASES = list(_cases(Path("unused")))


@pytest.mark.parametrize("case", CASES)
def test_every_failure_is_one_error_line_naming_its_cause(bad_inputs, case):
    args, names = _cases(bad_inputs)[case]
    proc = run_vzgym(*args, check=False, timeout=300)
    line = _error_line(proc)
    assert names in line, line
    assert not (bad_inputs / "out").exists()


def test_vzgym_debug_shows_the_traceback(bad_inputs):
    args, _ = _cases(bad_inputs)["config not UTF-8"]
    proc = run_vzgym(*args, check=False, env={"VZGYM_DEBUG": "1"})
    assert (
        proc.returncode == 1 and "Traceback" in proc.stderr and "UnicodeDecodeError" in proc.stderr
    )

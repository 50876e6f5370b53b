"""Installs the example third-party plugin with pip for real, then uses it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_vzgym

EXAMPLE = ROOT / "examples" / "plugin-odd-one-out"


@pytest.fixture(scope="module")
def installed_example():
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", "-q", str(EXAMPLE)],
        check=True,
        capture_output=True,
        text=True,
    )
    yield
    subprocess.run([*pip, "uninstall", "-y", "-q", "vzgym-odd-one-out"], capture_output=True)


def test_envs_lists_the_plugin(installed_example):
    out = run_vzgym("envs").stdout
    assert "odd-one-out" in out and "Example plugin" in out
    plugins = run_vzgym("plugins").stdout
    assert "odd_one_out  0.1.0  hooks: register_envs" in plugins


def test_make_runs_the_plugin_game(installed_example):
    code = """
import vzgym, gymnasium
from vzgym.utils import check_env
env = vzgym.make("odd-one-out", num_tiles=5)
obs, _ = env.reset(seed=4)
odd = obs["player"].private["odd"]
_, rewards, terms, _, _ = env.step({"player": "It is \\\\boxed{%d}" % odd})
assert rewards == {"player": 1.0} and terms == {"player": True}
check_env(vzgym.make("odd-one-out"))
assert gymnasium.make("vzgym/odd-one-out-v0").unwrapped.num_tiles == 4
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_play_the_plugin_game(installed_example, tmp_path):
    proc = run_vzgym(
        "play", "--env", "odd-one-out", "--seed", "2", "--image-dir", str(tmp_path), input="3\n"
    )
    assert "Game over: rewards" in proc.stdout
    assert list(Path(tmp_path).glob("*.png"))


def test_the_plugin_game_trains_and_plots_its_declared_stat(installed_example, tmp_path):
    run = tmp_path / "run"
    run_vzgym(
        "train", "--env", "odd-one-out", "--steps", "1", "--run-dir", str(run),
        "--set", "sampling.max_new_tokens=3", "--set", "trainer.games_per_step=2",
        "--set", "trainer.group_size=2", "--set", "logging.progress=false",
        timeout=600,
    )  # fmt: skip
    (row,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert 0.0 <= row["game/correct"] <= 1.0 and row["phase"] == "all"
    plots = {Path(p).name for p in run_vzgym("plot", str(run)).stdout.split()}
    assert "odd_one_out.png" in plots and "phase.png" not in plots

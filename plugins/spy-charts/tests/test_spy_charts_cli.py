"""The installed plugin through the real ``vzgym`` command: envs, play, train."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VZGYM = shutil.which("vzgym", path=str(Path(sys.executable).parent)) or "vzgym"


def vzgym(*args, timeout=300, stdin=None):
    proc = subprocess.run(
        [VZGYM, *args], capture_output=True, text=True, timeout=timeout, input=stdin,
        env={**os.environ, "VZGYM_LOAD_PLUGINS": "spy_charts"},
    )  # fmt: skip
    assert proc.returncode == 0, f"vzgym {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_envs_and_plugins_list_it():
    assert "spy-charts" in vzgym("envs")
    assert "spy_charts" in vzgym("plugins")


def test_play_with_bots_only_runs_a_game():
    out = vzgym("play", "--env", "spy-charts", "--bots-only", "--seed", "3")
    assert "Game over" in out and "The spy was Player" in out


@pytest.mark.slow
def test_train_runs_with_no_other_argument(tmp_path):
    run = tmp_path / "run"
    vzgym("train", "--env", "spy-charts", "--steps", "1", "--run-dir", str(run), timeout=900)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["step"] == 0 and rows[0]["failed_episodes"] == 0
    assert "game/vote_accuracy" in rows[0]
    assert (run / "final").is_dir()

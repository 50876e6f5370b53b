"""Run dirs written by older vzgym code still resume (config TOML, run-dir checks, options).

The fixtures (``tests/fixtures/runs-cc0b7c8``, see its README) were made by main at
commit cc0b7c8, before the config package, :mod:`vzgym.rundir` and the SVG-world
split; their ``config.toml`` was written by the old hand-made TOML writer and the
SVG run's options use the old batch-size name ``num_items``.
"""

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_vzgym

FIXTURES = Path(__file__).parent / "fixtures" / "runs-cc0b7c8"


@pytest.mark.parametrize("name", ["spy-clevr", "svg-solve"])
def test_a_run_dir_from_older_code_resumes_where_it_stopped(tmp_path, name):
    run = tmp_path / name
    shutil.copytree(FIXTURES / name, run)
    before = (run / "metrics.jsonl").read_text()
    args = ["train", "--config", str(run / "config.toml"), "--run-dir", str(run), "--steps", "2"]
    fresh = run_vzgym(*args, timeout=600, check=False)  # it holds a run: needs --resume
    assert fresh.returncode != 0 and "already holds a run" in fresh.stderr
    done = run_vzgym(*args, "--resume", timeout=900)
    assert "(starting at step 1)" in done.stdout, done.stdout
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1]  # step 0 kept, step 1 added once
    assert (run / "metrics.jsonl").read_text().startswith(before)
    state = json.loads((run / "checkpoints" / "step_000002" / "state.json").read_text())
    assert state["step"] == 2 and state["env"] == name
    assert (run / "final" / "model.safetensors").is_file()
    changed = run_vzgym(*args, "--resume", "--set", "trainer.lr=0.5", timeout=600, check=False)
    assert changed.returncode != 0 and "trainer.lr" in changed.stderr  # the old config is read

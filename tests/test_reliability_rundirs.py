"""Run directories: ``--resume`` only continues an existing run, the newest-run choice skips
dirs without a run, and a failed start leaves the run dir as it found it."""

import os
import time

import pytest
from conftest import run_vzgym

from vzgym.trainers.metrics import read_metrics

pytestmark = pytest.mark.reliability

TOY = ["train", "--env", "toy-color", "--set", "trainer.games_per_step=2",
       "--set", "trainer.group_size=2", "--set", "sampling.max_new_tokens=2",
       "--set", "logging.progress=false"]  # fmt: skip


def _error_line(proc):
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("Error:")][0]


def _tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else None


def test_resume_of_a_missing_run_dir_is_an_error(tmp_path):
    typo = tmp_path / "runs" / "typo"
    line = _error_line(run_vzgym(*TOY, "--resume", "--run-dir", str(typo), check=False))
    assert str(typo) in line and "does not exist" in line
    assert not typo.exists()


def test_resume_of_a_dir_without_a_run_names_what_is_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".vzgym.lock").touch()
    line = _error_line(run_vzgym(*TOY, "--resume", "--run-dir", str(empty), check=False))
    assert "config.toml" in line and str(empty) in line
    assert _tree(empty) == [".vzgym.lock"]


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        (["--model", "/nope/model"], "/nope/model"),
        (["--set", "env.options.bogus=1"], "bogus"),
        (["--set", "env.options.size=-5"], "size"),
        (["--env", "toy-colour"], "toy-colour"),
    ],
)
@pytest.mark.parametrize("state", ["missing", "empty"])
def test_a_failed_start_leaves_the_run_dir_as_it_found_it(tmp_path, extra, names, state):
    run = tmp_path / "run"
    if state == "empty":
        run.mkdir()
    proc = run_vzgym(*TOY, "--steps", "1", "--run-dir", str(run), *extra, check=False)
    assert names in _error_line(proc)
    assert _tree(run) == (None if state == "missing" else [])


def test_failed_starts_leave_no_dirs_and_resume_finds_the_real_newest_run(tmp_path):
    runs = tmp_path / "runs"
    pattern = ["--set", f"logging.run_dir={runs}/{{env}}-{{time}}"]
    run_vzgym(*TOY, *pattern, "--steps", "1", timeout=600)
    (real,) = runs.iterdir()
    time.sleep(1.1)  # a later {time}
    proc = run_vzgym(*TOY, *pattern, "--steps", "1", "--model", "/nope/model", check=False)
    assert "/nope/model" in _error_line(proc)
    assert list(runs.iterdir()) == [real]  # the failed start left nothing behind
    debris = runs / "toy-color-29991231-000000"  # newer, but holds no run
    debris.mkdir()
    (debris / ".vzgym.lock").touch()
    os.utime(debris)
    proc = run_vzgym(*TOY, *pattern, "--steps", "2", "--resume", timeout=600)
    assert f"run dir: {real} (starting at step 1)" in proc.stdout
    assert [r["step"] for r in read_metrics(real)] == [0, 1]

"""spy-edits from the command line: train a step on a folder, plot it, clear errors."""

import json

import pytest
from spy_edits_helpers import IMAGES, run_cli


@pytest.mark.slow
def test_train_one_step_on_a_folder_then_plot(tmp_path):
    run = tmp_path / "run"
    proc = run_cli(
        "train", "--env", "spy-edits", "--set", f"env.options.folder={IMAGES}",
        "--steps", "1", "--run-dir", str(run), "--set", "logging.progress=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows and rows[0]["step"] == 0 and rows[0]["failed_episodes"] == 0
    assert (run / "final").is_dir()
    plots = run_cli("plot", str(run))
    assert plots.returncode == 0, plots.stderr[-3000:]


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_missing_or_empty_folder_is_one_error_line(tmp_path, folder):
    path = tmp_path / "photos"
    if folder == "empty":
        path.mkdir()
    proc = run_cli("play", "--env", "spy-edits", "-o", f"folder={path}", "--bots-only")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("Error:")]
    assert "spy-edits" in line and str(path) in line

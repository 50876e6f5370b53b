"""A plugin game (not a built-in) trains with Iterative-SPO by declaration alone.

The game lives in ``tests/plugin_twostage`` and is found through a real ``vzgym``
entry point (a ``.dist-info`` directory on ``PYTHONPATH``, what ``pip install``
writes).  It declares two stages and switches on statistics no built-in game
names; the trainer must read them from its facts.
"""

import os
from pathlib import Path

import pytest
from conftest import ROOT, run_vzgym

from vzgym.trainers.metrics import read_metrics

PLUGIN_SRC = ROOT / "tests" / "plugin_twostage"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """Environment variables that make ``vzgym`` load the two-stage plugin by entry point."""
    site = tmp_path_factory.mktemp("site")
    info = site / "vzgym_twostage-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vzgym-twostage\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[vzgym]\ntwo_stage = vzgym_twostage.plugin\n")
    path = [str(site), str(PLUGIN_SRC), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p), "VZGYM_LOAD_PLUGINS": "two_stage"}


def _train(run_dir: Path, env: dict, *extra: str) -> list[dict]:
    run_vzgym(
        "train",
        "--env",
        "two-stage",
        "--steps",
        "2",
        "--run-dir",
        str(run_dir),
        "--set",
        "sampling.max_new_tokens=3",
        "--set",
        "trainer.games_per_step=2",
        "--set",
        "trainer.group_size=2",
        "--set",
        "logging.progress=false",
        # switch as soon as one step is measured, whatever the (random) model scored
        "--set",
        "trainer.phase_options.k_min=1",
        "--set",
        "trainer.phase_options.acc_to_clue=0.0",
        "--set",
        "trainer.phase_options.na_to_clue=1.0",
        *extra,
        env=env,
        timeout=900,
    )
    return read_metrics(run_dir)


def test_plugin_game_switches_stage_on_its_declared_stats(plugin_env, tmp_path):
    listed = run_vzgym("envs", env=plugin_env).stdout
    assert "two-stage" in listed

    rows = _train(tmp_path / "on", plugin_env)
    assert [r["phase"] for r in rows] == ["answer", "look"]  # starts in the declared solve stage
    assert {"game/right_rate", "game/abstain_rate"} <= set(rows[0])  # declared stats logged
    assert rows[0]["next_phase"] == "look"
    import torch

    ckpt = sorted((tmp_path / "on" / "checkpoints").glob("step_*"))[-1]
    saved = torch.load(ckpt / "trainer_state.pt", weights_only=False)
    switch = saved["phase_controller"]["switches"][0]
    assert (switch["step"], switch["from"], switch["to"]) == (0, "answer", "look")
    # the EMAs that triggered it are the declared stats of step 0 (first value: unbiased)
    assert switch["acc_ema"] == pytest.approx(rows[0]["game/right_rate"])
    assert switch["na_ema"] == pytest.approx(rows[0]["game/abstain_rate"])
    # the declared stage estimators were used: RAE kept a baseline for the look stage
    assert any(b["phase"] == "look" for e in saved["estimators"].values()
               for b in e.get("baselines", []))  # fmt: skip

    # Control: the same game and thresholds, but it does not report its stats -> no switch.
    quiet = _train(tmp_path / "off", plugin_env, "--set", "env.options.report_stats=false")
    assert [r["phase"] for r in quiet] == ["answer", "answer"]
    assert "game/right_rate" not in quiet[0]

    plots = run_vzgym("plot", str(tmp_path / "on"), env=plugin_env).stdout.split()
    names = {Path(p).name for p in plots}
    assert {"two_stage.png", "phase.png"} <= names  # the game's own panel and the stage panel

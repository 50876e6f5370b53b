"""Evaluation during training: eval/* rows in metrics.jsonl, the plot panel, MM-Zero turns."""

import json

from vzgym.config import load_config
from vzgym.plot import plot_run
from vzgym.trainers.evaluation import evaluate_role_turn
from vzgym.trainers.local import LocalGRPOTrainer
from vzgym.trainers.metrics import read_metrics


def _config(env, *extra):
    return load_config(
        None,
        [
            f"env.id={env}",
            "trainer.steps=2",
            "trainer.games_per_step=1",
            "trainer.group_size=2",
            "sampling.max_new_tokens=6",
            "logging.progress=false",
            *extra,
        ],
    )


def test_eval_rows_in_metrics_and_plot(tmp_path):
    run = tmp_path / "run"
    config = _config("spy-clevr", "trainer.eval_every=2", "eval.games=4")
    trainer = LocalGRPOTrainer(config, run)
    trainer.train()
    rows = read_metrics(run)
    assert [r["step"] for r in rows] == [0, 1]
    assert not any(k.startswith("eval/") for k in rows[0])  # not due after 1 step
    ev = rows[1]
    assert ev["eval/ci_low"] <= ev["eval/win_rate"] <= ev["eval/ci_high"]
    assert ev["eval/results"] == 4 and ev["eval/failed"] == 0
    assert "eval/game/spy_found" in ev and "eval/role/spy/win_rate" in ev
    summary = json.loads((run / "eval" / "step_000002" / "summary.json").read_text())
    assert summary["vs"] == "start" and summary["first_seed"] == 10**12
    assert any(p.name == "eval.png" for p in plot_run(run))
    # MM-Zero's per-turn evaluation: generic over the trainer, logged in the loop's root
    root = tmp_path / "mmzero"
    root.mkdir()
    got = evaluate_role_turn(trainer, config, root, 0, "solver", 2)
    assert 0.0 <= got["eval/solver/win_rate"] <= 1.0
    line = read_metrics(root)[0]
    assert line["step"] == 2 and line["role"] == "solver" and "eval/solver/ci_high" in line


def test_env_without_outcome_skips_eval_and_trains_on(tmp_path, capsys):
    run = tmp_path / "toy"
    trainer = LocalGRPOTrainer(_config("toy-color", "trainer.eval_every=1"), run)
    history = trainer.train()
    assert len(history) == 2
    assert not any(k.startswith("eval/") for r in read_metrics(run) for k in r)
    assert "declares no outcome" in capsys.readouterr().out

"""The committed SVG-world warm starts (models/tiny-svg-codegen, models/tiny-svg-solver).

Greedy play on fixed held-out seeds; the figures are exact for a given torch/transformers
and the thresholds sit well below what the models do (every greedy compact chart renders).
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, run_vzgym

from vzgym.agents.hf_policy import HFPolicy
from vzgym.trainers.imitate_data import EVAL_SEED_BASE
from vzgym.trainers.imitate_eval import evaluate

MODELS = {role: ROOT / "models" / f"tiny-svg-{role}" for role in ("codegen", "solver")}


@pytest.mark.parametrize("role", sorted(MODELS))
def test_the_svg_warm_starts_are_small_tiny_models(role):
    folder = MODELS[role]
    assert sum(f.stat().st_size for f in folder.iterdir()) < 25 * 2**20
    text = json.loads((folder / "config.json").read_text())["text_config"]
    assert (text["hidden_size"], text["num_hidden_layers"]) == (64, 2)
    assert "style=compact" in (folder / "imitate.toml").read_text()


def test_the_warm_codegen_draws_charts_that_render():
    policy = HFPolicy(str(MODELS["codegen"]), device="cpu")
    fig = evaluate(policy, "svg-codegen", {"batch_size": 4}, games=2, max_new_tokens=256,
                   seed_base=EVAL_SEED_BASE + 700_000)  # fmt: skip
    assert fig["game/codegen/render_success"] >= 0.75
    assert fig["game/codegen/format_ok"] >= 0.75


def test_the_warm_solver_answers_in_format():
    policy = HFPolicy(str(MODELS["solver"]), device="cpu")
    fig = evaluate(policy, "svg-solve", {"batch_size": 4, "label_samples": 5}, games=2,
                   max_new_tokens=64, seed_base=EVAL_SEED_BASE + 700_000)  # fmt: skip
    assert fig["game/solve/format_ok"] == 1.0


def test_the_cpu_mm_zero_config_starts_each_role_from_its_warm_start():
    config = str(ROOT / "examples" / "mm-zero-tiny.toml")
    printed = run_vzgym("selfplay", "mm-zero", "--config", config, "--print-config").stdout
    assert 'codegen = "models/tiny-svg-codegen"' in printed
    assert 'solver = "models/tiny-svg-solver"' in printed
    assert 'proposer = "scripted"' in printed

"""The committed warm start (models/tiny-spy-clevr) and the demo config that trains from it.

Greedy play on fixed held-out seeds is deterministic, so these figures are exact for a
given torch/transformers; the thresholds sit well inside the figures measured on these 24
games (clue truth 0.96 vs 0.04 blanked, vote accuracy 0.99 vs 0.39) and the 100-game
figures of models/README.md (clue truth 0.95 vs 0.07, vote accuracy 0.97 vs 0.34).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_vzgym

from vzgym.agents.hf_policy import HFPolicy
from vzgym.trainers.imitate_data import EVAL_SEED_BASE
from vzgym.trainers.imitate_eval import evaluate

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_learning import EASY  # noqa: E402  (the configuration the warm start plays)

WARM = ROOT / "models" / "tiny-spy-clevr"


def test_the_warm_start_is_small_and_of_the_tiny_family():
    size = sum(f.stat().st_size for f in WARM.iterdir())
    assert size < 25 * 2**20
    text = json.loads((WARM / "config.json").read_text())["text_config"]
    assert (text["hidden_size"], text["num_hidden_layers"], text["num_attention_heads"]) == (
        128, 2, 2)  # fmt: skip
    first = (WARM / "imitate-stage1.toml").read_text()
    assert "restate" in first and '"decision"' in first
    last = (WARM / "imitate-stage2.toml").read_text()
    assert "zoom = 8" in last and "reveal_roles = false" in last and "mix_games = 16" in last
    assert "phases = []" in last


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    policy = HFPolicy(str(WARM), device="cpu")
    seed = EVAL_SEED_BASE + 700_000  # games neither imitation nor the benchmark used
    return {
        blank: evaluate(
            policy,
            "spy-clevr",
            EASY,
            games=24,
            max_new_tokens=128,
            blank_images=blank == "blank",
            seed_base=seed,
        )  # fmt: skip
        for blank in ("real", "blank")
    }


def test_the_warm_start_plays_well_formed(figures):
    for fig in figures.values():
        assert fig["game/invalid_clue_rate"] == 0.0
        assert fig["game/invalid_vote_rate"] <= 0.05


def test_its_skills_need_the_image(figures):
    real, blank = figures["real"], figures["blank"]
    assert real["game/civilian_clue_true_rate"] >= 0.8  # colour and shape read
    assert real["game/civilian_clue_true_rate"] >= blank["game/civilian_clue_true_rate"] + 0.5
    assert blank["game/civilian_clue_true_rate"] <= 0.15  # about chance (1/24)
    assert real["game/vote_accuracy"] >= 0.6  # the target: 0.5
    assert real["game/vote_accuracy"] >= blank["game/vote_accuracy"] + 0.3
    assert blank["game/vote_accuracy"] <= 0.5  # about chance (1/3)


def test_the_demo_config_trains_from_the_warm_start(tmp_path: Path):
    printed = run_vzgym("train", "--config", str(ROOT / "examples" / "demo.toml"),
                        "--print-config").stdout  # fmt: skip
    assert 'model = "models/tiny-spy-clevr"' in printed and "zoom = 8" in printed
    assert "reveal_roles = true" in printed  # self-play plays the paper's game

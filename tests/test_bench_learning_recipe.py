"""bench_learning.py --imitate-steps runs the committed warm start's recipe (models/README.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_learning import EASY, imitate  # noqa: E402

try:
    from tomllib import loads as load_toml
except ImportError:  # Python 3.10
    from tomli import loads as load_toml

WARM = ROOT / "models" / "tiny-spy-clevr"
#: What may differ between the bench's short run and the committed one: length, paths,
#: evaluation, progress bars and the seeds (the committed model is seed 0: 11 and 21).
FREE = {"model", "steps", "eval_every", "eval_games", "progress", "seed"}


def _settings(path: Path) -> tuple[dict, dict]:
    config = load_toml(path.read_text())
    return config["env"], {k: v for k, v in config["imitate"].items() if k not in FREE}


def test_the_bench_recipe_is_the_committed_one(tmp_path: Path):
    best = imitate(2, 0, tmp_path / "seed0", EASY)
    assert (best / "model.safetensors").exists() and best == tmp_path / "seed0" / "stage2" / "best"
    for stage in (1, 2):
        ran = _settings(tmp_path / "seed0" / f"stage{stage}" / "config.toml")
        committed = _settings(WARM / f"imitate-stage{stage}.toml")
        assert ran == committed
    for stage, seed in ((1, 11), (2, 21)):
        config = load_toml((tmp_path / "seed0" / f"stage{stage}" / "config.toml").read_text())
        assert config["imitate"]["seed"] == seed
        assert load_toml((WARM / f"imitate-stage{stage}.toml").read_text())["imitate"][
            "seed"] == seed  # fmt: skip
    text = json.loads((best / "config.json").read_text())["text_config"]
    assert (text["hidden_size"], text["num_attention_heads"]) == (128, 2)

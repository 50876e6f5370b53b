"""The rollout benchmark script runs end to end (small sizes; no timing asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from vzgym.agents.tiny_model import build_tiny_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_bench_rollout_prints_every_figure(tmp_path: Path) -> None:
    tiny_dir = build_tiny_model(tmp_path / "model")
    env = {**os.environ, "VZGYM_BENCH_MODEL": str(tiny_dir)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_rollout.py"), "2", "4", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    ).stdout
    assert "batched:" in out and "sequential:" in out
    # per game: 8 clue calls + 1 call for the 3 voters = 9 calls, 11 turns
    assert "2 games" in out and "(18 model calls, 22 turns)" in out
    assert "speed-up batched vs sequential:" in out
    assert "outside the model:" in out
    assert "best possible speed-up" in out

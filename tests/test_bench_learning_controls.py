"""bench_learning's self-play controls: the noise control and the clue-stage credit split."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from conftest import ROOT
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_learning import clue_credit, noise_control  # noqa: E402

WARM = ROOT / "models" / "tiny-spy-clevr"


def _trained_copy(tmp_path: Path) -> tuple[Path, dict, list[str]]:
    """A copy of the warm start with two tensors changed by known amounts."""
    trained = tmp_path / "trained"
    shutil.copytree(WARM, trained)
    weights = load_file(trained / "model.safetensors")
    moved = sorted(k for k, v in weights.items() if v.is_floating_point())[:2]
    for i, key in enumerate(moved):
        weights[key] = weights[key] + 0.01 * (i + 1)
    save_file(weights, trained / "model.safetensors", metadata={"format": "pt"})
    return trained, weights, moved


def test_noise_matches_the_change_tensor_by_tensor(tmp_path: Path):
    trained, moved_weights, moved = _trained_copy(tmp_path)
    out = noise_control(WARM, trained, tmp_path / "noise", seed=0)
    start = load_file(WARM / "model.safetensors")
    noisy = load_file(out / "model.safetensors")
    assert set(noisy) == set(start)
    for key, weight in start.items():
        change = (noisy[key].float() - weight.float()).norm()
        wanted = (moved_weights[key].float() - weight.float()).norm()
        if key in moved:
            assert torch.isclose(change, wanted, rtol=1e-3), key
            # random, not the trained change itself
            assert not torch.allclose(noisy[key], moved_weights[key], atol=1e-4), key
        else:
            assert torch.equal(noisy[key], weight), key
    assert (out / "config.json").read_text() == (WARM / "config.json").read_text()
    assert not (tmp_path / "noise.tmp").exists()


def test_noise_is_seeded(tmp_path: Path):
    trained, _, moved = _trained_copy(tmp_path)
    a = load_file(noise_control(WARM, trained, tmp_path / "a", seed=1) / "model.safetensors")
    b = load_file(noise_control(WARM, trained, tmp_path / "b", seed=1) / "model.safetensors")
    c = load_file(noise_control(WARM, trained, tmp_path / "c", seed=2) / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a[moved[0]], c[moved[0]])


def _clue_row(episode: int, turn: int, role: str, clue: str, phase: str = "clue") -> dict:
    game = {"changes": [{"before": {"color": "red", "shape": "cube"},
                         "after": {"color": "blue", "shape": "sphere"}}]}  # fmt: skip
    return {"episode_id": episode, "turn": turn, "agent": f"player_{turn + 1}", "role": role,
            "phase": phase, "completion": f"I look.\n\\boxed{{{clue}}}",
            "info": json.dumps({"game": game})}  # fmt: skip


def test_clue_credit_splits_advantages_by_role_and_truth(tmp_path: Path):
    step = tmp_path / "rollouts" / "step_000000"
    (step / "trajectories").mkdir(parents=True)
    rows = [
        _clue_row(0, 0, "civilian", "there is a red cube"),  # true of the red cube it sees
        _clue_row(0, 1, "civilian", "there is a blue sphere"),  # false for a civilian
        _clue_row(0, 2, "spy", "there is a blue sphere"),  # true of the spy's own image
        _clue_row(1, 2, "spy", "there is a red cube"),  # false of the spy's own image
        _clue_row(1, 3, "civilian", "there is a red cube", phase="decision"),  # not a clue
        _clue_row(1, 0, "civilian", "there is a red cube"),  # no advantage row: skipped
    ]
    pq.write_table(pa.Table.from_pylist(rows), step / "trajectories" / "part-00000.parquet")
    advantages = [[0, 0, "player_1", 0.5], [0, 1, "player_2", -0.25], [0, 2, "player_3", -1.0],
                  [1, 2, "player_3", 2.0], [1, 3, "player_4", 9.0]]  # fmt: skip
    (step / "advantages.json").write_text(json.dumps({"rows": advantages}))
    credit = clue_credit(tmp_path)
    assert credit == {
        ("civilian", True): [0.5, 1],
        ("civilian", False): [-0.25, 1],
        ("spy", True): [-1.0, 1],
        ("spy", False): [2.0, 1],
    }

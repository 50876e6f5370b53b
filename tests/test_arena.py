"""vzgym arena: openskill ratings over a run's checkpoints; incremental after a new checkpoint."""

import json
import shutil

import pytest

from vzgym.agents.base import SamplingParams
from vzgym.eval.arena import play_arena, plot_arena, run_entrants
from vzgym.eval.ratings import rate


def test_ratings_follow_results():
    r = rate(["a", "b", "c"], [("a", "b", 1.0)] * 5 + [("b", "c", 1.0)] * 5)
    assert r["a"].mu > r["b"].mu > r["c"].mu and r["a"].games == 5 and r["b"].games == 10
    tie = rate(["a", "b"], [("a", "b", 0.5)] * 4)
    assert tie["a"].mu == pytest.approx(tie["b"].mu) and tie["a"].sigma < 25 / 3


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from vzgym.agents.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_arena") / "model")


def _checkpoint(run, tiny_dir, step):
    ckpt = run / "checkpoints" / f"step_{step:06d}"
    shutil.copytree(tiny_dir, ckpt / "model")
    (ckpt / "trainer_state.pt").write_bytes(b"not read by the arena")


def test_arena_plays_only_new_pairs(tmp_path, tiny_dir):
    run = tmp_path / "run"
    _checkpoint(run, tiny_dir, 2)
    (run / "config.toml").write_text(
        f'[env]\nid = "spy-clevr"\n[policy]\nmodel = "{tiny_dir}"\n[trainer]\nsteps = 4\n'
    )
    sampling = SamplingParams(max_new_tokens=8, seed=0)
    entrants = run_entrants(run, base=True, extra=["scripted"])
    assert [(e.name, e.step) for e in entrants] == [("base", 0), ("step_2", 2), ("scripted", None)]
    played = []
    arena = play_arena(entrants, "spy-clevr", {}, run / "arena", 2, sampling, log=played.append)
    assert len(played) == 3 and {r["games"] for r in arena["ratings"]} == {4}
    # a new checkpoint: only its three pairs are played
    _checkpoint(run, tiny_dir, 4)
    played.clear()
    entrants = run_entrants(run, base=True, extra=["scripted"])
    arena = play_arena(entrants, "spy-clevr", {}, run / "arena", 2, sampling, log=played.append)
    assert sorted(played) == sorted(
        ["arena: base vs step_4", "arena: step_2 vs step_4", "arena: step_4 vs scripted"]
    )
    saved = json.loads((run / "arena" / "arena.json").read_text())
    assert {r["name"] for r in saved["ratings"]} == {"base", "step_2", "step_4", "scripted"}
    assert all(r["games"] == 6 for r in saved["ratings"])
    assert plot_arena(saved, run / "arena" / "arena.png").stat().st_size > 1000


def test_arena_cli_errors(vzgym_cli, tmp_path):
    bad = vzgym_cli("arena", str(tmp_path / "nope"), check=False)
    assert bad.returncode != 0 and bad.stderr.strip().startswith("Error:")
    (tmp_path / "empty").mkdir()
    bad = vzgym_cli("arena", str(tmp_path / "empty"), check=False)
    assert bad.returncode != 0 and "config.toml" in bad.stderr and "Traceback" not in bad.stderr

"""Corrupt state on disk: resume falls back to the newest intact checkpoint and replays a
damaged rollout with the same seeds; the result is what an uninterrupted run gives."""

import json
import shutil

import pytest
from safetensors.torch import load_file

from vzgym.config import load_config
from vzgym.trainers.checkpoint import MANIFEST, checkpoint_problem, list_checkpoints
from vzgym.trainers.local import LocalGRPOTrainer
from vzgym.trainers.metrics import read_events, read_metrics

pytestmark = pytest.mark.reliability

CK = "checkpoints/step_000004"


def _config():
    return load_config(
        None,
        [
            "env.id=toy-color",
            "trainer.steps=4",
            "trainer.checkpoint_every=2",
            "trainer.games_per_step=2",
            "trainer.group_size=2",
            "trainer.lr=1e-3",
            "sampling.max_new_tokens=3",
            "logging.progress=false",
        ],
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An uninterrupted 4-step run (checkpoints after steps 2 and 4)."""
    run = tmp_path_factory.mktemp("ref") / "run"
    LocalGRPOTrainer(_config(), run).train()
    return run


def _weights(run):
    return load_file(str(run / "final" / "model.safetensors"))


def _copy(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run, ignore=shutil.ignore_patterns(".vzgym.lock", "final"))
    return run


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _resume_and_compare(finished, run, capfd):
    trainer = LocalGRPOTrainer(_config(), run, resume=True)
    start = trainer.start_step
    trainer.train()
    err = capfd.readouterr().err
    ref, got = read_metrics(finished), read_metrics(run)
    assert [r["step"] for r in got] == [0, 1, 2, 3]
    for a, b in zip(ref, got):
        assert (a["reward_mean"], a["samples"]) == (b["reward_mean"], b["samples"])
        assert a["train/loss"] == pytest.approx(b["train/loss"], abs=1e-6)
    wa, wb = _weights(finished), _weights(run)
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5
    return start, err


@pytest.mark.parametrize(
    "damaged", ["model/model.safetensors", "trainer_state.pt", MANIFEST, "state.json"]
)
def test_damaged_newest_checkpoint_falls_back_to_the_intact_one(finished, tmp_path, capfd, damaged):
    run = _copy(finished, tmp_path)
    assert checkpoint_problem(run / CK) is None
    _truncate(run / CK / damaged)
    assert checkpoint_problem(run / CK) is not None
    start, err = _resume_and_compare(finished, run, capfd)
    assert start == 2
    assert "checkpoint step_000004 is damaged" in err and "resuming from step 2" in err
    (event,) = read_events(run)
    assert event["event"] == "checkpoint_fallback" and event["checkpoint"] == "step_000004"
    assert (run / "checkpoints" / "corrupt-step_000004").is_dir()  # kept for inspection
    assert [p.name for p in list_checkpoints(run)] == ["step_000002", "step_000004"]


@pytest.mark.parametrize(
    ("step", "damaged"),
    [(3, "trajectories/part-00000.parquet"), (2, "DONE.json"), (3, "images")],
)
def test_damaged_rollout_of_an_unfinished_step_is_replayed(
    finished, tmp_path, capfd, step, damaged
):
    run = _copy(finished, tmp_path)
    shutil.rmtree(run / CK)  # as if killed after step 3's rollout, before checkpoint 4
    target = run / "rollouts" / f"step_{step:06d}" / damaged
    if target.is_dir():
        target = sorted(target.iterdir())[0]
    _truncate(target)
    start, err = _resume_and_compare(finished, run, capfd)
    assert start == 2
    assert f"rollout of step {step} is damaged" in err and "same seeds" in err
    (event,) = read_events(run)
    assert event["event"] == "rollout_replayed" and event["rollout_step"] == step


def test_every_checkpoint_damaged_restarts_from_step_0(finished, tmp_path, capfd):
    run = _copy(finished, tmp_path)
    for path in list_checkpoints(run):
        _truncate(path / "trainer_state.pt")
    start, err = _resume_and_compare(finished, run, capfd)
    assert start == 0 and err.count("is damaged") == 2


def test_checkpoints_without_a_manifest_still_resume(finished, tmp_path, capfd):
    run = _copy(finished, tmp_path)
    for path in list_checkpoints(run):
        (path / MANIFEST).unlink()
    for done in (run / "rollouts").glob("step_*/DONE.json"):
        old = json.loads(done.read_text())
        old.pop("_manifest")
        done.write_text(json.dumps(old))
    assert LocalGRPOTrainer(_config(), run, resume=True).start_step == 4
    _truncate(run / CK / "model" / "model.safetensors")  # an old damaged one: loads fail
    assert checkpoint_problem(run / CK) is not None
    start, err = _resume_and_compare(finished, run, capfd)
    assert start == 2 and "step_000004 is damaged" in err

"""vLLM in its own venv, driven from this one: the ``vllm:DIR`` policy and the trainer's
rollout engine (``sampling.backend = "vllm"``) with weight reload after every update.

Needs ``.venv-vllm`` (scripts/install-vllm-venv.sh) or ``$VZGYM_VLLM_PYTHON``; skipped
without it, except under ``VZGYM_REQUIRE_VLLM=1`` (set by the Makefile), where that fails.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from vzgym.agents.base import SamplingParams  # noqa: E402
from vzgym.agents.hf_policy import HFPolicy  # noqa: E402
from vzgym.agents.tiny_model import build_tiny_model  # noqa: E402
from vzgym.agents.vllm_engine import EngineWorkerError, VLLMEngineProcess, default_python  # noqa: E402
from vzgym.envs.base import Observation, text_message  # noqa: E402

if default_python() is None:
    if os.environ.get("VZGYM_REQUIRE_VLLM") == "1":
        raise RuntimeError("VZGYM_REQUIRE_VLLM=1 but no .venv-vllm / VZGYM_VLLM_PYTHON found")
    pytest.skip("needs .venv-vllm (scripts/install-vllm-venv.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny_engine") / "model")


@pytest.fixture(scope="module")
def policy(tiny_dir: Path):
    from vzgym.agents.spec import make_policy

    pol = make_policy(f"vllm:{tiny_dir}", max_model_len=512)  # the CLI's spec: a worker here
    yield pol
    pol.close()


def _obs(*parts: object) -> Observation:
    return Observation("player_1", "player", "clue", 1, [text_message("user", *parts)])


BATCH = [
    _obs(Image.new("RGB", (200, 120), "red"), "Describe the picture."),
    _obs("No image; one short clue."),
]


def _lp_gap(comps, rows, hf: HFPolicy, temperature: float) -> float:
    ref = hf.completion_logprobs(rows, [c.token_ids for c in comps], temperature=temperature)
    return max(abs(a - float(b)) for c, r in zip(comps, ref) for a, b in zip(c.logprobs, r))


def test_spec_runs_in_worker_and_weights_reload(policy, tiny_dir: Path) -> None:
    assert isinstance(policy.engine, VLLMEngineProcess)
    assert policy.engine.info["vllm_version"].startswith("0.32")
    sampling = SamplingParams(temperature=1.0, max_new_tokens=12, n=2, seed=7)
    first = policy.generate(BATCH, sampling)
    assert all(c.token_ids and len(c.logprobs) == len(c.token_ids) for cs in first for c in cs)
    comps = [c for cs in first for c in cs]
    rows = [o for o in BATCH for _ in range(2)]
    hf = HFPolicy(tiny_dir, device="cpu")
    assert _lp_gap(comps, rows, hf, 1.0) < 0.2

    # new weights: a changed lm_head changes the samples; logprobs follow the new model
    with torch.no_grad():
        hf.model.lm_head.weight.mul_(3.0)
    seconds = policy.load_weights(hf.model.state_dict())
    assert seconds >= 0 and policy.engine.weight_version == 1
    second = policy.generate(BATCH, sampling)
    assert [[c.token_ids for c in cs] for cs in second] != [
        [c.token_ids for c in cs] for cs in first
    ]
    # scaled lm_head: the old model's logprobs no longer fit, the new one's do
    comps2 = [c for cs in second for c in cs]
    base = HFPolicy(tiny_dir, device="cpu")
    assert _lp_gap(comps2, rows, hf, 1.0) < 0.2 < _lp_gap(comps2, rows, base, 1.0)
    # back to the original weights: the original samples again (caches were dropped)
    policy.load_weights(base.model.state_dict())
    again = policy.generate(BATCH, sampling)
    assert [[c.token_ids for c in cs] for cs in again] == [
        [c.token_ids for c in cs] for cs in first
    ]


def test_over_long_prompt_fails_alone_through_the_worker(policy) -> None:
    long = _obs("the red cube is left of it. " * 200)
    results = policy.generate([BATCH[0], long], SamplingParams(max_new_tokens=4, seed=1))
    assert results[1][0].finish_reason == "error" and results[1][0].meta["error"] == "engine_error"
    assert results[0][0].finish_reason in ("stop", "length")


def test_failed_start_is_reported_and_leaves_nothing(tmp_path: Path) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("vzgym-vllm-*"))
    with pytest.raises(EngineWorkerError, match="no-such-model"):
        VLLMEngineProcess(tmp_path / "no-such-model")
    assert set(Path(tempfile.gettempdir()).glob("vzgym-vllm-*")) == before


def test_trainer_samples_with_vllm_and_syncs_weights(tmp_path: Path, tiny_dir: Path) -> None:
    """sampling.backend=vllm: vLLM's exact ids reach the loss; the engine gets every update."""
    from vzgym.config import load_config
    from vzgym.trainers.local import LocalGRPOTrainer
    from vzgym.trainers.samples import load_samples

    config = load_config(
        None,
        [
            "env.id=spy-clevr", f"policy.model={tiny_dir}", "sampling.backend=vllm",
            "sampling.max_new_tokens=8", "trainer.games_per_step=1", "trainer.group_size=2",
            "trainer.lr=1e-3", "trainer.micro_batch_size=64", "trainer.steps=2",
            "logging.progress=false",
        ],
    )  # fmt: skip
    trainer = LocalGRPOTrainer(config, tmp_path / "run")
    try:
        metrics = trainer.train_step(0)
        samples = load_samples(trainer._rollout_dir(0), phases=trainer.active_phases())
        assert samples and metrics["samples"] == len(samples)
        # the rollout was sampled by vLLM (its meta), with the base weights
        base = HFPolicy(tiny_dir, device="cpu")
        obs = [s.observation for s in samples[:4]]
        ids = [s.token_ids for s in samples[:4]]
        ref = base.completion_logprobs(obs, ids, temperature=1.0)
        gap = max(
            abs(a - float(b)) for s, r in zip(samples[:4], ref) for a, b in zip(s.logprobs, r)
        )
        assert gap < 0.2
        # one optimizer step on exactly those ids: new/old ratios start near 1
        assert metrics["train/optimizer_steps"] == 1
        assert 0.8 < metrics["train/ratio_mean"] < 1.25
        assert metrics["train/weight_sync_seconds"] > 0
        # whatever the update did, the next step's engine must hold the trainer's weights:
        # change them visibly (lm_head x3), train one more step, and ask the engine
        with torch.no_grad():
            trainer.model.lm_head.weight.mul_(3.0)
        trainer.train_step(1)
        fresh = trainer.sampler.generate(obs, SamplingParams(max_new_tokens=8, seed=3))
        comps = [c[0] for c in fresh]
        trained = HFPolicy(tiny_dir, model=trainer.model, processor=trainer.processor)
        assert _lp_gap(comps, obs, trained, 1.0) < 0.2 < _lp_gap(comps, obs, base, 1.0)
    finally:
        trainer.sampler.close()


def test_a_relative_spec_runs_the_committed_warm_start(monkeypatch) -> None:
    """``vllm:models/...`` from the repo root (the worker runs elsewhere); two heads of 64."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_learning import EASY

    from vzgym.agents.spec import make_policy
    from vzgym.trainers.imitate_eval import evaluate

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    pol = make_policy("vllm:models/tiny-spy-clevr", max_model_len=2048)
    try:
        figures = evaluate(pol, "spy-clevr", EASY, games=4, max_new_tokens=128,
                           seed_base=5_321_000)  # fmt: skip
    finally:
        pol.close()
    assert figures["game/invalid_clue_rate"] == 0.0 and figures["game/invalid_vote_rate"] == 0.0
    assert figures["game/civilian_clue_true_rate"] >= 0.5  # it reads the image under vLLM too


def test_a_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    from vzgym.agents.spec import make_policy

    with pytest.raises(ValueError, match="no model directory there"):
        make_policy(f"vllm:{tmp_path / 'nope'}")

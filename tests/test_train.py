"""The local GRPO trainer end to end on the tiny model (real subprocesses, real kill -9)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import VZGYM, run_vzgym
from safetensors.torch import load_file

from vzgym.config import load_config, to_toml
from vzgym.trainers.local import LocalGRPOTrainer
from vzgym.trainers.metrics import read_metrics

TOY = [
    "--env",
    "toy-color",
    "--set",
    "sampling.max_new_tokens=3",
    "--set",
    "trainer.games_per_step=4",
    "--set",
    "trainer.group_size=4",
    "--set",
    "trainer.lr=1e-3",
    "--set",
    "logging.progress=false",
]


def weights(run_dir):
    return load_file(str(run_dir / "final" / "model.safetensors"))


def test_kill_9_and_resume_continue_exactly(tmp_path):
    ref, crash = tmp_path / "ref", tmp_path / "crash"
    common = [
        *TOY,
        "--steps",
        "6",
        "--set",
        "trainer.checkpoint_every=2",
        "--set",
        "trainer.lr_schedule=cosine",
        "--set",
        "trainer.warmup_steps=2",
    ]
    run_vzgym("train", *common, "--run-dir", str(ref), timeout=600)

    proc = subprocess.Popen(
        [VZGYM, "train", *common, "--run-dir", str(crash)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline:  # kill after step 3 is logged: checkpoint at 2, not at 4
        if len(read_metrics(crash)) >= 4:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    logged_before = len(read_metrics(crash))
    assert logged_before >= 4

    run_vzgym("train", *common, "--run-dir", str(crash), "--resume", timeout=600)
    ref_rows, crash_rows = read_metrics(ref), read_metrics(crash)
    assert [r["step"] for r in crash_rows] == list(range(6))  # nothing twice, nothing lost
    for a, b in zip(ref_rows, crash_rows):
        assert a["reward_mean"] == b["reward_mean"]
        assert a["samples"] == b["samples"]
        assert a["train/loss"] == pytest.approx(b["train/loss"], abs=1e-6)
    wa, wb = weights(ref), weights(crash)
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-5
    rollouts = sorted((crash / "rollouts").iterdir())
    assert [p.name for p in rollouts] == [f"step_{i:06d}" for i in range(6)]
    assert all((p / "DONE.json").exists() for p in rollouts)


def test_kill_before_first_checkpoint_restarts_cleanly(tmp_path):
    run = tmp_path / "early"
    common = [*TOY, "--steps", "3", "--set", "trainer.checkpoint_every=3"]
    proc = subprocess.Popen(
        [VZGYM, "train", *common, "--run-dir", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300  # kill after step 0's rollout finished: a run to resume
    while time.time() < deadline and not (run / "rollouts/step_000000/DONE.json").exists():
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_vzgym("train", *common, "--run-dir", str(run), "--resume", timeout=600)
    assert [r["step"] for r in read_metrics(run)] == [0, 1, 2]


def test_grpo_learns_the_toy_game(tmp_path):
    config = load_config(
        None,
        [
            "env.id=toy-color",
            "trainer.steps=25",
            "trainer.games_per_step=8",
            "trainer.group_size=8",
            "trainer.lr=3e-4",
            "sampling.max_new_tokens=3",
            "trainer.checkpoint_every=100",
            "logging.progress=false",
        ],
    )
    history = LocalGRPOTrainer(config, tmp_path).train()
    rewards = [h["reward_mean"] for h in history]
    start, end = rewards[0], sum(rewards[-5:]) / 5  # step 0 is sampled before any update
    assert start < 0.3 and end > start + 0.3, rewards


def test_spy_training_trains_only_the_active_stage(tmp_path):
    config = load_config(
        None,
        [
            "env.id=spy-clevr",
            "trainer.steps=2",
            "trainer.games_per_step=2",
            "trainer.group_size=2",
            "sampling.max_new_tokens=8",
            "trainer.phase=fixed-cycle:1",
            "env.options.clue_rounds=1",
            "logging.progress=false",
            "trainer.kl_coef=0.05",
        ],
    )
    trainer = LocalGRPOTrainer(config, tmp_path)
    history = trainer.train()
    assert [h["phase"] for h in history] == ["decision", "clue"]
    # decision step: only the 3 civilians' votes of 4 episodes; clue step: 4 players x 4 episodes
    assert history[0]["samples"] <= 3 * 4 and history[1]["samples"] <= 4 * 4
    assert history[1]["samples"] > history[0]["samples"] or history[0]["samples"] < 12
    assert "train/kl" in history[0] and "game/vote_accuracy" in history[0]
    state = json.loads((tmp_path / "checkpoints" / "step_000002" / "state.json").read_text())
    assert state["step"] == 2


def test_print_config_and_unknown_keys(tmp_path):
    out = run_vzgym("train", "--env", "spy-clevr", "--print-config").stdout
    assert "[trainer]" in out and 'id = "spy-clevr"' in out
    bad = run_vzgym("train", "--set", "trainer.lrr=1", "--print-config", check=False)
    assert bad.returncode != 0 and "did you mean" in bad.stderr.lower()


def test_plot_writes_pngs(tmp_path):
    run_vzgym("train", *TOY, "--steps", "2", "--run-dir", str(tmp_path / "r"), timeout=600)
    out = run_vzgym("plot", str(tmp_path / "r")).stdout.split()
    assert out and all(p.endswith(".png") and os.path.getsize(p) > 1000 for p in out)


def test_existing_run_dir_needs_resume(tmp_path):
    run_vzgym("train", *TOY, "--steps", "1", "--run-dir", str(tmp_path / "r"), timeout=600)
    again = run_vzgym(
        "train", *TOY, "--steps", "1", "--run-dir", str(tmp_path / "r"), check=False, timeout=600
    )
    assert again.returncode != 0 and "--resume" in again.stderr


def test_mm_zero_loop_one_iteration_and_resume(tmp_path):
    out = tmp_path / "mm"
    args = [
        "selfplay",
        "mm-zero",
        "--iterations",
        "1",
        "--run-dir",
        str(out),
        "--set",
        "trainer.steps=1",
        "--set",
        "trainer.games_per_step=1",
        "--set",
        "trainer.group_size=2",
        "--set",
        "sampling.max_new_tokens=16",
        "--set",
        "env.options.num_proposals=2",
        "--set",
        "env.options.num_items=2",
        "--set",
        "env.options.codegen_samples=2",
        "--set",
        "env.options.solver_samples=2",
        "--set",
        "logging.progress=false",
    ]
    proc = run_vzgym(*args, timeout=900)
    for role in ("proposer", "codegen", "solver"):
        assert (out / "iter_0" / role / "final" / "config.json").exists()
        assert (out / "iter_0" / role / "checkpoints" / "step_000001").is_dir()
    assert "iter 0 codegen: from tiny; frozen {'proposer': 'hf:" in proc.stdout
    fresh = run_vzgym(*args, timeout=900, check=False)  # an existing loop needs --resume
    assert fresh.returncode != 0 and "--resume" in fresh.stderr
    again = run_vzgym(*args, "--resume", timeout=900)
    assert again.stdout.count("done already, skipped") == 3


def test_lora_training_saves_merged_final_model(tmp_path):
    config = load_config(
        None,
        [
            "env.id=toy-color",
            "trainer.steps=2",
            "trainer.games_per_step=2",
            "trainer.group_size=4",
            "sampling.max_new_tokens=3",
            "policy.lora=true",
            "trainer.lr=1e-2",
            "trainer.checkpoint_every=1",
            "logging.progress=false",
        ],
    )
    trainer = LocalGRPOTrainer(config, tmp_path)
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    trainer.train()
    assert (tmp_path / "checkpoints" / "step_000002" / "model" / "adapter_config.json").exists()
    final = load_file(str(tmp_path / "final" / "model.safetensors"))
    assert not any("lora" in k for k in final)
    resumed = LocalGRPOTrainer(config, tmp_path, resume=True)
    assert resumed.start_step == 2


def test_model_init_tiny_cli(tmp_path):
    out = run_vzgym("model", "init-tiny", str(tmp_path / "tiny")).stdout
    assert "tiny model written" in out
    assert (tmp_path / "tiny" / "model.safetensors").exists()


def test_lr_schedules():
    from vzgym.trainers.local import lr_factor

    warm = lr_factor("constant", 2, 10)
    assert [warm(s) for s in range(4)] == [0.5, 1.0, 1.0, 1.0]
    linear = lr_factor("linear", 0, 4)
    assert [linear(s) for s in range(4)] == [1.0, 0.75, 0.5, 0.25]
    cosine = lr_factor("cosine", 0, 2)
    assert cosine(0) == 1.0 and cosine(1) == pytest.approx(0.5)


def test_tensorboard_and_wandb_offline_logging(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    config = load_config(
        None,
        [
            "env.id=toy-color",
            "trainer.steps=1",
            "trainer.games_per_step=1",
            "trainer.group_size=2",
            "sampling.max_new_tokens=2",
            "logging.progress=false",
            "logging.tensorboard=true",
            "logging.wandb=true",
        ],
    )
    LocalGRPOTrainer(config, tmp_path).train()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_mm_zero_pinned_role_models_and_version_order(tmp_path):
    from vzgym.trainers.mmzero import run_mm_zero

    seen = []

    class RecordingTrainer:
        """Records what each role run was given and leaves a finished model behind."""

        def __init__(self, cfg, out, resume=True):
            seen.append((str(out.relative_to(tmp_path)), cfg.policy.model, cfg.policy.role_models))
            self.out = out

        def train(self):
            (self.out / "final").mkdir(parents=True)
            (self.out / "final" / "config.json").write_text("{}")
            return [{}]

    config = load_config(None, ["policy.model=tiny", "policy.role_models.solver=scripted"])
    logs = []
    run_mm_zero(config, tmp_path, 2, trainer_factory=RecordingTrainer, log=logs.append)
    by_dir = {d: (model, roles) for d, model, roles in seen}
    # iteration 1 codegen: starts from its iter-0 version, proposer of iter 1, solver pinned
    model, roles = by_dir["iter_1/codegen"]
    assert model == f"hf:{tmp_path / 'iter_0' / 'codegen' / 'final'}"
    assert roles["proposer"] == f"hf:{tmp_path / 'iter_1' / 'proposer' / 'final'}"
    assert roles["solver"] == "scripted"
    # the solver itself still trains from its own previous version, and plays as itself
    model, roles = by_dir["iter_1/solver"]
    assert model == f"hf:{tmp_path / 'iter_0' / 'solver' / 'final'}"
    assert "solver" not in roles and roles["codegen"].endswith("iter_1/codegen/final")
    assert any("pinned by config: ['solver']" in line for line in logs)


def test_mm_zero_role_starts_give_each_role_its_own_warm_start(tmp_path):
    from vzgym.trainers.mmzero import run_mm_zero

    seen = {}

    class RecordingTrainer:
        """Records what each role run was given and leaves a finished model behind."""

        def __init__(self, cfg, out, resume=True):
            seen[str(out.relative_to(tmp_path))] = (cfg.policy.model, dict(cfg.policy.role_models))
            self.out = out

        def train(self):
            (self.out / "final").mkdir(parents=True)
            (self.out / "final" / "config.json").write_text("{}")
            return [{}]

    config = load_config(None, ["policy.model=tiny", "policy.role_starts.codegen=hf:/cg",
                                "policy.role_starts.solver=hf:/sv"])  # fmt: skip
    run_mm_zero(config, tmp_path, 2, trainer_factory=RecordingTrainer, log=lambda line: None)
    # iteration 0: the proposer (no start given) from the base model, judged by the starts
    assert seen["iter_0/proposer"] == ("tiny", {"codegen": "hf:/cg", "solver": "hf:/sv"})
    model, roles = seen["iter_0/codegen"]
    assert model == "hf:/cg" and roles["solver"] == "hf:/sv" and roles["prefilter"] == "hf:/cg"
    model, roles = seen["iter_0/solver"]
    assert model == "hf:/sv" and roles["label"] == "hf:/sv"
    assert roles["codegen"] == f"hf:{tmp_path / 'iter_0' / 'codegen' / 'final'}"
    # iteration 1: every role from its own iteration-0 version
    assert seen["iter_1/solver"][0] == f"hf:{tmp_path / 'iter_0' / 'solver' / 'final'}"
    bad = load_config(None, ["policy.role_starts.judge=hf:/x"])
    with pytest.raises(ValueError, match="unknown role"):
        run_mm_zero(bad, tmp_path / "bad", 1, trainer_factory=RecordingTrainer)


def test_turns_of_another_model_are_never_trained(tmp_path):
    from vzgym.rollout import read_trajectories

    config = load_config(
        None,
        [
            "env.id=spy-clevr",
            "trainer.steps=1",
            "trainer.games_per_step=2",
            "trainer.group_size=2",
            "sampling.max_new_tokens=6",
            "trainer.phase=fixed:clue",
            "env.options.clue_rounds=1",
            "policy.role_models.spy=tiny",  # a separate copy that is never updated
            "logging.progress=false",
        ],
    )
    trainer = LocalGRPOTrainer(config, tmp_path)
    history = trainer.train()
    rows = read_trajectories(trainer._rollout_dir(0)).to_pylist()
    spy = [r for r in rows if r["role"] == "spy"]
    assert spy and {r["policy"] for r in spy} == {"tiny"} and not any(r["trainable"] for r in spy)
    assert all(r["trainable"] for r in rows if r["role"] == "civilian")
    assert history[0]["samples"] == 3 * 4  # the civilians' clues only: 3 seats x 4 episodes


def _toy_config(*extra):
    return load_config(
        None,
        [
            "env.id=toy-color",
            "trainer.steps=1",
            "trainer.games_per_step=2",
            "trainer.group_size=2",
            "sampling.max_new_tokens=3",
            "logging.progress=false",
            *extra,
        ],
    )


def test_resume_refuses_a_changed_config_and_reused_rollouts(tmp_path):
    run = tmp_path / "r"
    LocalGRPOTrainer(_toy_config(), run).train()
    with pytest.raises(ValueError, match=r"trainer\.lr: 0\.0001 -> 1e-06"):
        LocalGRPOTrainer(_toy_config("trainer.lr=1e-6"), run, resume=True)
    with pytest.raises(ValueError, match="env.options"):
        LocalGRPOTrainer(_toy_config("env.options.size=32"), run, resume=True)
    more = LocalGRPOTrainer(_toy_config("trainer.steps=2"), run, resume=True)  # may change
    assert more.start_step == 1
    del more
    # a crash that left only a finished rollout behind still counts as a run
    crashed = tmp_path / "c"
    (crashed / "rollouts" / "step_000000").mkdir(parents=True)
    (crashed / "config.toml").write_text(to_toml(_toy_config()))
    (crashed / "rollouts" / "step_000000" / "DONE.json").write_text("{}")
    with pytest.raises(ValueError, match="already holds a run"):
        LocalGRPOTrainer(_toy_config(), crashed)


def test_bad_env_or_option_fails_before_loading_the_model(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'toy-color'"):
        LocalGRPOTrainer(_toy_config("env.id=toy-colour"), tmp_path / "a")
    with pytest.raises(ValueError, match=r"has no option\(s\) \['bogus'\]"):
        LocalGRPOTrainer(_toy_config("env.options.bogus=1"), tmp_path / "b")


def test_one_run_dir_one_process(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; "
         "from vzgym.trainers.local import _lock_run_dir; "
         f"_lock_run_dir(Path({str(run)!r})); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ValueError, match="in use by another vzgym process"):
            LocalGRPOTrainer(_toy_config(), run)
    finally:
        holder.kill()
        holder.wait()
    LocalGRPOTrainer(_toy_config(), run)  # the lock died with its process


def test_cli_run_dirs_are_claimed_and_mm_zero_needs_resume(tmp_path):
    from vzgym.cli import _claim_dir

    assert _claim_dir(tmp_path / "x") == tmp_path / "x"
    assert _claim_dir(tmp_path / "x") == tmp_path / "x-2"  # the same second: no sharing
    (tmp_path / "mm" / "iter_0").mkdir(parents=True)
    proc = run_vzgym("selfplay", "mm-zero", "--run-dir", str(tmp_path / "mm"), check=False)
    assert proc.returncode != 0 and "--resume" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_vzgym("selfplay", "mm-zero", "--iterations", "0", check=False)
    assert proc.returncode != 0 and "must be >= 1" in proc.stderr


def test_train_says_it_does_not_read_role_starts(tmp_path):
    proc = run_vzgym("train", "--env", "toy-color", "--steps", "1", "--run-dir",
                     str(tmp_path / "run"), "--set", "policy.role_starts.codegen=tiny",
                     "--set", "trainer.games_per_step=2", "--set", "trainer.group_size=2",
                     "--set", "logging.progress=false")  # fmt: skip
    assert "note: policy.role_starts is read by `vzgym selfplay mm-zero` only" in proc.stdout


def test_read_metrics_skips_lines_that_are_not_step_records(tmp_path):
    (tmp_path / "metrics.jsonl").write_bytes(
        b'{"step": 0, "reward_mean": 1.0}\n[1, 2]\n{"reward_mean": 3}\n\xff\xfe junk\n'
        b'{"step": 1, "reward_mean": NaN}\n{"step": 2, "rew'
    )
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [0, 1]


def test_algorithm1_measures_a_held_out_greedy_batch(tmp_path):
    config = load_config(
        None,
        [
            "env.id=spy-clevr",
            "trainer.steps=1",
            "trainer.games_per_step=1",
            "trainer.group_size=2",
            "sampling.max_new_tokens=6",
            "env.options.clue_rounds=1",
            "env.options.num_objects=3",
            "trainer.phase_options={variant = 'algorithm1', measure_games = 2}",
            "logging.progress=false",
        ],
    )
    trainer = LocalGRPOTrainer(config, tmp_path)
    history = trainer.train()
    assert "measure/vote_accuracy" in history[0] and "measure/na_rate" in history[0]
    measured = tmp_path / "measure" / "step_000000"
    assert (measured / "DONE.json").exists()
    done = json.loads((measured / "DONE.json").read_text())
    assert done["episodes"] == 2  # measure_games x 1 copy, played greedily
    state = trainer.phases.state_dict()
    assert state["options"]["variant"] == "algorithm1" and state["acc"]["count"] == 1
    # the uncorrected EMA after one measurement: (1 - 0.95) * measured accuracy
    assert trainer.phases.acc_ema == pytest.approx(0.05 * history[0]["measure/vote_accuracy"])

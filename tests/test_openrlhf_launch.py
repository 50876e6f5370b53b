"""``prepare_openrlhf_run``: dataset, agent module, launch script, and the command
checked with OpenRLHF's own argument parser (needs ``openrlhf`` installed without
its GPU dependencies: ``scripts/install-openrlhf-nodeps.sh``)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from vzgym.trainers.openrlhf import GameRow, openrlhf_available, prepare_openrlhf_run

ROOT = Path(__file__).resolve().parents[1]
needs_openrlhf = pytest.mark.skipif(
    not openrlhf_available(),
    reason="openrlhf is not installed: run scripts/install-openrlhf-nodeps.sh",
)


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    return prepare_openrlhf_run(
        "spy-clevr",
        tmp_path_factory.mktemp("run"),
        model="/models/Qwen2.5-VL-7B-Instruct",
        games=6,
        group=4,
        gpus=8,
        kl_coef=0.02,
        kl_estimator="k3",
        rollout_batch_size=4,
        validate=False,
    )


def test_plan_files_and_sizes(plan):
    assert plan.samples_per_prompt == 4 * 11 and plan.shape.turns == 11
    assert plan.shape.max_images == 1
    assert plan.agent_path.read_text() == (ROOT / "vzgym/trainers/openrlhf/agent.py").read_text()
    lines = plan.dataset_path.read_text().splitlines()
    rows = [GameRow.from_prompt(json.loads(line)["prompt"]) for line in lines]
    assert [r.seed for r in rows] == list(range(6))
    assert {r.samples for r in rows} == {plan.samples_per_prompt}
    assert os.access(plan.script_path, os.X_OK)
    assert subprocess.run(["bash", "-n", str(plan.script_path)]).returncode == 0


@needs_openrlhf
def test_command_parses_with_openrlhf_parser(plan):
    from vzgym.trainers.openrlhf import parse_train_args

    argv = shlex.split(plan.command_line())
    assert argv[:4] == ["ray", "job", "submit", "--address=http://127.0.0.1:8265"]
    split = argv.index("openrlhf.cli.train_ppo_ray")
    assert argv[split - 2 : split] == ["python3", "-m"] and argv[split - 3] == "--"
    args = parse_train_args(argv[split + 1 :])
    # vzgym's advantages pass through: no second per-prompt normalisation
    assert args.algo.advantage.estimator == "flash_reinforce"
    assert args.rollout.n_samples_per_prompt == plan.samples_per_prompt
    assert args.vllm.num_engines == 8 and args.vllm.tensor_parallel_size == 1
    assert args.data.max_images_per_prompt >= 1
    assert not args.ds.packing_samples and not args.train.dynamic_batch_enable
    assert not args.data.apply_chat_template and args.data.input_template is None
    assert args.data.input_key == "prompt" and args.data.prompt_dataset == str(plan.dataset_path)
    assert args.train.agent_func_path == str(plan.agent_path)
    assert args.reward.remote_url == ["agent"]
    assert args.algo.kl.init_coef == 0.02 and args.algo.kl.use_loss
    assert args.algo.kl.estimator == "k3"
    assert args.critic.model_name_or_path is None
    assert args.train.colocate_all and args.vllm.enable_sleep
    world = args.actor.num_nodes * args.actor.num_gpus_per_node
    samples = args.rollout.batch_size * args.rollout.n_samples_per_prompt  # 4 x 44 = 176
    assert args.train.batch_size == samples and samples % world == 0
    # every GPU gets the same number of micro-batches: 176 / 8 = 22 each, micro-batch 2
    assert (samples // world) % args.rollout.micro_batch_size == 0
    assert args.rollout.micro_batch_size == 2


@needs_openrlhf
def test_openrlhf_validation_rejects_bad_settings(plan):
    from vzgym.trainers.openrlhf import parse_train_args

    with pytest.raises(ValueError, match="packing"):
        parse_train_args([*plan.train_args, "--ds.packing_samples"])
    with pytest.raises(ValueError, match="unrecognized"):
        parse_train_args([*plan.train_args, "--no-such-flag"])


@needs_openrlhf
def test_dataset_loads_through_openrlhf(plan, tmp_path):
    from openrlhf.datasets.prompts_dataset import PromptDataset
    from openrlhf.datasets.utils import blending_datasets

    from vzgym.trainers.openrlhf import parse_train_args

    args = parse_train_args(plan.train_args)
    strategy = SimpleNamespace(args=args, print=lambda *a: None, is_rank_0=lambda: True)
    parquet = prepare_openrlhf_run(
        "spy-clevr", tmp_path, model="m", games=3, group=2, dataset_format="parquet",
        gpus=2, validate=False,
    ).dataset_path  # fmt: skip
    for path, n in ((plan.dataset_path, 6), (parquet, 3)):
        data = blending_datasets(str(path), None, strategy, dataset_split="train")
        ds = PromptDataset(data, tokenizer=None, strategy=strategy)
        assert len(ds) == n
        source, prompt, label, images = ds[1]
        assert GameRow.from_prompt(prompt).seed == 1 and label == "" and images is None
        assert source == "vzgym/spy-clevr"


def test_forbidden_and_bad_settings(tmp_path):
    for flag in ("--train.dynamic_batch_enable", "--ds.packing_samples"):
        with pytest.raises(ValueError, match=flag.replace(".", r"\.")):
            prepare_openrlhf_run("spy-clevr", tmp_path, model="m", games=2, extra_args=[flag])
    with pytest.raises(ValueError, match="dynamic_batch"):  # argparse would take the prefix
        prepare_openrlhf_run(
            "spy-clevr", tmp_path, model="m", games=2, extra_args=["--train.dynamic_batch"]
        )
    with pytest.raises(ValueError, match="shared equally by 8 GPUs"):  # 3 x 22 = 66 samples
        prepare_openrlhf_run("spy-clevr", tmp_path, model="m", games=3, group=2, gpus=8)
    with pytest.raises(ValueError, match="kl_estimator"):
        prepare_openrlhf_run("spy-clevr", tmp_path, model="m", games=2, kl_estimator="k9")
    with pytest.raises(ValueError, match="Unknown advantage"):
        prepare_openrlhf_run("spy-clevr", tmp_path, model="m", games=2, advantage="nope")


@needs_openrlhf
def test_validate_runs_openrlhf_checks(tmp_path):
    with pytest.raises(ValueError, match="num_engines|tensor_parallel|vLLM engines"):
        prepare_openrlhf_run("spy-clevr", tmp_path, model="m", games=2, gpus=3,
                             vllm_tensor_parallel=2)  # fmt: skip
    plan = prepare_openrlhf_run(
        "spy-clevr", tmp_path, model="m", games=2, roles=["spy"], kl_coef=0.0, kl_loss=False
    )
    assert plan.samples_per_prompt == 8 * 2  # the spy speaks twice per game


def test_launch_runs_the_script(plan, tmp_path):
    from vzgym.trainers.openrlhf import launch

    fake = tmp_path / "bin"
    fake.mkdir()
    record = tmp_path / "argv.json"
    (fake / "ray").write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
    )
    (fake / "ray").chmod(0o755)
    env_path = os.environ["PATH"]
    os.environ["PATH"] = f"{fake}{os.pathsep}{env_path}"
    try:
        assert launch(plan, extra=["--train.num_episodes", "2"]) == 0
    finally:
        os.environ["PATH"] = env_path
    assert json.loads(record.read_text()) == [*plan.command[1:], "--train.num_episodes", "2"]


def test_package_import_pulls_in_neither_openrlhf_nor_torch():
    code = (
        "import sys, vzgym.trainers.openrlhf, vzgym.trainers.openrlhf.executor\n"
        "heavy = ('openrlhf', 'torch', 'transformers', 'ray', 'vllm', 'deepspeed')\n"
        "heavy = [k for k in heavy if k in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_openrlhf_wheel_tests_package_does_not_shadow_ours():
    # OpenRLHF's wheel installs a top-level `tests` package.  Our tests directory has no
    # __init__.py, so pytest imports our files by basename (rootdir/tests on sys.path)
    # and nothing in the repo imports `tests.<name>`.
    assert not (ROOT / "tests" / "__init__.py").exists()
    assert Path(__file__).resolve().parent == ROOT / "tests"
    assert Path(sys.modules["conftest"].__file__).resolve().parent == ROOT / "tests"
    spec = importlib.util.find_spec("tests")
    if spec is not None and spec.origin:
        theirs = {p.name for p in Path(spec.origin).parent.glob("test_*.py")}
        ours = {p.name for p in (ROOT / "tests").glob("test_*.py")}
        assert not theirs & ours, (
            f"basename clash with the installed `tests` package: {theirs & ours}"
        )


def test_train_with_openrlhf_maps_the_run_config(tmp_path):
    from vzgym.config import RunConfig
    from vzgym.trainers.openrlhf import GameRow, train_with_openrlhf

    config = RunConfig()
    config.trainer.backend = "openrlhf"
    config.trainer.steps, config.trainer.games_per_step, config.trainer.group_size = 3, 2, 4
    config.trainer.kl_coef, config.trainer.lr = 0.05, 2e-6
    config.trainer.advantages = {"clue": "rae", "decision": "group_norm"}
    config.trainer.advantage_options = {"rae": {"alpha": 0.9}}
    config.sampling.max_new_tokens = 64
    lines: list[str] = []
    plan = train_with_openrlhf(config, tmp_path, gpus=2, echo=lines.append)
    assert lines[-1] == plan.command_line() and plan.games == 6
    rows = [GameRow.from_prompt(json.loads(x)["prompt"]) for x in plan.dataset_path.open()]
    assert len(rows) == 6 and rows[0].group == 4 and rows[0].samples == 44
    assert rows[0].estimator_for("clue") == ("rae", {"alpha": 0.9})
    assert rows[0].estimator_for("decision") == ("group_norm", {})
    args = plan.train_args
    assert args[args.index("--algo.kl.init_coef") + 1] == "0.05"
    assert args[args.index("--rollout.batch_size") + 1] == "2"
    assert args[args.index("--rollout.max_new_tokens") + 1] == "64"
    assert args[args.index("--actor.num_gpus_per_node") + 1] == "2"
    assert not any("not passed to OpenRLHF" in line for line in lines)
    config.trainer.dual_clip, config.trainer.loss_agg = 3.0, "seq-mean-token-mean"
    lines.clear()
    train_with_openrlhf(config, tmp_path / "again", gpus=2, echo=lines.append)
    note = next(line for line in lines if "not passed to OpenRLHF" in line)
    assert "trainer.dual_clip" in note and "trainer.loss_agg" in note


@needs_openrlhf
def test_settings_that_turn_packing_on_indirectly_are_refused(tmp_path):
    # ring attention switches packing on after OpenRLHF's own VLM check
    with pytest.raises(ValueError, match="packing"):
        prepare_openrlhf_run(
            "spy-clevr", tmp_path, model="m", games=2, group=4, gpus=4,
            extra_args=["--ds.ring_attn_size", "2"], validate=False,
        )  # fmt: skip


def test_advantages_survive_openrlhfs_flash_reinforce_step():
    """OpenRLHF's flash_reinforce subtracts the step's mean reward and nothing else: the
    zero-mean advantages vzgym returns come through unchanged (group_norm did not)."""
    import torch

    from vzgym.trainers.advantages import AdvSample, GroupNorm

    rewards = [2.49, -0.9, -0.3, 2.49, -0.9, -1.5, 0.1, 0.1]
    samples = [AdvSample(r, group_id=0, role="civilian", phase="decision") for r in rewards]
    adv = torch.tensor(GroupNorm().compute(samples))
    n = len(rewards)
    as_openrlhf = adv.reshape(-1, n)
    flash = (as_openrlhf - as_openrlhf.mean()).reshape(-1)  # experience_maker.py, flash_reinforce
    assert torch.allclose(flash, adv, atol=1e-9)

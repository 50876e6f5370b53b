"""Prepare and launch an OpenRLHF (Ray + DeepSpeed + vLLM) run of a vzgym game.

:func:`prepare_openrlhf_run` writes, into one run directory,

* ``prompts.jsonl`` (or ``.parquet``): one :class:`~vzgym.trainers.openrlhf.dataset.GameRow`
  per game seed, in OpenRLHF's ``--data.*`` format;
* ``agent.py``: a copy of :mod:`vzgym.trainers.openrlhf.agent` for
  ``--train.agent_func_path`` (on shared storage, every node reads the same file);
* ``launch.sh``: the ``ray job submit -- python3 -m openrlhf.cli.train_ppo_ray ...``
  command,

and returns an :class:`OpenRLHFPlan` with the argv.  :func:`launch` runs it.
:func:`parse_train_args` checks an argv with OpenRLHF's own argument parser and
its own post-parse validation (read from the installed ``train_ppo_ray.py``;
needs only the ``openrlhf`` package itself, not Ray, vLLM or DeepSpeed).

Nothing here imports OpenRLHF at module import time.
"""

from __future__ import annotations

import ast
import contextlib
import io
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from vzgym.trainers.openrlhf.dataset import (
    INPUT_KEY,
    LABEL_KEY,
    GameShape,
    make_rows,
    probe_game,
    write_prompt_dataset,
)

#: OpenRLHF options vzgym refuses in ``extra_args``, with the reason.
FORBIDDEN_ARGS: dict[str, str] = {
    "--train.dynamic_batch_enable": "it silently turns on --ds.packing_samples, which breaks VLMs",
    "--ds.packing_samples": "packing breaks the alignment of image tokens and pixel_values",
    "--data.apply_chat_template": "vzgym rows are JSON game specs, the executor renders prompts",
    "--data.input_template": "vzgym rows are JSON game specs, the executor renders prompts",
    "--algo.dynamic_filtering_enable": "a row mixes roles of a zero-sum game; see docs",
}

KL_ESTIMATORS = ("k1", "k2", "k3")


@dataclass
class OpenRLHFPlan:
    """Everything :func:`prepare_openrlhf_run` wrote and the command that trains on it.

    Attributes:
        out_dir: the run directory.
        dataset_path, agent_path, script_path: the files written there.
        train_args: the arguments of ``python3 -m openrlhf.cli.train_ppo_ray``.
        command: the full argv (``ray job submit ... -- python3 -m ... <train_args>``).
        samples_per_prompt: ``--rollout.n_samples_per_prompt`` (= group x turns per game).
        shape: the measured game shape (turns per game, images per prompt).
        games: rows in the dataset.
    """

    out_dir: Path
    dataset_path: Path
    agent_path: Path
    script_path: Path
    train_args: list[str]
    command: list[str]
    samples_per_prompt: int
    shape: GameShape
    games: int
    notes: list[str] = field(default_factory=list)

    def command_line(self) -> str:
        """The command as one shell-quoted line (what ``vzgym train`` prints)."""
        return shlex.join(self.command)


def _world(gpus: int, nodes: int) -> int:
    return max(1, int(gpus)) * max(1, int(nodes))


def build_train_args(
    *,
    model: str,
    dataset_path: str | Path,
    agent_path: str | Path,
    out_dir: str | Path,
    samples_per_prompt: int,
    max_images_per_prompt: int,
    gpus: int = 8,
    nodes: int = 1,
    vllm_tensor_parallel: int = 1,
    rollout_batch_size: int = 8,
    episodes: int = 1,
    max_len: int = 4096,
    max_new_tokens: int | None = 1024,
    temperature: float = 1.0,
    top_p: float = 1.0,
    lr: float = 1e-6,
    kl_coef: float = 0.01,
    kl_estimator: str = "k3",
    kl_loss: bool = True,
    zero_stage: int = 3,
    freeze_vision: bool = False,
    seed: int = 42,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The ``train_ppo_ray`` arguments for a colocated GRPO run of vzgym games.

    Advantages: the executor returns vzgym's own advantages (group-norm, RAE,
    RLOO per role and phase) as OpenRLHF's rewards, so OpenRLHF must not
    normalise them again per prompt: ``--algo.advantage.estimator
    flash_reinforce`` only subtracts the step's mean (≈ 0 for vzgym's
    advantages) and does no std scaling.  Batch sizes: the step's
    ``rollout_batch_size x samples_per_prompt`` samples must split equally over
    the GPUs (else ``ValueError``), and the rollout micro-batch size divides each
    GPU's share, so every GPU runs the same number of passes.  KL: ``kl_coef`` is
    ``--algo.kl.init_coef`` (0 = no reference model); ``kl_loss`` puts it in the
    loss (GRPO style, ``--algo.kl.use_loss``) with ``kl_estimator`` (k3 by
    default), else it is a reward penalty (k1).  Actor, reference and vLLM
    engines share all GPUs (``--train.colocate_all`` with sleep mode), one vLLM
    engine per ``vllm_tensor_parallel`` GPUs.
    """
    if kl_estimator not in KL_ESTIMATORS:
        raise ValueError(f"kl_estimator must be one of {KL_ESTIMATORS}, got {kl_estimator!r}")
    if samples_per_prompt < 2:
        raise ValueError("vzgym's group advantages need at least 2 samples per prompt")
    world = _world(gpus, nodes)
    if world % vllm_tensor_parallel:
        raise ValueError(
            f"{world} GPUs cannot be split into vLLM engines of {vllm_tensor_parallel}"
        )
    for arg in extra_args:
        name = str(arg).split("=", 1)[0]
        for flag, why in FORBIDDEN_ARGS.items():  # argparse also accepts unique prefixes
            if name == flag or (name.startswith("--") and len(name) > 4 and flag.startswith(name)):
                raise ValueError(f"{name} cannot be used with vzgym games: {why}")
    samples = rollout_batch_size * samples_per_prompt
    if samples % world:
        fits = [b for b in range(1, 4 * world + 1) if (b * samples_per_prompt) % world == 0]
        raise ValueError(
            f"{rollout_batch_size} games x {samples_per_prompt} samples = {samples} samples per "
            f"step cannot be shared equally by {world} GPUs (uneven shares make the GPUs wait "
            f"on each other forever); use a rollout batch size (games per step) in {fits[:6]}"
        )
    per_gpu = samples // world
    # OpenRLHF hands out micro-batches in chunks of ceil(count / world): equal shares need
    # a micro-batch size that divides every GPU's share.
    rollout_micro = max(m for m in (1, 2, 3, 4) if per_gpu % m == 0)
    train_batch = samples  # one optimizer step per rollout step, divisible by the GPUs
    out = Path(out_dir)
    args = [
        "--actor.model_name_or_path", str(model),
        "--train.agent_func_path", str(agent_path),
        "--data.prompt_dataset", str(dataset_path),
        "--data.input_key", INPUT_KEY,
        "--data.label_key", LABEL_KEY,
        "--data.max_images_per_prompt", str(max(1, int(max_images_per_prompt))),
        "--data.max_len", str(int(max_len)),
        "--actor.num_nodes", str(nodes),
        "--actor.num_gpus_per_node", str(gpus),
        "--ref.num_nodes", str(nodes),
        "--ref.num_gpus_per_node", str(gpus),
        "--vllm.num_engines", str(world // vllm_tensor_parallel),
        "--vllm.tensor_parallel_size", str(vllm_tensor_parallel),
        "--vllm.gpu_memory_utilization", "0.5",
        "--vllm.enable_sleep",
        "--ds.enable_sleep",
        "--train.colocate_all",
        "--algo.advantage.estimator", "flash_reinforce",
        "--rollout.n_samples_per_prompt", str(samples_per_prompt),
        "--rollout.batch_size", str(rollout_batch_size),
        "--rollout.micro_batch_size", str(rollout_micro),
        "--train.batch_size", str(train_batch),
        "--train.micro_batch_size", "1",
        "--train.num_episodes", str(episodes),
        "--train.max_epochs", "1",
        "--rollout.temperature", repr(float(temperature)),
        "--rollout.top_p", repr(float(top_p)),
        "--actor.adam.lr", repr(float(lr)),
        "--algo.kl.init_coef", repr(float(kl_coef)),
        "--algo.kl.estimator", kl_estimator if kl_loss else "k1",
        "--ds.zero_stage", str(zero_stage),
        "--ds.param_dtype", "bf16",
        "--actor.gradient_checkpointing_enable",
        "--train.seed", str(seed),
        "--ckpt.output_dir", str(out / "ckpt"),
        "--ckpt.path", str(out / "ckpt" / "checkpoints"),
        "--ckpt.save_hf",
        "--logger.tensorboard_dir", str(out / "tensorboard"),
    ]  # fmt: skip
    if max_new_tokens is not None:
        args += ["--rollout.max_new_tokens", str(int(max_new_tokens))]
    if kl_loss:
        args.append("--algo.kl.use_loss")
    if freeze_vision:
        args.append("--actor.freeze_visual_encoder")
    args += [str(a) for a in extra_args]
    _check_parsed(args)
    return args


#: Trainer settings the OpenRLHF plan does not map, with their local-trainer defaults.
LOCAL_ONLY_DEFAULTS: dict[str, Any] = {
    "clip_low": 0.2,
    "clip_high": 0.28,
    "dual_clip": 0.0,
    "loss_agg": "token-mean",
    "optimizer_steps": 0,
    "lr_schedule": "constant",
    "warmup_steps": 0,
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
}


def local_only_settings(trainer: Any) -> list[str]:
    """``trainer.<name>`` settings set away from their default that OpenRLHF will not see."""
    return [
        f"trainer.{name}"
        for name, default in LOCAL_ONLY_DEFAULTS.items()
        if getattr(trainer, name, default) != default
    ]


#: Settings of the parsed OpenRLHF args that break vzgym games, however they were reached.
_FORBIDDEN_PARSED: tuple[tuple[str, str, Any], ...] = (
    ("ds.packing_samples", "packing breaks the alignment of image tokens and pixel_values", True),
    ("train.dynamic_batch_enable", "it turns on packing", True),
    ("data.apply_chat_template", FORBIDDEN_ARGS["--data.apply_chat_template"], True),
    ("algo.dynamic_filtering_enable", FORBIDDEN_ARGS["--algo.dynamic_filtering_enable"], True),
)


def _check_parsed(args: list[str]) -> None:
    """Parse ``args`` with OpenRLHF's own parser (when installed) and refuse settings
    that break vzgym games whichever flag produced them (``--ds.ring_attn_size 2``
    turns packing on, argparse accepts abbreviations)."""
    try:
        parsed = parse_train_args(args)
    except ImportError:
        return  # OpenRLHF is not installed here: the flag-name check above has to do
    for dotted, why, bad in _FORBIDDEN_PARSED:
        value: Any = parsed
        for part in dotted.split("."):
            value = getattr(value, part, None)
        if value == bad:
            raise ValueError(f"--{dotted} cannot be used with vzgym games: {why}")
    template = getattr(getattr(parsed, "data", None), "input_template", None)
    if template:
        raise ValueError(f"--data.input_template cannot be used with vzgym games: "
                         f"{FORBIDDEN_ARGS['--data.input_template']}")  # fmt: skip


def prepare_openrlhf_run(
    env_id: str,
    out_dir: str | Path,
    *,
    env_kwargs: dict[str, Any] | None = None,
    model: str | Path | None = None,
    gpus: int = 8,
    nodes: int = 1,
    vllm_tensor_parallel: int = 1,
    games: int = 256,
    group: int = 8,
    seed: int = 0,
    roles: Sequence[str] | None = None,
    advantage: str | dict[str, str] = "group_norm",
    advantage_options: dict[str, Any] | None = None,
    rollout_batch_size: int = 8,
    episodes: int = 1,
    max_len: int = 4096,
    max_new_tokens: int | None = 1024,
    temperature: float = 1.0,
    top_p: float = 1.0,
    lr: float = 1e-6,
    kl_coef: float = 0.01,
    kl_estimator: str = "k3",
    kl_loss: bool = True,
    freeze_vision: bool = False,
    dataset_format: str = "jsonl",
    ray_address: str = "http://127.0.0.1:8265",
    python: str = "python3",
    extra_args: Sequence[str] = (),
    validate: bool = True,
) -> OpenRLHFPlan:
    """Write the dataset, agent module and launch script of an OpenRLHF run; return the plan.

    Args:
        env_id, env_kwargs: the vzgym game (``vzgym.make(env_id, **env_kwargs)``).
        out_dir: the run directory (created; use shared storage on a multi-node cluster).
        model: the HF model directory or hub id trained (default: vzgym's tiny model,
            for smoke runs).
        gpus, nodes: GPUs per node and nodes; every model is colocated on all of them.
        vllm_tensor_parallel: GPUs per vLLM engine.
        games: dataset rows (game seeds ``seed .. seed + games - 1``).
        group: game copies per seed (vzgym's GRPO group).
        roles: trainable true roles (default all); other seats are played, not trained.
        advantage, advantage_options: vzgym's advantage estimator, run in the executor
            per ``(role, phase)`` over a row's samples (``"none"``: raw rewards).
        rollout_batch_size: rows (games) per rollout step.
        episodes: passes over the dataset.
        max_len, max_new_tokens: OpenRLHF's ``--data.max_len`` (prompt + answer of one
            turn) and ``--rollout.max_new_tokens`` (None: the rest of max_len).
        temperature, top_p, lr: sampling and the actor's learning rate.
        kl_coef, kl_estimator, kl_loss: the KL settings (see :func:`build_train_args`).
        freeze_vision: train the language model only.
        dataset_format: ``"jsonl"`` or ``"parquet"``.
        ray_address: the Ray dashboard address ``ray job submit`` talks to.
        python: the interpreter the Ray job runs.
        extra_args: more ``train_ppo_ray`` arguments, appended verbatim.
        validate: parse the arguments with OpenRLHF's own parser when it is installed.

    Raises:
        ValueError: bad settings, or arguments OpenRLHF's parser rejects.
    """
    if group < 1:
        raise ValueError(f"group must be >= 1, got {group}")
    if dataset_format not in ("jsonl", "parquet"):
        raise ValueError(f"dataset_format must be 'jsonl' or 'parquet', got {dataset_format!r}")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shape = probe_game(env_id, env_kwargs, seed=seed, roles=roles)
    if shape.turns < 1:
        raise ValueError(f"{env_id}: no trainable turns for roles {list(roles or [])}")
    samples = group * shape.turns
    rows = make_rows(
        env_id,
        games=games,
        group=group,
        samples=samples,
        seed=seed,
        env_kwargs=env_kwargs,
        roles=roles,
        advantage=advantage,
        advantage_options=advantage_options,
    )
    from vzgym.trainers.advantages import get_estimator

    for phase in {*shape.phases, "*"}:  # fail early on a bad name or option
        name, options = rows[0].estimator_for(phase)
        if name not in ("none", "raw"):
            get_estimator(name, **options)
    dataset_path = write_prompt_dataset(out / f"prompts.{dataset_format}", rows)
    agent_path = out / "agent.py"
    shutil.copyfile(Path(__file__).with_name("agent.py"), agent_path)
    if model is None:
        from vzgym.agents.tiny_model import default_model_dir

        model = default_model_dir()
    train_args = build_train_args(
        model=str(model),
        dataset_path=dataset_path,
        agent_path=agent_path,
        out_dir=out,
        samples_per_prompt=samples,
        max_images_per_prompt=shape.max_images,
        gpus=gpus,
        nodes=nodes,
        vllm_tensor_parallel=vllm_tensor_parallel,
        rollout_batch_size=min(rollout_batch_size, games),
        episodes=episodes,
        max_len=max_len,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        lr=lr,
        kl_coef=kl_coef,
        kl_estimator=kl_estimator,
        kl_loss=kl_loss,
        freeze_vision=freeze_vision,
        seed=seed,
        extra_args=extra_args,
    )
    if validate and openrlhf_available():
        parse_train_args(train_args)
    command = [
        "ray", "job", "submit", f"--address={ray_address}", "--",
        python, "-m", "openrlhf.cli.train_ppo_ray", *train_args,
    ]  # fmt: skip
    script_path = out / "launch.sh"
    script_path.write_text(_script(command, shape, samples, env_id), encoding="utf-8")
    script_path.chmod(0o755)
    notes = [
        f"{env_id}: {shape.turns} trainable turns per game x group {group} = {samples} samples "
        "per prompt (--rollout.n_samples_per_prompt)",
        "vzgym must be installed on every Ray node (pip install 'vzgym[openrlhf]')",
    ]
    return OpenRLHFPlan(
        out_dir=out,
        dataset_path=dataset_path,
        agent_path=agent_path,
        script_path=script_path,
        train_args=train_args,
        command=command,
        samples_per_prompt=samples,
        shape=shape,
        games=games,
        notes=notes,
    )


def _script(command: list[str], shape: GameShape, samples: int, env_id: str) -> str:
    lines = [
        "#!/usr/bin/env bash",
        f"# vzgym -> OpenRLHF GRPO run for {env_id} (written by vzgym; see docs/distributed.md).",
        f"# {shape.turns} trainable seat-turns per game; {samples} samples per prompt.",
        "# Start Ray first: `ray start --head` on the head node, `ray start --address=HEAD:6379`",
        "# on the others.  Extra train_ppo_ray arguments given to this script are appended.",
        "set -euo pipefail",
    ]
    split = command.index("openrlhf.cli.train_ppo_ray") + 1
    body = shlex.join(command[:split])
    rest = command[split:]
    i = 0
    while i < len(rest):
        chunk = [rest[i]]
        if i + 1 < len(rest) and not rest[i + 1].startswith("--"):
            chunk.append(rest[i + 1])
            i += 1
        i += 1
        body += " \\\n  " + shlex.join(chunk)
    return "\n".join(lines) + "\n" + body + ' "$@"\n'


def launch(plan: OpenRLHFPlan, *, check: bool = True, extra: Sequence[str] = ()) -> int:
    """Run the plan's ``launch.sh`` (``ray job submit ...``); return its exit code.

    Raises:
        FileNotFoundError: ``ray`` is not on ``PATH`` (install ``vzgym[openrlhf]``).
        subprocess.CalledProcessError: with ``check``, when the job fails.
    """
    if shutil.which("ray") is None:
        raise FileNotFoundError("`ray` is not on PATH: pip install 'vzgym[openrlhf]' and start Ray")
    proc = subprocess.run(["bash", str(plan.script_path), *extra], check=check)
    return proc.returncode


_run_plan = launch  # `train_with_openrlhf` has a `launch` flag shadowing the function


def openrlhf_available() -> bool:
    """Whether the ``openrlhf`` package (any of its CLI sources) can be found."""
    return _train_ppo_ray_source() is not None


def _train_ppo_ray_source() -> Path | None:
    """The installed ``openrlhf/cli/train_ppo_ray.py``, found without importing OpenRLHF."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("openrlhf")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "cli" / "train_ppo_ray.py"
        if path.is_file():
            return path
    return None


def parse_train_args(argv: Sequence[str]) -> SimpleNamespace:
    """Parse ``argv`` with OpenRLHF's own ``train_ppo_ray`` parser and validation.

    The ``if __name__ == "__main__":`` block of the installed
    ``openrlhf/cli/train_ppo_ray.py`` (parser, ``hierarchize``, every assertion)
    is executed with ``train`` replaced by a stub, so Ray, vLLM and DeepSpeed are
    not needed.  Returns the hierarchical args OpenRLHF would train with.

    Raises:
        ValueError: the parser or a validation assertion rejected ``argv``.
        ImportError: OpenRLHF is not installed.
    """
    origin = _train_ppo_ray_source()
    if origin is None:
        raise ImportError("openrlhf is not installed (pip install 'vzgym[openrlhf]')")
    source = origin.read_text(encoding="utf-8")
    tree = ast.parse(source)
    main = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ),
        None,
    )
    if main is None:
        raise ImportError(f"{origin}: no __main__ block to read the parser from")
    module = ast.Module(body=main.body, type_ignores=[])
    code = compile(module, str(origin), "exec")
    captured: dict[str, Any] = {}
    import argparse
    import os
    from datetime import datetime

    namespace: dict[str, Any] = {
        "__name__": "vzgym_openrlhf_parse",
        "argparse": argparse,
        "os": os,
        "datetime": datetime,
        "train": lambda args: captured.setdefault("args", args),
    }
    old_argv = sys.argv
    err, out = io.StringIO(), io.StringIO()
    sys.argv = ["train_ppo_ray", *[str(a) for a in argv]]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            exec(code, namespace)  # noqa: S102 - OpenRLHF's own parser code
    except SystemExit as exc:
        raise ValueError(
            f"OpenRLHF's parser rejected the arguments: {err.getvalue().strip()}"
        ) from exc
    except AssertionError as exc:
        raise ValueError(f"OpenRLHF's validation rejected the arguments: {exc}") from exc
    finally:
        sys.argv = old_argv
    if "args" not in captured:
        raise ValueError("OpenRLHF's __main__ block did not reach train(args)")
    args = captured["args"]
    args._vzgym_warnings = out.getvalue()
    return args


def train_with_openrlhf(
    config: Any,
    out_dir: str | Path,
    *,
    gpus: int | None = None,
    launch: bool = False,
    echo: Any = print,
    nodes: int = 1,
) -> OpenRLHFPlan:
    """``vzgym train --trainer openrlhf``: map a vzgym :class:`~vzgym.config.RunConfig` to a run.

    Mapping: ``env.id``/``env.options`` -> the game; ``policy.model`` (``"tiny"`` = vzgym's
    tiny model); ``trainer.group_size`` -> game copies per seed; ``trainer.games_per_step``
    -> ``--rollout.batch_size``; ``trainer.steps x games_per_step`` -> dataset rows;
    ``trainer.lr``; ``trainer.kl_coef`` -> ``--algo.kl.init_coef`` (k3 in the loss, as
    the local trainer); ``trainer.advantages``/``advantage_options`` -> the executor's
    per-phase estimators; ``trainer.seed``; ``sampling.temperature``/``top_p``/
    ``max_new_tokens`` (``max_prompt_tokens`` + ``max_new_tokens`` -> ``--data.max_len``,
    default 4096); ``policy.frozen_roles`` -> roles not trained (played by the trained
    policy: OpenRLHF serves one model).  The phase schedule of the local trainer does
    not apply (every phase trains every step).  Prints the files and the command; with
    ``launch`` runs it.
    """
    from vzgym.config import estimator_names

    env, pol, smp, tr = config.env, config.policy, config.sampling, config.trainer
    model = None if pol.model in ("tiny", "", None) else pol.model
    roles = None
    if pol.frozen_roles:
        shape = probe_game(env.id, dict(env.options))
        all_roles = sorted({key.split("/", 1)[0] for key in shape.turns_by_role})
        roles = [r for r in all_roles if r not in set(pol.frozen_roles)]
    max_len = 4096
    if smp.max_prompt_tokens:
        max_len = int(smp.max_prompt_tokens) + int(smp.max_new_tokens)
    plan = prepare_openrlhf_run(
        env.id,
        out_dir,
        env_kwargs=dict(env.options),
        model=model,
        gpus=gpus or 8,
        nodes=nodes,
        games=max(1, int(tr.steps) * int(tr.games_per_step)),
        group=int(tr.group_size),
        seed=int(tr.seed),
        roles=roles,
        advantage=estimator_names(env.id, dict(tr.advantages)),
        advantage_options=dict(tr.advantage_options),
        rollout_batch_size=int(tr.games_per_step),
        max_len=max_len,
        max_new_tokens=int(smp.max_new_tokens),
        temperature=float(smp.temperature),
        top_p=float(smp.top_p),
        lr=float(tr.lr),
        kl_coef=float(tr.kl_coef),
        kl_estimator="k3",
        kl_loss=True,
    )
    echo(f"wrote {plan.dataset_path}")
    echo(f"wrote {plan.agent_path}")
    echo(f"wrote {plan.script_path}")
    for note in plan.notes:
        echo(f"note: {note}")
    if getattr(tr, "phase", "adaptive") != "adaptive" or pol.role_models:
        echo("note: trainer.phase and policy.role_models are local-trainer features; ignored")
    unmapped = local_only_settings(tr)
    if unmapped:
        echo(f"note: local-trainer settings not passed to OpenRLHF: {', '.join(unmapped)}")
    echo(plan.command_line())
    if launch:
        _run_plan(plan)
    return plan

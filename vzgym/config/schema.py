"""The run configuration's sections as dataclasses, and the choices they allow.

Sections: ``[env]`` (:class:`EnvConfig`, with ``[env.options]``), ``[policy]``
(:class:`PolicyConfig`), ``[sampling]`` (:class:`SamplingConfig`), ``[trainer]``
(:class:`TrainerConfig`) and ``[logging]`` (:class:`LoggingConfig`), gathered in
:class:`RunConfig`.  Loading is :mod:`vzgym.config.load`, checking
:mod:`vzgym.config.validate`, writing :mod:`vzgym.config.write`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Learning-rate schedules over training steps (after ``warmup_steps`` of linear warm-up).
LR_SCHEDULES = ("constant", "linear", "cosine")
#: ``trainer.loss_agg`` choices (the same as :data:`vzgym.trainers.losses.LOSS_AGGREGATIONS`).
LOSS_AGGREGATIONS = ("token-mean", "seq-mean-token-mean")
#: ``trainer.backend`` choices.
BACKENDS = ("local", "openrlhf")
#: ``policy.dtype`` choices.
DTYPES = ("auto", "float32", "bfloat16", "float16")
#: ``logging.wandb_mode`` choices.
WANDB_MODES = ("offline", "online", "disabled")
#: ``trainer.device`` values: auto, cpu, mps, cuda, cuda:N.
DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
#: Placeholders ``logging.run_dir`` may use.
RUN_DIR_FIELDS = ("env", "time")


class ConfigError(ValueError):
    """A config file or override is malformed, unknown or invalid."""


@dataclass
class EnvConfig:
    """Which game to play.

    Attributes:
        id: a registered env id (``vzgym envs`` lists them).
        options: the env's constructor arguments (``[env.options]``).
    """

    id: str = "spy-clevr"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PolicyConfig:
    """Which model plays and is trained.

    Attributes:
        model: policy spec or path for every seat (``"tiny"``, ``"hf:/models/qwen"``).
        role_models: role → spec overriding ``model`` for that role; such a role is
            played by that policy and never trained (only ``model`` is updated).
        frozen_roles: roles whose turns are not trained (``"*"`` = all).
        role_starts: MM-Zero loop only: role → the model that role starts from (and
            plays as until it is first trained) instead of ``model``, e.g. a codegen and
            a solver warm-started separately by ``vzgym imitate``.
        attn_implementation: transformers attention backend (None = library default).
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        lora: train LoRA adapters instead of the full model.
        lora_r: LoRA rank.
        lora_alpha: LoRA scaling numerator.
        lora_dropout: LoRA dropout in ``[0, 1)``.
    """

    model: str = "tiny"
    role_models: dict[str, str] = field(default_factory=dict)
    frozen_roles: list[str] = field(default_factory=list)
    role_starts: dict[str, str] = field(default_factory=dict)
    attn_implementation: str | None = None
    dtype: str = "auto"
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0


@dataclass
class SamplingConfig:
    """How completions are sampled during rollouts.

    Attributes:
        temperature: sampling temperature (``0`` = greedy).
        top_p: nucleus sampling mass in ``(0, 1]``.
        max_new_tokens: completion length limit.
        max_prompt_tokens: prompt length limit (None = the model's limit).
        backend: the local trainer's rollout engine: ``"hf"`` (transformers, the
            trained model itself) or ``"vllm"`` (vLLM in a worker process in
            ``.venv-vllm``; new weights loaded after every update).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 48
    max_prompt_tokens: int | None = None
    backend: str = "hf"


@dataclass
class TrainerConfig:
    """The GRPO trainer.

    Attributes:
        backend: ``"local"`` (single process) or ``"openrlhf"``.
        steps: training steps of the run (each: one rollout, then
            ``ceil(samples / (micro_batch_size * grad_accum))`` optimizer steps on it;
            checkpoints, the LR schedule and warm-up count training steps).
        games_per_step: distinct games (seeds) per step.
        group_size: copies of each game per step (GRPO group).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        betas: AdamW betas.
        clip_low: PPO ratio clip below (``1 - clip_low``).
        clip_high: PPO ratio clip above (``1 + clip_high``; DAPO clip-higher).
        kl_coef: KL penalty to the reference model (0 = none, no reference kept).
        grad_clip: max global gradient norm (0 = no clipping).
        grad_accum: gradient-accumulation micro-steps per optimizer step.
        micro_batch_size: sequences per forward/backward pass.
        seed: global random seed.
        checkpoint_every: save every N steps (0 = only at the end).
        keep_checkpoints: how many recent checkpoints to keep (0 = all).
        advantages: phase → estimator name (``"*"`` = every other phase);
            merged over the env defaults, see :func:`vzgym.config.estimator_names`.
        advantage_options: estimator name → its options (``{rae = {alpha = 0.9}}``).
        phase: stage schedule of a game that declares two stages: ``"adaptive"``,
            ``"fixed-cycle:N"`` or ``"fixed:<stage>"`` (``"fixed:clue"``).
        phase_options: options of the phase schedule (``{k_min = 3}``).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        lr_schedule: ``"constant"``, ``"linear"`` (decay to 0) or ``"cosine"`` (to 0)
            over the run's steps, after ``warmup_steps`` of linear warm-up from 0.
        warmup_steps: training steps of linear learning-rate warm-up.
        warmup_ratio: warm-up as a share of ``steps`` (used when ``warmup_steps`` is 0;
            Vision-Zero's 0.1).
        dual_clip: dual-clip constant ``c > 1`` capping the loss of negative-advantage
            tokens at ``-c·A`` (EasyR1's 3.0); 0 = off.
        loss_agg: ``"token-mean"`` (every token of an optimizer batch weighs the same) or
            ``"seq-mean-token-mean"`` (each sequence's token mean, then the mean over
            sequences; Vision-Zero/TRL).
        optimizer_steps: optimizer steps per generation batch (per training step): the
            step's samples are split into this many equal minibatches, each walked in
            micro-batches of ``micro_batch_size`` (``grad_accum`` is then not used);
            0 = one optimizer step per ``micro_batch_size × grad_accum`` samples.
        shuffle_minibatches: walk each step's samples in a seeded random order (a function
            of ``seed`` and the step, so it survives an exact resume) instead of storage
            order, so one optimizer step does not see just one GRPO group.
        eval_every: every this many steps, play ``eval.games`` held-out games of the
            current model against ``eval.opponent`` and log ``eval/*`` (0 = never).
    """

    backend: str = "local"
    steps: int = 4
    games_per_step: int = 4
    group_size: int = 4
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    clip_low: float = 0.2
    clip_high: float = 0.28
    kl_coef: float = 0.0
    grad_clip: float = 1.0
    grad_accum: int = 1
    micro_batch_size: int = 8
    seed: int = 0
    checkpoint_every: int = 2
    keep_checkpoints: int = 2
    advantages: dict[str, str] = field(default_factory=dict)
    advantage_options: dict[str, Any] = field(default_factory=dict)
    phase: str = "adaptive"
    phase_options: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    dual_clip: float = 0.0
    loss_agg: str = "token-mean"
    optimizer_steps: int = 0
    shuffle_minibatches: bool = True
    eval_every: int = 0


@dataclass
class EvaluationConfig:
    """Evaluation during training (``trainer.eval_every``; see docs/evaluation.md).

    Attributes:
        games: games per evaluation (every seed played once per seating).
        opponent: the fixed opponent's policy spec; ``""`` = the starting model.
    """

    games: int = 16
    opponent: str = ""


@dataclass
class LoggingConfig:
    """Where and how a run is logged.

    Attributes:
        run_dir: output folder; ``{env}`` and ``{time}`` are filled in (see
            :func:`vzgym.config.format_run_dir`).
        tensorboard: write TensorBoard event files.
        wandb: log to Weights & Biases.
        wandb_mode: ``"offline"``, ``"online"`` or ``"disabled"``.
        wandb_project: W&B project name.
        progress: show a progress bar.
    """

    run_dir: str = "runs/{env}-{time}"
    tensorboard: bool = False
    wandb: bool = False
    wandb_mode: str = "offline"
    wandb_project: str = "vzgym"
    progress: bool = True


@dataclass
class RunConfig:
    """The whole run: one attribute per section.

    ``preset`` names the paper preset the config started from (:mod:`vzgym.presets`;
    ``preset = "..."`` at the top of the TOML file); ``preset_keys`` are the dotted keys
    whose values came from it (not set by the file or an override).
    """

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    preset: str | None = None
    preset_keys: tuple[str, ...] = field(default=(), compare=False)
    eval: EvaluationConfig = field(default_factory=EvaluationConfig)


#: Section name → its dataclass, in file order.
SECTIONS: dict[str, type] = {
    "env": EnvConfig,
    "policy": PolicyConfig,
    "sampling": SamplingConfig,
    "trainer": TrainerConfig,
    "logging": LoggingConfig,
    "eval": EvaluationConfig,
}


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """Return `` Did you mean 'x'? Known: a, b.`` for an unknown ``name``."""
    from vzgym.core.registry import did_you_mean as close_names

    return f"{close_names(name, known)} Known: {', '.join(known)}."


def describe(value: Any) -> str:
    """Return ``value`` with its type for error messages: ``'x' (str)``."""
    return f"{value!r} ({type(value).__name__})"

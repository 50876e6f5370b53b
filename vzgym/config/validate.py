"""Checking a run configuration: choices, ranges, and the trainer's own settings.

:func:`validate` checks every section's values.  The advantage estimators and
the phase schedule are the trainer's: their names and options are checked by
building them once through the trainer layer (so a bad name fails at load time,
not mid-run).  The config package never imports :mod:`vzgym.trainers`; the
trainer layer is installed here with :func:`install_trainer_setup` by the
package root (``vzgym/__init__.py``), the one place that knows both layers.
"""

from __future__ import annotations

import datetime as _dt
import math
import string
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from vzgym.config.schema import (
    BACKENDS,
    DEVICE_RE,
    DTYPES,
    LOSS_AGGREGATIONS,
    LR_SCHEDULES,
    RUN_DIR_FIELDS,
    WANDB_MODES,
    ConfigError,
    RunConfig,
)


class TrainerSetup(Protocol):
    """What the config needs from the trainer layer (:mod:`vzgym.trainers.setup`)."""

    def estimator_names(self, env_id: str, advantages: Mapping[str, str]) -> dict[str, str]:
        """Phase → estimator name of a run: env defaults, then the config's."""

    def check_config(self, config: RunConfig) -> None:
        """Raise :class:`ConfigError` for bad estimators or phase schedule."""

    def build_estimators(self, config: RunConfig) -> dict[str, Any]:
        """Phase → advantage estimator of a run."""

    def build_phase_schedule(self, config: RunConfig) -> Any:
        """The run's phase schedule."""


_trainer_setup: Callable[[], TrainerSetup] | None = None


def install_trainer_setup(provider: Callable[[], TrainerSetup]) -> None:
    """Install the trainer layer's config functions (``provider()`` returns them on first use)."""
    global _trainer_setup
    _trainer_setup = provider


def trainer_setup() -> TrainerSetup:
    """The installed trainer layer (see :func:`install_trainer_setup`)."""
    if _trainer_setup is None:  # pragma: no cover - vzgym/__init__.py installs it
        raise ConfigError("no trainer layer is installed to check the trainer settings")
    return _trainer_setup()


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def format_run_dir(config: RunConfig, now: _dt.datetime | None = None) -> str:
    """Return ``logging.run_dir`` with ``{env}`` (env id) and ``{time}`` (``YYYYmmdd-HHMMSS``)."""
    now = now or _dt.datetime.now()
    return config.logging.run_dir.format(
        env=config.env.id.replace("/", "_"), time=now.strftime("%Y%m%d-%H%M%S")
    )


def validate(config: RunConfig) -> RunConfig:
    """Check choices and ranges of every section; return ``config`` or raise :class:`ConfigError`.

    Also builds the advantage estimators and the phase schedule once through
    the trainer layer, so bad names or options fail here rather than mid-run.
    """
    _check_env_and_policy(config)
    _check_sampling(config)
    _check_trainer(config)
    trainer_setup().check_config(config)
    _check_logging(config)
    return config


def _check_env_and_policy(config: RunConfig) -> None:
    env, pol = config.env, config.policy
    _need(bool(env.id.strip()), "env.id must not be empty")
    _need(bool(pol.model.strip()), "policy.model must not be empty")
    _need(pol.dtype in DTYPES, f"policy.dtype must be one of {DTYPES}, got {pol.dtype!r}")
    _need(pol.lora_r >= 1, f"policy.lora_r must be >= 1, got {pol.lora_r}")
    _need(pol.lora_alpha >= 1, f"policy.lora_alpha must be >= 1, got {pol.lora_alpha}")
    _need(
        0.0 <= pol.lora_dropout < 1.0,
        f"policy.lora_dropout must be in [0, 1), got {pol.lora_dropout}",
    )
    _need(
        pol.attn_implementation is None or bool(pol.attn_implementation.strip()),
        "policy.attn_implementation must be a name or unset",
    )


def _check_sampling(config: RunConfig) -> None:
    smp = config.sampling
    _need(
        math.isfinite(smp.temperature) and smp.temperature >= 0.0,
        f"sampling.temperature must be a finite number >= 0, got {smp.temperature}",
    )
    _need(0.0 < smp.top_p <= 1.0, f"sampling.top_p must be in (0, 1], got {smp.top_p}")
    _need(smp.backend in ("hf", "vllm"), f"sampling.backend is hf or vllm, got {smp.backend!r}")
    _need(
        smp.max_new_tokens >= 1, f"sampling.max_new_tokens must be >= 1, got {smp.max_new_tokens}"
    )
    _need(
        smp.max_prompt_tokens is None or smp.max_prompt_tokens >= 1,
        f"sampling.max_prompt_tokens must be >= 1 or unset, got {smp.max_prompt_tokens}",
    )


def _check_trainer(config: RunConfig) -> None:
    tr = config.trainer
    _need(tr.backend in BACKENDS, f"trainer.backend must be one of {BACKENDS}, got {tr.backend!r}")
    for name in ("steps", "games_per_step", "group_size", "grad_accum", "micro_batch_size"):
        value = getattr(tr, name)
        _need(value >= 1, f"trainer.{name} must be >= 1, got {value}")
    for name in ("checkpoint_every", "keep_checkpoints", "seed", "eval_every"):
        value = getattr(tr, name)
        _need(value >= 0, f"trainer.{name} must be >= 0, got {value}")
    _need(math.isfinite(tr.lr) and tr.lr > 0.0, f"trainer.lr must be > 0, got {tr.lr}")
    _need(
        tr.lr_schedule in LR_SCHEDULES,
        f"trainer.lr_schedule must be one of {LR_SCHEDULES}, got {tr.lr_schedule!r}",
    )
    _need(tr.warmup_steps >= 0, f"trainer.warmup_steps must be >= 0, got {tr.warmup_steps}")
    _need(
        tr.warmup_steps <= tr.steps,
        f"trainer.warmup_steps ({tr.warmup_steps}) is longer than the run ({tr.steps} steps)",
    )
    _need(0.0 <= tr.clip_low < 1.0, f"trainer.clip_low must be >= 0 and < 1, got {tr.clip_low}")
    _need(
        0.0 <= tr.warmup_ratio < 1.0,
        f"trainer.warmup_ratio must be >= 0 and < 1, got {tr.warmup_ratio}",
    )
    _need(
        tr.dual_clip == 0.0 or (math.isfinite(tr.dual_clip) and tr.dual_clip > 1.0),
        f"trainer.dual_clip must be 0 (off) or > 1, got {tr.dual_clip}",
    )
    _need(
        tr.loss_agg in LOSS_AGGREGATIONS,
        f"trainer.loss_agg must be one of {LOSS_AGGREGATIONS}, got {tr.loss_agg!r}",
    )
    _need(
        tr.optimizer_steps >= 0,
        f"trainer.optimizer_steps must be >= 0, got {tr.optimizer_steps}",
    )
    for name in ("weight_decay", "clip_low", "clip_high", "kl_coef", "grad_clip"):
        value = getattr(tr, name)
        _need(math.isfinite(value) and value >= 0.0, f"trainer.{name} must be >= 0, got {value}")
    _need(
        all(0.0 <= b < 1.0 for b in tr.betas),
        f"trainer.betas must both be in [0, 1), got {list(tr.betas)}",
    )
    _need(
        bool(DEVICE_RE.match(tr.device)),
        f"trainer.device must be auto, cpu, mps, cuda or cuda:N, got {tr.device!r}",
    )
    _need(config.eval.games >= 1, f"eval.games must be >= 1, got {config.eval.games}")


def _check_logging(config: RunConfig) -> None:
    log = config.logging
    _need(bool(log.run_dir.strip()), "logging.run_dir must not be empty")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(log.run_dir) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"logging.run_dir {log.run_dir!r}: {exc}") from exc
    for name in fields:
        _need(
            name in RUN_DIR_FIELDS,
            f"logging.run_dir: unknown placeholder {{{name}}}; use {{env}} and {{time}}",
        )
    try:
        format_run_dir(config)
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"logging.run_dir {log.run_dir!r}: {exc}") from exc
    _need(
        log.wandb_mode in WANDB_MODES,
        f"logging.wandb_mode must be one of {WANDB_MODES}, got {log.wandb_mode!r}",
    )
    _need(bool(log.wandb_project.strip()), "logging.wandb_project must not be empty")


def estimator_names(env_id: str, advantages: Mapping[str, str]) -> dict[str, str]:
    """Return the phase → estimator mapping of a run: the env defaults, then the config's.

    Keys in ``advantages`` replace the env default of that phase; a ``"*"``
    in ``advantages`` also drops the env's per-phase defaults, so
    ``{"*": "rloo"}`` means RLOO for every phase not listed explicitly.
    """
    return trainer_setup().estimator_names(env_id, advantages)


def build_estimators(config: RunConfig) -> dict[str, Any]:
    """Return the run's phase → advantage estimator (through the trainer layer)."""
    return trainer_setup().build_estimators(config)


def build_phase_schedule(config: RunConfig) -> Any:
    """Return the run's phase schedule (``trainer.phase``, through the trainer layer)."""
    return trainer_setup().build_phase_schedule(config)

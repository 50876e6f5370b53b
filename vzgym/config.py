"""One typed run configuration: a TOML file plus ``section.key=value`` overrides.

Sections and their dataclasses: ``[env]`` (:class:`EnvConfig`, with
``[env.options]``), ``[policy]`` (:class:`PolicyConfig`), ``[sampling]``
(:class:`SamplingConfig`), ``[trainer]`` (:class:`TrainerConfig`) and
``[logging]`` (:class:`LoggingConfig`).  Defaults suit the built-in tiny model
on CPU: ``vzgym train --env spy-clevr`` alone finishes in a few minutes.

Example file::

    [env]
    id = "spy-clevr"

    [env.options]
    num_players = 5

    [trainer]
    steps = 100
    lr = 3e-5
    phase = "fixed-cycle:10"

    [trainer.advantages]     # phase -> estimator; unlisted phases use the env defaults
    clue = "rloo"

    [trainer.advantage_options.rae]   # estimator name -> its options
    alpha = 0.9

Overrides (``load_config(path, ["trainer.lr=3e-5", "env.options.num_players=5"])``):

* the value is parsed as a TOML value (``3e-5``, ``true``, ``[1, 2]``,
  ``{clue = "rae"}``, ``"quoted"``); if that fails it is the raw string
  (``trainer.backend=local``);
* a ``str`` field always takes the text as written (``policy.model=123`` is
  the string ``"123"``), unless it is a quoted TOML string;
* an optional field (``X | None``) is unset with ``none`` or ``null``;
* a ``list[str]`` field also takes comma-separated text (``policy.frozen_roles=spy,civilian``);
* a dict field takes one key per override (``trainer.advantages.clue=rae``),
  merged into the file's table, or a whole inline table (``env.options={}``).

Unknown sections and keys are :class:`ConfigError` with a "did you mean";
wrongly typed values are :class:`ConfigError` naming the key and the
expected type; after loading, :func:`validate` checks choices and ranges.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import string
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "EnvConfig",
    "PolicyConfig",
    "SamplingConfig",
    "TrainerConfig",
    "LoggingConfig",
    "RunConfig",
    "SECTIONS",
    "load_config",
    "apply_overrides",
    "from_dict",
    "to_dict",
    "to_toml",
    "validate",
    "format_run_dir",
    "estimator_names",
    "build_estimators",
    "build_phase_schedule",
]


#: Learning-rate schedules over training steps (after ``warmup_steps`` of linear warm-up).
LR_SCHEDULES = ("constant", "linear", "cosine")


class ConfigError(ValueError):
    """A config file or override is malformed, unknown or invalid."""


# -- the sections ---------------------------------------------------------------


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
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 48
    max_prompt_tokens: int | None = None


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
            merged over the env defaults, see :func:`estimator_names`.
        advantage_options: estimator name → its options (``{rae = {alpha = 0.9}}``).
        phase: stage schedule of a game that declares two stages: ``"adaptive"``,
            ``"fixed-cycle:N"`` or ``"fixed:<stage>"`` (``"fixed:clue"``).
        phase_options: options of the phase schedule (``{k_min = 3}``).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        lr_schedule: ``"constant"``, ``"linear"`` (decay to 0) or ``"cosine"`` (to 0)
            over the run's steps, after ``warmup_steps`` of linear warm-up from 0.
        warmup_steps: training steps of linear learning-rate warm-up.
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
            :func:`format_run_dir`).
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
    """The whole run: one attribute per section."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    eval: EvaluationConfig = field(default_factory=EvaluationConfig)


SECTIONS: dict[str, type] = {
    "env": EnvConfig,
    "policy": PolicyConfig,
    "sampling": SamplingConfig,
    "trainer": TrainerConfig,
    "logging": LoggingConfig,
    "eval": EvaluationConfig,
}

BACKENDS = ("local", "openrlhf")
DTYPES = ("auto", "float32", "bfloat16", "float16")
WANDB_MODES = ("offline", "online", "disabled")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_RUN_DIR_FIELDS = ("env", "time")

# -- types ----------------------------------------------------------------------

_HINTS: dict[type, dict[str, Any]] = {cls: typing.get_type_hints(cls) for cls in SECTIONS.values()}


def _is_optional(tp: Any) -> tuple[bool, Any]:
    """Return ``(True, X)`` for ``X | None``, else ``(False, tp)``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return True, args[0]
    return False, tp


def _type_name(tp: Any) -> str:
    optional, inner = _is_optional(tp)
    if optional:
        return f"{_type_name(inner)} or none"
    origin = typing.get_origin(tp)
    if origin is None:
        return getattr(tp, "__name__", str(tp))
    args = typing.get_args(tp)
    if origin is dict:
        return "table" if args[1] is Any else f"table of {_type_name(args[1])}"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return f"list of {len(args)} {_type_name(args[0])}s"
    return str(tp)


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against type ``tp``; return it converted (int→float, list→tuple)."""
    optional, inner = _is_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got none")
    tp = inner
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{key}: expected {_type_name(tp)}, got {_describe(value)}")
    if tp is Any:
        return _check_toml_value(key, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(f"{key}[{i}]", item, v) for i, v in enumerate(value)]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise bad
        return tuple(_coerce(f"{key}[{i}]", a, v) for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        _, val_tp = typing.get_args(tp)
        if not isinstance(value, Mapping):
            raise bad
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{key}: keys must be strings, got {_describe(k)}")
            out[k] = _coerce(f"{key}.{k}", val_tp, v)
        return out
    raise ConfigError(f"{key}: unsupported field type {tp!r}")  # pragma: no cover


def _check_toml_value(key: str, value: Any) -> Any:
    """Free-form values (``env.options`` ...) must be representable in TOML."""
    if isinstance(value, (bool, int, float, str, _dt.date, _dt.time)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_toml_value(f"{key}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{key}: keys must be strings, got {_describe(k)}")
            out[k] = _check_toml_value(f"{key}.{k}", v)
        return out
    raise ConfigError(f"{key}: {_describe(value)} cannot be written in TOML")


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    from vzgym.core.registry import did_you_mean

    return f"{did_you_mean(name, known)} Known: {', '.join(known)}."


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


# -- building -------------------------------------------------------------------


def from_dict(data: Mapping[str, Any], *, check: bool = True) -> RunConfig:
    """Build a :class:`RunConfig` from nested plain data (``{"trainer": {"lr": 3e-5}}``).

    Missing sections and keys take their defaults; unknown ones and wrongly
    typed values raise :class:`ConfigError`.  With ``check`` (default) the
    result is also :func:`validate`-d.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"config must be a table, got {_describe(data)}")
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in SECTIONS:
            raise ConfigError(
                f"unknown config section [{name}].{_did_you_mean(name, list(SECTIONS))}"
            )
        if not isinstance(raw, Mapping):
            raise ConfigError(f"[{name}] must be a table, got {_describe(raw)}")
        cls = SECTIONS[name]
        hints = _HINTS[cls]
        kwargs = {}
        for key, value in raw.items():
            if key not in hints:
                raise ConfigError(
                    f"unknown key {name}.{key}.{_did_you_mean(key, _field_names(cls))}"
                )
            kwargs[key] = _coerce(f"{name}.{key}", hints[key], value)
        sections[name] = cls(**kwargs)
    config = RunConfig(**sections)
    if check:
        validate(config)
    return config


def _parse_value(text: str) -> tuple[Any, bool]:
    """Parse ``text`` as a TOML value; return ``(value, parsed_ok)``."""
    try:
        return tomllib.loads(f"v = {text}")["v"], True
    except tomllib.TOMLDecodeError:
        return text, False


def _override_value(key: str, tp: Any, text: str) -> Any:
    """Turn an override's text into a value for a field of type ``tp``."""
    text = text.strip()
    optional, inner = _is_optional(tp)
    if optional and text.lower() in ("none", "null"):
        return None
    value, parsed = _parse_value(text)
    if inner is str or (inner is Any and not parsed):
        return value if parsed and isinstance(value, str) else text
    if typing.get_origin(inner) is list and not parsed:
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of nested config data with ``section.key[.subkey]=value`` overrides applied.

    Raises:
        ConfigError: malformed override, unknown section or key, or a sub-key
            on a field that is not a table.
    """
    out: dict[str, Any] = {
        name: {k: _copy(v) for k, v in sec.items()} if isinstance(sec, Mapping) else sec
        for name, sec in data.items()
    }
    for item in overrides:
        path, sep, text = item.partition("=")
        parts = [p.strip() for p in path.split(".")]
        if not sep or len(parts) < 2 or not all(parts):
            raise ConfigError(f"bad override {item!r}: use section.key=value, e.g. trainer.lr=3e-5")
        name, key, rest = parts[0], parts[1], parts[2:]
        if name not in SECTIONS:
            raise ConfigError(
                f"override {item!r}: unknown section {name!r}.{_did_you_mean(name, list(SECTIONS))}"
            )
        cls = SECTIONS[name]
        hints = _HINTS[cls]
        if key not in hints:
            raise ConfigError(
                f"override {item!r}: unknown key {name}.{key}."
                f"{_did_you_mean(key, _field_names(cls))}"
            )
        section = out.setdefault(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] must be a table, got {_describe(section)}")
        tp = hints[key]
        if not rest:
            section[key] = _override_value(f"{name}.{key}", tp, text)
            continue
        if typing.get_origin(tp) is not dict:
            raise ConfigError(f"override {item!r}: {name}.{key} is a {_type_name(tp)}, not a table")
        _, val_tp = typing.get_args(tp)
        if key not in section:
            default = next(f for f in dataclasses.fields(cls) if f.name == key)
            section[key] = default.default_factory()  # type: ignore[misc]
        table = section[key]
        for sub in rest[:-1]:
            if not isinstance(table, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts)} crosses a non-table")
            table = table.setdefault(sub, {})
        if not isinstance(table, dict):
            raise ConfigError(f"override {item!r}: {'.'.join(parts)} crosses a non-table")
        leaf_tp = val_tp if len(rest) == 1 else Any
        table[rest[-1]] = _override_value(".".join(parts), leaf_tp, text)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """Load a TOML file (or only defaults when ``path`` is None), apply overrides, validate.

    Raises:
        ConfigError: unreadable or invalid TOML, unknown sections or keys
            ("did you mean"), wrong types or invalid values.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {str(path)!r} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {str(path)!r}: {exc}") from exc
    return from_dict(apply_overrides(data, overrides))


# -- validation -----------------------------------------------------------------


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def estimator_names(env_id: str, advantages: Mapping[str, str]) -> dict[str, str]:
    """Return the phase → estimator mapping of a run: the env defaults, then the config's.

    Keys in ``advantages`` replace the env default of that phase; a ``"*"``
    in ``advantages`` also drops the env's per-phase defaults, so
    ``{"*": "rloo"}`` means RLOO for every phase not listed explicitly.
    """
    from vzgym.trainers.advantages import default_estimators

    defaults = default_estimators(env_id)
    if "*" in advantages:
        defaults = {}
    return {**defaults, **advantages}


def validate(config: RunConfig) -> RunConfig:
    """Check choices and ranges of every section; return ``config`` or raise :class:`ConfigError`.

    Also builds the advantage estimators (names via
    :func:`vzgym.trainers.advantages.get_estimator`, with their options) and
    the phase schedule (:func:`vzgym.trainers.phase.make_phase_controller`)
    once, so bad names or options fail here rather than mid-run.
    """
    env, pol, smp, tr, log = (
        config.env,
        config.policy,
        config.sampling,
        config.trainer,
        config.logging,
    )
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

    _need(
        math.isfinite(smp.temperature) and smp.temperature >= 0.0,
        f"sampling.temperature must be a finite number >= 0, got {smp.temperature}",
    )
    _need(0.0 < smp.top_p <= 1.0, f"sampling.top_p must be in (0, 1], got {smp.top_p}")
    _need(
        smp.max_new_tokens >= 1, f"sampling.max_new_tokens must be >= 1, got {smp.max_new_tokens}"
    )
    _need(
        smp.max_prompt_tokens is None or smp.max_prompt_tokens >= 1,
        f"sampling.max_prompt_tokens must be >= 1 or unset, got {smp.max_prompt_tokens}",
    )

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
    for name in ("weight_decay", "clip_low", "clip_high", "kl_coef", "grad_clip"):
        value = getattr(tr, name)
        _need(math.isfinite(value) and value >= 0.0, f"trainer.{name} must be >= 0, got {value}")
    _need(
        all(0.0 <= b < 1.0 for b in tr.betas),
        f"trainer.betas must both be in [0, 1), got {list(tr.betas)}",
    )
    _need(
        bool(_DEVICE_RE.match(tr.device)),
        f"trainer.device must be auto, cpu, mps, cuda or cuda:N, got {tr.device!r}",
    )
    _need(config.eval.games >= 1, f"eval.games must be >= 1, got {config.eval.games}")
    _validate_advantages(config)
    from vzgym.registration import facts_of
    from vzgym.trainers.phase import make_phase_controller, stage_pair

    try:
        make_phase_controller(tr.phase, stages=stage_pair(facts_of(env.id)), **tr.phase_options)
    except ValueError as exc:
        raise ConfigError(f"trainer.phase / trainer.phase_options: {exc}") from exc

    _need(bool(log.run_dir.strip()), "logging.run_dir must not be empty")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(log.run_dir) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"logging.run_dir {log.run_dir!r}: {exc}") from exc
    for name in fields:
        _need(
            name in _RUN_DIR_FIELDS,
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
    return config


#: Estimators whose baseline is the other samples of the same group.
_GROUP_ESTIMATORS = ("group_norm", "rloo")


def _validate_advantages(config: RunConfig) -> None:
    from vzgym.trainers.advantages import get_estimator, list_estimators

    tr = config.trainer
    known = list_estimators()
    for name, options in tr.advantage_options.items():
        _need(
            name in known,
            f"trainer.advantage_options: unknown estimator {name!r}.{_did_you_mean(name, known)}",
        )
        _need(
            isinstance(options, Mapping),
            f"trainer.advantage_options.{name} must be a table, got {_describe(options)}",
        )
    for phase, name in estimator_names(config.env.id, tr.advantages).items():
        try:
            get_estimator(name, **tr.advantage_options.get(name, {}))
        except ValueError as exc:
            raise ConfigError(f"trainer.advantages.{phase}: {exc}") from exc
        _need(
            tr.group_size >= 2 or name not in _GROUP_ESTIMATORS,
            f"trainer.advantages.{phase} = {name!r} compares the copies of a game: with "
            f"trainer.group_size = {tr.group_size} every advantage is 0 and nothing is "
            "learned; use group_size >= 2 (or rae)",
        )


def build_estimators(config: RunConfig) -> dict[str, Any]:
    """Return the run's phase → :class:`~vzgym.trainers.advantages.AdvantageEstimator`.

    Env defaults merged with ``trainer.advantages`` (:func:`estimator_names`),
    options from ``trainer.advantage_options``; phases naming the same
    estimator share one instance.
    """
    from vzgym.trainers.advantages import build_estimators as _build

    names = estimator_names(config.env.id, config.trainer.advantages)
    return _build(names, config.trainer.advantage_options)


def build_phase_schedule(config: RunConfig) -> Any:
    """Return the run's :class:`~vzgym.trainers.phase.PhaseSchedule` (``trainer.phase``).

    It alternates the stages the game declares (:func:`~vzgym.trainers.phase.stage_pair`).
    """
    from vzgym.registration import facts_of
    from vzgym.trainers.phase import make_phase_controller, stage_pair

    stages = stage_pair(facts_of(config.env.id))
    return make_phase_controller(
        config.trainer.phase, stages=stages, **config.trainer.phase_options
    )


def format_run_dir(config: RunConfig, now: _dt.datetime | None = None) -> str:
    """Return ``logging.run_dir`` with ``{env}`` (env id) and ``{time}`` (``YYYYmmdd-HHMMSS``)."""
    now = now or _dt.datetime.now()
    return config.logging.run_dir.format(
        env=config.env.id.replace("/", "_"), time=now.strftime("%Y%m%d-%H%M%S")
    )


# -- output ---------------------------------------------------------------------


def to_dict(config: RunConfig) -> dict[str, dict[str, Any]]:
    """Return the config as nested plain data (tuples become lists; JSON-safe)."""
    return {name: _copy(dataclasses.asdict(getattr(config, name))) for name in SECTIONS}


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_str(key)


def _toml_str(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any, key: str = "value") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_str(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v, key)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    raise ConfigError(f"{key}: {_describe(value)} cannot be written in TOML")


def to_toml(config: RunConfig) -> str:
    """Write the config as TOML that :func:`load_config` reads back to an equal config.

    Unset optional values are written as comments.  Non-empty tables become
    ``[section.key]`` sub-tables (nested tables inside them are inline).
    """
    lines: list[str] = []
    for name in SECTIONS:
        section = getattr(config, name)
        if lines:
            lines.append("")
        lines.append(f"[{name}]")
        tables: list[tuple[str, Mapping[str, Any]]] = []
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if value is None:
                lines.append(f"# {_toml_key(f.name)} = (unset)")
            elif isinstance(value, Mapping) and value:
                tables.append((f.name, value))
            else:
                lines.append(f"{_toml_key(f.name)} = {_toml_value(value, f'{name}.{f.name}')}")
        for key, table in tables:
            lines.append("")
            lines.append(f"[{name}.{_toml_key(key)}]")
            for k, v in table.items():
                lines.append(f"{_toml_key(k)} = {_toml_value(v, f'{name}.{key}.{k}')}")
    return "\n".join(lines) + "\n"

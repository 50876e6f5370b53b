"""One typed run configuration: a TOML file plus ``section.key=value`` overrides.

Sections and their dataclasses (:mod:`vzgym.config.schema`): ``[env]``
(:class:`EnvConfig`, with ``[env.options]``), ``[policy]`` (:class:`PolicyConfig`),
``[sampling]`` (:class:`SamplingConfig`), ``[trainer]`` (:class:`TrainerConfig`),
``[logging]`` (:class:`LoggingConfig`) and ``[eval]`` (:class:`EvaluationConfig`).
Defaults suit the built-in tiny model on CPU: ``vzgym train --env spy-clevr`` alone
finishes in a few minutes.

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

Loading and overrides: :mod:`vzgym.config.load`; checks: :mod:`vzgym.config.validate`;
writing: :mod:`vzgym.config.write`.  Unknown sections and keys are
:class:`ConfigError` with a "did you mean"; wrongly typed values are
:class:`ConfigError` naming the key and the expected type; after loading,
:func:`validate` checks choices and ranges.
"""

from vzgym.config.load import apply_overrides, from_dict, load_config
from vzgym.config.schema import (
    BACKENDS,
    DTYPES,
    LOSS_AGGREGATIONS,
    LR_SCHEDULES,
    SECTIONS,
    WANDB_MODES,
    ConfigError,
    EnvConfig,
    EvaluationConfig,
    LoggingConfig,
    PolicyConfig,
    RunConfig,
    SamplingConfig,
    TrainerConfig,
)
from vzgym.config.validate import (
    build_estimators,
    build_phase_schedule,
    estimator_names,
    format_run_dir,
    install_trainer_setup,
    validate,
)
from vzgym.config.write import to_dict, to_toml

__all__ = [
    "BACKENDS",
    "DTYPES",
    "LOSS_AGGREGATIONS",
    "LR_SCHEDULES",
    "WANDB_MODES",
    "ConfigError",
    "EnvConfig",
    "EvaluationConfig",
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
    "install_trainer_setup",
]

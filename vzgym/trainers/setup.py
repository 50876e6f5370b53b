"""The trainer's reading of a run config: advantage estimators and the phase schedule.

:mod:`vzgym.config` checks a config through these functions (installed by the
package root) without importing the trainers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vzgym.config.schema import ConfigError, RunConfig, describe, did_you_mean

#: Estimators whose baseline is the other samples of the same group.
_GROUP_ESTIMATORS = ("group_norm", "rloo")


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


def _samples_per_prompt(config: RunConfig) -> dict[str, int]:
    """Stage → samples one episode draws from one prompt (env-declared; {} if unknown)."""
    from vzgym.registration import get_registry

    try:
        return get_registry().spec(config.env.id).samples_per_prompt(dict(config.env.options))
    except Exception:  # noqa: BLE001 - an unknown env is reported by the env checks
        return {}


def _declares_stages(env_id: str) -> bool:
    """True when the game declares its stages (its ``"*"`` estimator is only a fallback)."""
    from vzgym.registration import get_registry

    try:
        return bool(get_registry().spec(env_id).facts.stages)
    except Exception:  # noqa: BLE001 - an unknown env is reported by the env checks
        return False


def check_config(config: RunConfig) -> None:
    """Build the run's estimators and phase schedule once; raise :class:`ConfigError` if bad."""
    from vzgym.trainers.advantages import get_estimator, list_estimators
    from vzgym.trainers.phase import make_phase_controller

    tr = config.trainer
    known = list_estimators()
    for name, options in tr.advantage_options.items():
        if name not in known:
            raise ConfigError(
                f"trainer.advantage_options: unknown estimator {name!r}.{did_you_mean(name, known)}"
            )
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"trainer.advantage_options.{name} must be a table, got {describe(options)}"
            )
    for phase, name in estimator_names(config.env.id, tr.advantages).items():
        try:
            get_estimator(name, **tr.advantage_options.get(name, {}))
        except ValueError as exc:
            raise ConfigError(f"trainer.advantages.{phase}: {exc}") from exc
        if phase == "*" and _declares_stages(config.env.id):
            continue  # every turn of a staged game belongs to a declared stage
        per_prompt = _samples_per_prompt(config).get(phase, 1)
        if tr.group_size * per_prompt < 2 and name in _GROUP_ESTIMATORS:
            raise ConfigError(
                f"trainer.advantages.{phase} = {name!r} compares the copies of a game: with "
                f"trainer.group_size = {tr.group_size} every advantage is 0 and nothing is "
                "learned; use group_size >= 2 (or rae)"
            )
    try:
        make_phase_controller(tr.phase, stages=_stages(config), **tr.phase_options)
    except ValueError as exc:
        raise ConfigError(f"trainer.phase / trainer.phase_options: {exc}") from exc


def build_estimators(config: RunConfig) -> dict[str, Any]:
    """Return the run's phase → :class:`~vzgym.trainers.advantages.AdvantageEstimator`.

    Env defaults merged with ``trainer.advantages`` (:func:`estimator_names`),
    options from ``trainer.advantage_options``; phases naming the same
    estimator share one instance.
    """
    from vzgym.trainers.advantages import build_estimators as _build

    names = estimator_names(config.env.id, config.trainer.advantages)
    return _build(names, config.trainer.advantage_options)


def _stages(config: RunConfig) -> Any:
    """The (solve, harden) stages the run's game declares (None: fewer than two)."""
    from vzgym.registration import facts_of
    from vzgym.trainers.phase import stage_pair

    return stage_pair(facts_of(config.env.id))


def build_phase_schedule(config: RunConfig) -> Any:
    """Return the run's :class:`~vzgym.trainers.phase.PhaseSchedule` (``trainer.phase``).

    It alternates the stages the game declares (:func:`~vzgym.trainers.phase.stage_pair`).
    """
    from vzgym.trainers.phase import make_phase_controller

    return make_phase_controller(
        config.trainer.phase, stages=_stages(config), **config.trainer.phase_options
    )

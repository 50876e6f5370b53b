"""Advantage estimators, pluggable through the ``register_advantages`` hook.

Built-ins (always available, also when a plugin's hook raises):

* ``group_norm`` — GRPO: within each group of samples sharing
  ``(group_id, role, phase, prompt_key)`` (the same seed, role and stage; and the
  same agent slot in games that declare ``group_by="agent"``: the samples that
  answered the same prompt),
  ``A = (r - mean) / (std + eps)``; with ``scale_by_std=False`` (Dr. GRPO)
  ``A = r - mean``.  ``std`` is by default the **sample** standard deviation
  (``ddof=1``, ``eps=1e-4``), as ``torch.std`` computes it in TRL's GRPO and in
  the generic GRPO path of Vision-Zero's released trainer; Vision-Zero's
  per-game-phase normalisation (``_apply_group_normalization``) uses the
  population std instead: ``ddof=0, eps=1e-8``.  A group of one sample, or whose
  rewards are all equal, gets advantage exactly 0.
* ``rae`` — role-conditioned advantage estimation (SPIRAL; Vision-Zero's clue
  stage uses a variant): an EMA baseline per ``(role, phase)``, read *before*
  it is updated with the current rewards (see :class:`RAE`).
* ``rloo`` — REINFORCE leave-one-out: ``A_i = r_i - mean_{j != i} r_j`` within
  ``(group_id, role, phase)``; a group of one sample gets 0.

Plugins add more with::

    @hookimpl
    def register_advantages(register):
        register("my_adv", MyEstimator)   # factory(**options) -> AdvantageEstimator

The built-ins are registered once, first, and are never shadowed: a plugin
registering a taken name (a built-in's or an earlier plugin's) is refused and
the refusal is recorded against that plugin (``vzgym plugins``); its other
estimators still register.  Plugins register in load order (entry points in
discovery order).  See :class:`vzgym.core.registry.Registry`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vzgym.core.registry import BUILTIN, Registry

__all__ = [
    "AdvSample",
    "AdvantageEstimator",
    "GroupNorm",
    "RAE",
    "RLOO",
    "build_estimators",
    "compute_advantages",
    "default_estimators",
    "estimator_owner",
    "get_estimator",
    "list_estimators",
    "register",
]

EstimatorFactory = Callable[..., "AdvantageEstimator"]


@dataclass(frozen=True)
class AdvSample:
    """One trainable turn as an advantage estimator sees it.

    Attributes:
        reward: the turn's reward (``reward`` column of the trajectory rows).
        group_id: samples of the same game seed share it (GRPO groups).
        role: the player's true role (``"spy"``, ``"civilian"``, ``"proposer"`` ...).
        phase: the game stage of the turn (``"clue"``, ``"decision"`` ...).
        episode_id: the game the turn belongs to (informative only).
        prompt_key: splits a ``(group_id, role, phase)`` group further into the turns
            that answered the same prompt (the agent slot in games whose facts say
            ``group_by="agent"``; empty otherwise).
    """

    reward: float
    group_id: int
    role: str
    phase: str
    episode_id: int = 0
    prompt_key: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, Any], group_by: str = "role") -> AdvSample:
        """Build a sample from a trajectory row (a dict with :data:`TURN_SCHEMA` fields).

        ``group_by="agent"`` (the game's :attr:`GameFacts.group_by`) keys the group by
        the row's agent as well.
        """
        return cls(
            reward=float(row["reward"]),
            group_id=int(row["group_id"]),
            role=str(row["role"]),
            phase=str(row["phase"]),
            episode_id=int(row.get("episode_id", 0) or 0),
            prompt_key=str(row["agent"]) if group_by == "agent" else "",
        )


class AdvantageEstimator(ABC):
    """Turns a batch of rewards into advantages (one float per sample, same order)."""

    name: str = ""

    @abstractmethod
    def compute(self, samples: Sequence[AdvSample]) -> np.ndarray:
        """Return the advantage of every sample, as a float64 array of ``len(samples)``."""

    def state_dict(self) -> dict[str, Any]:
        """Return the estimator's state as JSON-serialisable data (stateless: ``{}``)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Restore a state returned by :meth:`state_dict` (stateless estimators ignore it)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _group_indices(
    samples: Sequence[AdvSample], with_group: bool = True
) -> dict[tuple[Any, ...], list[int]]:
    """Indices per ``(group_id, role, phase, prompt_key)`` (or ``(role, phase)``), in order."""
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        key = (s.group_id, s.role, s.phase, s.prompt_key) if with_group else (s.role, s.phase)
        groups[key].append(i)
    return groups


def _rewards(samples: Sequence[AdvSample]) -> np.ndarray:
    rewards = np.array([float(s.reward) for s in samples], dtype=np.float64)
    if not np.all(np.isfinite(rewards)):
        raise ValueError("advantage estimation needs finite rewards (got NaN or inf)")
    return rewards


class GroupNorm(AdvantageEstimator):
    """GRPO group normalisation over ``(group_id, role, phase)`` groups.

    Args:
        scale_by_std: divide by ``std + eps`` (GRPO); False gives Dr. GRPO's ``r - mean``.
        eps: added to the standard deviation.
        ddof: delta degrees of freedom of the std: 1 (default) the sample std,
            0 the population std (Vision-Zero's per-phase normalisation).

    Groups of one sample, or with all rewards equal, get advantage 0.  The
    advantages of each group sum to 0 (up to rounding).
    """

    name = "group_norm"

    def __init__(self, *, scale_by_std: bool = True, eps: float = 1e-4, ddof: int = 1) -> None:
        if not (isinstance(eps, (int, float)) and eps >= 0 and math.isfinite(eps)):
            raise ValueError(f"group_norm: eps must be a finite number >= 0, got {eps!r}")
        if ddof not in (0, 1) or isinstance(ddof, bool):
            raise ValueError(f"group_norm: ddof must be 0 or 1, got {ddof!r}")
        self.scale_by_std = bool(scale_by_std)
        self.eps = float(eps)
        self.ddof = int(ddof)

    def compute(self, samples: Sequence[AdvSample]) -> np.ndarray:
        """Return ``(r - group mean) / (group std + eps)`` per sample (see the class doc)."""
        rewards = _rewards(samples)
        out = np.zeros(len(samples), dtype=np.float64)
        for idx in _group_indices(samples).values():
            r = rewards[idx]
            if len(r) < 2 or np.all(r == r[0]):
                continue
            centred = r - r.mean()
            if self.scale_by_std:
                centred = centred / (r.std(ddof=self.ddof) + self.eps)
            out[idx] = centred
        return out

    def __repr__(self) -> str:
        return f"GroupNorm(scale_by_std={self.scale_by_std}, eps={self.eps}, ddof={self.ddof})"


class RLOO(AdvantageEstimator):
    """REINFORCE leave-one-out within ``(group_id, role, phase)`` groups.

    ``A_i = r_i - (sum_j r_j - r_i) / (n - 1)``; a group of one sample, or with
    all rewards equal, gets 0.  The advantages of each group sum to 0.
    """

    name = "rloo"

    def compute(self, samples: Sequence[AdvSample]) -> np.ndarray:
        """Return each reward minus the mean of the other rewards of its group."""
        rewards = _rewards(samples)
        out = np.zeros(len(samples), dtype=np.float64)
        for idx in _group_indices(samples).values():
            r = rewards[idx]
            n = len(r)
            if n < 2 or np.all(r == r[0]):
                continue
            out[idx] = r - (r.sum() - r) / (n - 1)
        return out


class RAE(AdvantageEstimator):
    """Role-conditioned advantage estimation: an EMA reward baseline per ``(role, phase)``.

    SPIRAL (Liu et al. 2025, ``spiral-rl/spiral``, ``train_spiral.py``) keeps
    one EMA per player role with decay ``0.95``; for each finished game it
    reads the baseline *before* updating it with that game's reward
    (``baseline = ema.get(); ema.update(r); A = r - baseline``); its EMA
    starts at 0 without bias correction.  Vision-Zero's released code
    (``clevr_spotdiff_generator.py``) differs: it updates its per-role EMA
    (``α = 0.9``, no bias correction) with the game's rewards *first* and then
    subtracts it: with one game per update ``A = α (r - b_old)``, SPIRAL's
    advantage scaled by ``α``.

    Here, per key ``k = (role, phase)`` present in a batch, with ``r̄_k`` the
    mean reward of the key's samples in the batch:

    * advantage ``A = r - b̂_k`` with ``b̂_k = b_k / (1 - α^t_k)`` the
      bias-corrected baseline *before* this batch's update (``t_k`` = number
      of batches that updated ``k`` so far);
    * then ``b_k ← α b_k + (1 - α) r̄_k`` and ``t_k ← t_k + 1``.

    The update is **per batch** (one update with the batch mean per key),
    not per sample: all samples of a key in a batch see the same baseline,
    so the result does not depend on the order of samples within a batch.
    With one game per role per batch this is exactly SPIRAL's per-game update
    (plus the bias correction the issue asks for).

    A key seen for the first time has no baseline: ``first_batch="batch_mean"``
    (default) uses ``r̄_k`` of the current batch as the baseline, ``"zero"``
    uses 0 (SPIRAL's un-corrected first step).

    ``order`` selects the update order:

    * ``"spiral"`` (default): read the bias-corrected baseline, then update (above).
    * ``"paper"``: Vision-Zero's Algorithm 1 and released code: **update first**,
      then subtract the *new*, uncorrected baseline, starting from ``b_k = 0``:
      ``b_k ← α b_k + (1 - α) r̄_k``, ``A = r - b_k``.  With one game per batch
      this is ``A = α (r - b_old)``.  ``first_batch`` and the bias correction do
      not apply.

    Args:
        alpha: EMA decay, ``0 < α < 1`` (default 0.95).
        first_batch: ``"batch_mean"`` or ``"zero"`` (see above).
        order: ``"spiral"`` or ``"paper"`` (see above).
    """

    name = "rae"
    FIRST_BATCH_MODES = ("batch_mean", "zero")
    ORDERS = ("spiral", "paper")

    def __init__(
        self, *, alpha: float = 0.95, first_batch: str = "batch_mean", order: str = "spiral"
    ) -> None:
        if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
            raise ValueError(f"rae: alpha must be in (0, 1), got {alpha!r}")
        if first_batch not in self.FIRST_BATCH_MODES:
            raise ValueError(
                f"rae: first_batch must be one of {self.FIRST_BATCH_MODES}, got {first_batch!r}"
            )
        if order not in self.ORDERS:
            raise ValueError(f"rae: order must be one of {self.ORDERS}, got {order!r}")
        self.alpha = float(alpha)
        self.first_batch = first_batch
        self.order = order
        self._ema: dict[tuple[str, str], float] = {}
        self._count: dict[tuple[str, str], int] = {}

    def baseline(self, role: str, phase: str) -> float | None:
        """Return the baseline of ``(role, phase)`` (None if never updated).

        ``order="spiral"``: the bias-corrected ``b̂``; ``"paper"``: the raw EMA.
        """
        key = (role, phase)
        t = self._count.get(key, 0)
        if t == 0:
            return None
        if self.order == "paper":
            return self._ema[key]
        return self._ema[key] / (1.0 - self.alpha**t)

    def compute(self, samples: Sequence[AdvSample]) -> np.ndarray:
        """Return ``r - baseline`` per sample, updating each key's EMA with its batch mean.

        ``order="spiral"`` reads the baselines before the update, ``"paper"`` after it.
        """
        rewards = _rewards(samples)
        out = np.zeros(len(samples), dtype=np.float64)
        groups = _group_indices(samples, with_group=False)
        if self.order == "paper":
            for key, idx in groups.items():
                self._update(key, float(rewards[idx].mean()))
                out[idx] = rewards[idx] - self._ema[key]
            return out
        for key, idx in groups.items():
            r = rewards[idx]
            batch_mean = float(r.mean())
            b_hat = self.baseline(*key)
            if b_hat is None:
                b_hat = batch_mean if self.first_batch == "batch_mean" else 0.0
            out[idx] = r - b_hat
        for key, idx in groups.items():  # update only after every baseline was read
            self._update(key, float(rewards[idx].mean()))
        return out

    def _update(self, key: tuple[str, str], batch_mean: float) -> None:
        self._ema[key] = self.alpha * self._ema.get(key, 0.0) + (1.0 - self.alpha) * batch_mean
        self._count[key] = self._count.get(key, 0) + 1

    def state_dict(self) -> dict[str, Any]:
        """Return alpha, first_batch, order and every key's raw EMA and count (JSON-safe)."""
        return {
            "alpha": self.alpha,
            "first_batch": self.first_batch,
            "order": self.order,
            "baselines": [
                {"role": role, "phase": phase, "ema": self._ema[(role, phase)], "count": count}
                for (role, phase), count in sorted(self._count.items())
            ],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output exactly (floats survive JSON unchanged)."""
        alpha = float(state.get("alpha", self.alpha))
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"rae state: alpha must be in (0, 1), got {alpha!r}")
        first_batch = state.get("first_batch", self.first_batch)
        if first_batch not in self.FIRST_BATCH_MODES:
            raise ValueError(f"rae state: bad first_batch {first_batch!r}")
        order = state.get("order", self.order)
        if order not in self.ORDERS:
            raise ValueError(f"rae state: bad order {order!r}")
        ema: dict[tuple[str, str], float] = {}
        count: dict[tuple[str, str], int] = {}
        for entry in state.get("baselines", []):
            key = (str(entry["role"]), str(entry["phase"]))
            ema[key] = float(entry["ema"])
            count[key] = int(entry["count"])
        self.alpha, self.first_batch, self.order = alpha, first_batch, order
        self._ema, self._count = ema, count

    def __repr__(self) -> str:
        return f"RAE(alpha={self.alpha}, first_batch={self.first_batch!r}, order={self.order!r})"


# -- registry -------------------------------------------------------------------

BUILTIN_ESTIMATORS: dict[str, EstimatorFactory] = {
    GroupNorm.name: GroupNorm,
    RAE.name: RAE,
    RLOO.name: RLOO,
}

_manual: list[tuple[str, EstimatorFactory]] = []
_registry: Registry[EstimatorFactory] | None = None
_registry_key: tuple[Any, ...] | None = None


def _build_registry() -> Registry[EstimatorFactory]:
    """Built-ins first (once each), then :func:`register` calls, then plugins in load order."""
    global _registry, _registry_key
    from vzgym.plugins import manager

    key = manager.hook_key("register_advantages")
    if _registry is not None and key == _registry_key:
        return _registry
    registry: Registry[EstimatorFactory] = Registry("advantage estimator")
    for name, factory in BUILTIN_ESTIMATORS.items():
        registry.add(name, factory, BUILTIN, builtin=True)
    for name, factory in _manual:
        registry.add(name, factory, "register()")

    def add(plugin: str, name: str, factory: EstimatorFactory) -> None:
        _check_factory(name, factory)
        registry.add(name, factory, plugin)

    manager.fill_registry("register_advantages", add)  # a taken name: recorded, not replaced
    _registry, _registry_key = registry, key
    return registry


def _check_factory(name: Any, factory: Any) -> None:
    if not callable(factory):
        raise TypeError(f"advantage estimator {name!r}: factory must be callable")


def register(name: str, factory: EstimatorFactory) -> None:
    """Register ``factory`` under ``name`` for this process (outside the plugin hook).

    Prefer the ``register_advantages`` hook; this is for scripts and notebooks.
    Such registrations come after the built-ins and before plugins; a name
    already taken (a built-in or an earlier registration) is refused.

    Raises:
        RegistryCollision: ``name`` is taken.
    """
    global _registry
    _check_factory(name, factory)
    registry = _build_registry()
    registry.add(name, factory, "register()")  # raises for a taken name
    _manual.append((name, factory))
    _registry = None


def list_estimators() -> list[str]:
    """Return the names of all known estimators (built-in and plugin), sorted."""
    return _build_registry().names()


def estimator_owner(name: str) -> str:
    """Who registered estimator ``name`` (:data:`~vzgym.core.registry.BUILTIN` or a plugin)."""
    return _build_registry().entry(name).owner


def get_estimator(name: str, **options: Any) -> AdvantageEstimator:
    """Build the estimator registered as ``name`` with ``options``.

    Raises:
        ValueError: unknown name (with "did you mean" and the known names), or
            options the estimator does not accept.
    """
    registry = _build_registry()
    factory = registry.get(name)  # UnknownNameError (a ValueError): did you mean ...
    try:
        estimator = factory(**options)
    except TypeError as exc:
        raise ValueError(f"advantage estimator {name!r}: bad options {options}: {exc}") from exc
    if not isinstance(estimator, AdvantageEstimator):
        raise TypeError(
            f"advantage estimator {name!r}: factory returned {type(estimator).__name__}, "
            "not an AdvantageEstimator"
        )
    return estimator


# -- dispatch -------------------------------------------------------------------


def default_estimators(env_id: str) -> dict[str, str]:
    """Return the default phase → estimator-name mapping the game ``env_id`` declares.

    Read from its :meth:`GameFacts.advantages <vzgym.core.facts.GameFacts.advantages>`
    (each declared stage's estimator, ``"*"`` for the rest); a game that declares
    nothing (or an unknown id) gets ``group_norm`` for every phase.
    """
    from vzgym.registration import facts_of

    return facts_of(env_id).advantages()


def build_estimators(
    names: Mapping[str, str], options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, AdvantageEstimator]:
    """Build phase → estimator from phase → name (e.g. :func:`default_estimators`).

    ``options`` maps an estimator *name* to its options (``{"rae": {"alpha": 0.9}}``).
    Phases naming the same estimator share one instance, so its state (RAE
    baselines) is one object and :func:`compute_advantages` calls it once.

    Raises:
        ValueError: unknown names or bad options (from :func:`get_estimator`).
    """
    options = options or {}
    by_name: dict[str, AdvantageEstimator] = {}
    out: dict[str, AdvantageEstimator] = {}
    for phase, name in names.items():
        if name not in by_name:
            by_name[name] = get_estimator(name, **dict(options.get(name, {})))
        out[phase] = by_name[name]
    return out


def compute_advantages(
    samples: Sequence[AdvSample], estimators: Mapping[str, AdvantageEstimator]
) -> np.ndarray:
    """Compute advantages, dispatching each sample to the estimator of its phase.

    ``estimators`` maps phase → estimator, with ``"*"`` as the fallback for
    phases not listed.  Each estimator sees only its phase's samples (in input
    order) and is called at most once; the result keeps the input order.

    Raises:
        ValueError: a sample's phase has no estimator and there is no ``"*"``.
    """
    out = np.zeros(len(samples), dtype=np.float64)
    by_phase: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_phase[s.phase].append(i)
    # samples sharing one estimator object (e.g. "*") go to it in one call
    by_estimator: dict[int, tuple[AdvantageEstimator, list[int]]] = {}
    for phase, idx in by_phase.items():
        estimator = estimators.get(phase, estimators.get("*"))
        if estimator is None:
            known = ", ".join(sorted(estimators)) or "none"
            raise ValueError(f"no advantage estimator for phase {phase!r} (have: {known})")
        by_estimator.setdefault(id(estimator), (estimator, []))[1].extend(idx)
    for estimator, idx in by_estimator.values():
        idx.sort()
        values = np.asarray(estimator.compute([samples[i] for i in idx]), dtype=np.float64)
        if values.shape != (len(idx),):
            raise ValueError(f"{estimator!r} returned shape {values.shape} for {len(idx)} samples")
        out[idx] = values
    return out

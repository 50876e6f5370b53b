"""Which stage of a two-stage game to train: Vision-Zero's Iterative-SPO phase controller.

A staged game declares its two stages and the statistics that drive the switch
(:class:`vzgym.core.facts.StageSwitch`): a **solve** stage (Vision-Zero: the
decision, i.e. voting) trained until the task is solved, then a **harden**
stage (Vision-Zero: the clues) trained until the task got too hard.  Every
schedule takes the pair as ``stages=(solve, harden)``; the default is
Vision-Zero's ``("decision", "clue")`` (so the thresholds keep their paper names:
``acc_to_clue`` is the solve → harden accuracy threshold, and so on).
Schedules (all share the :class:`PhaseSchedule` API):

* :class:`PhaseController` (spec ``"adaptive"``, the default) — starts in the
  solve stage; keeps bias-corrected EMAs (``ρ = 0.95``) of the declared accuracy
  and N/A rate; switches solve → harden when ``acc ≥ 0.9`` and ``N/A ≤ 0.1``
  (the task is solved: make it harder), and harden → solve when
  ``1 − acc ≥ 0.4`` or ``N/A ≥ 0.5`` (it got too hard), never before
  ``K_min = 5`` steps in a phase.
  That is ``variant="vzgym"``.  ``variant="algorithm1"`` follows the paper's
  Algorithm 1 instead: the EMAs start at 0 and are **not** bias-corrected
  (Eq. 8; with ``ρ = 0.95`` and perfect accuracy the EMA first reaches 0.9 after
  45 steps), a switch needs its condition to hold for ``patience`` consecutive
  steps (``P = 20``, Tab. 5; our reading of "patience"), and the metrics are
  measured on a held-out batch of ``measure_games`` games played with argmax
  (greedy) decoding (Eq. 7), which the trainer plays for it each step
  (:attr:`PhaseController.measure_games`), not read from the sampled training votes.
* :class:`FixedCycle` (``"fixed-cycle:N"``) — ``N`` steps of the solve stage,
  ``N`` of the harden stage, and so on; this is what Vision-Zero's released
  trainer does (``training_phase=interactive``, ``interactive_cycle_length``).
* :class:`FixedPhase` (``"fixed:<stage>"``, e.g. ``"fixed:clue"``) — never switches.

**EMAs run across phases.**  Votes are cast every step whichever stage is
trained (the clue rewards are computed from them), so the accuracy and N/A
rate are measured every step; the EMAs keep averaging them through switches
instead of restarting (restarting would blind the controller for several
steps after each switch, on top of ``K_min``).  ``reset_on_switch=True``
restarts them (and their bias correction) at each switch instead.  The
released Vision-Zero code has no adaptive controller (only the fixed cycle),
so this is our reading of the paper.

Call :meth:`update` once after every training step with that step's metrics;
it returns the phase to train at the next step.  Switches are appended to
``.switches`` as ``{"step", "from", "to", "acc_ema", "na_ema"}`` and logged at
INFO level on the ``vzgym.trainers.phase`` logger; ``step`` is the finished
step whose update caused the switch (the new phase trains from ``step + 1``).
Phase counters count :meth:`update` calls, not step numbers, so ``step`` is
used for the log only.  States record their stage pair; a state without one
(written before stages were declared) is read with the schedule's own pair.
"""

from __future__ import annotations

import inspect
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from vzgym.core.registry import did_you_mean

#: Slack for threshold comparisons: a bias-corrected EMA of a constant 1.0 is
#: 0.9999999999999998, which must still reach a threshold of 1.0.
_TOL = 1e-9

logger = logging.getLogger(__name__)

#: The (solve, harden) stage pair when none is given: Vision-Zero's names.
DEFAULT_STAGES: tuple[str, str] = ("decision", "clue")
#: Kept for callers of the old API: the default stage pair.
PHASES = DEFAULT_STAGES
PHASE_SPECS = ("adaptive", "fixed-cycle:N", "fixed:<stage>")
#: ``variant`` choices of the adaptive controller.
ADAPTIVE_VARIANTS = ("vzgym", "algorithm1")


def _check_stages(stages: Any) -> tuple[str, str]:
    pair = tuple(stages) if isinstance(stages, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(s, str) and s for s in pair) or pair[0] == pair[1]:
        raise ValueError(f"stages must be two different names (solve, harden), got {stages!r}")
    return (str(pair[0]), str(pair[1]))


def stage_pair(facts: Any) -> tuple[str, str] | None:
    """The (solve, harden) stages of a game's :class:`~vzgym.core.facts.GameFacts`.

    The declared switch's stages; without a switch, the first two declared
    stages; None for a game with fewer than two stages.
    """
    if facts.switch is not None:
        return (facts.switch.solve_stage, facts.switch.harden_stage)
    names = [s.name for s in facts.stages]
    return (names[0], names[1]) if len(names) >= 2 else None


class PhaseSchedule(ABC):
    """Common API of the phase schedules: ``phase``, ``update``, ``switches``, state.

    ``stages`` is the ``(solve, harden)`` pair the schedule alternates between.
    """

    def __init__(self, stages: tuple[str, str] = DEFAULT_STAGES) -> None:
        self.stages = _check_stages(stages)
        self.switches: list[dict[str, Any]] = []

    def _check_phase(self, phase: str, what: str = "phase") -> str:
        if phase not in self.stages:
            raise ValueError(f"{what} must be one of {self.stages}, got {phase!r}")
        return phase

    def _other(self, phase: str) -> str:
        return self.stages[1] if phase == self.stages[0] else self.stages[0]

    def _load_stages(self, state: Mapping[str, Any]) -> None:
        """Check a state's stage pair against this schedule's (absent in old states: ours)."""
        saved = state.get("stages")
        if saved is not None and _check_stages(saved) != self.stages:
            raise ValueError(
                f"the saved phase schedule alternates {tuple(saved)}, this game's stages are "
                f"{self.stages}"
            )

    @property
    @abstractmethod
    def phase(self) -> str:
        """The phase to train at the current (next) step."""

    @abstractmethod
    def update(self, step: int, accuracy: float | None = None, na_rate: float | None = None) -> str:
        """Record step ``step``'s declared accuracy and N/A rate; return the next step's phase."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable state from which :meth:`load_state_dict` resumes exactly."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state returned by :meth:`state_dict`."""

    def _switch(self, step: int, to: str, acc_ema: float | None, na_ema: float | None) -> None:
        event = {
            "step": int(step),
            "from": self._other(to),
            "to": to,
            "acc_ema": acc_ema,
            "na_ema": na_ema,
        }
        self.switches.append(event)
        logger.info(
            "phase switch at step %d: %s -> %s (acc_ema=%s, na_ema=%s)",
            step,
            event["from"],
            to,
            _fmt(acc_ema),
            _fmt(na_ema),
        )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _check_rate(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return value


class _BiasCorrectedEMA:
    """``m ← ρ m + (1 − ρ) x`` from ``m = 0``; :attr:`value` is ``m / (1 − ρ^t)``.

    With ``corrected=False`` :attr:`value` is ``m`` itself (Algorithm 1's EMA).
    """

    def __init__(self, rho: float, corrected: bool = True) -> None:
        self.rho = rho
        self.corrected = corrected
        self.raw = 0.0
        self.count = 0

    def update(self, x: float) -> None:
        self.raw = self.rho * self.raw + (1.0 - self.rho) * x
        self.count += 1

    @property
    def value(self) -> float | None:
        if self.count == 0:
            return None
        if not self.corrected:
            return self.raw
        return self.raw / (1.0 - self.rho**self.count)

    def reset(self) -> None:
        self.raw, self.count = 0.0, 0


class PhaseController(PhaseSchedule):
    """Adaptive Iterative-SPO schedule driven by the game's declared accuracy and N/A rate.

    Args:
        rho: EMA decay of both metrics (bias-corrected: ``m̂ = m / (1 − ρ^t)``).
        acc_to_clue: switch solve → harden when ``acc_ema ≥ acc_to_clue`` ...
        na_to_clue: ... and ``na_ema ≤ na_to_clue``.
        err_to_decision: switch harden → solve when ``1 − acc_ema ≥ err_to_decision`` ...
        na_to_decision: ... or ``na_ema ≥ na_to_decision``.
        k_min: minimum number of steps in a phase before it may switch.
        start: the first phase (default: the solve stage).
        reset_on_switch: restart both EMAs at each switch (default: keep running).
        stages: the ``(solve, harden)`` stage names (default ``("decision", "clue")``).
        variant: ``"vzgym"`` (default: bias-corrected EMAs of the training votes, no
            patience) or ``"algorithm1"`` (the paper: uncorrected EMAs, patience,
            held-out greedy measurement).
        patience: consecutive steps the switch condition must hold (default 1 for
            ``vzgym``, 20 for ``algorithm1``).
        measure_games: games of the held-out greedy measurement per step (default 0
            for ``vzgym`` = use the training votes, 8 for ``algorithm1``).

    A step whose metric is None (or NaN: no votes were cast) leaves that EMA
    unchanged; no switch happens while an EMA it needs has no value yet.
    """

    def __init__(
        self,
        rho: float = 0.95,
        acc_to_clue: float = 0.9,
        na_to_clue: float = 0.1,
        err_to_decision: float = 0.4,
        na_to_decision: float = 0.5,
        k_min: int = 5,
        start: str | None = None,
        reset_on_switch: bool = False,
        stages: tuple[str, str] = DEFAULT_STAGES,
        variant: str = "vzgym",
        patience: int | None = None,
        measure_games: int | None = None,
    ) -> None:
        super().__init__(stages)
        if variant not in ADAPTIVE_VARIANTS:
            raise ValueError(f"variant must be one of {ADAPTIVE_VARIANTS}, got {variant!r}")
        paper = variant == "algorithm1"
        patience = (20 if paper else 1) if patience is None else patience
        measure_games = (8 if paper else 0) if measure_games is None else measure_games
        for name, value, low in (("patience", patience, 1), ("measure_games", measure_games, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        self.variant = variant
        self.patience = patience
        self.measure_games = measure_games
        self._held = 0
        if not (isinstance(rho, (int, float)) and 0.0 < rho < 1.0):
            raise ValueError(f"rho must be in (0, 1), got {rho!r}")
        for name, value in (
            ("acc_to_clue", acc_to_clue),
            ("na_to_clue", na_to_clue),
            ("err_to_decision", err_to_decision),
            ("na_to_decision", na_to_decision),
        ):
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
        if isinstance(k_min, bool) or not isinstance(k_min, int) or k_min < 1:
            raise ValueError(f"k_min must be an integer >= 1, got {k_min!r}")
        self.rho = float(rho)
        self.acc_to_clue = float(acc_to_clue)
        self.na_to_clue = float(na_to_clue)
        self.err_to_decision = float(err_to_decision)
        self.na_to_decision = float(na_to_decision)
        self.k_min = k_min
        self.reset_on_switch = bool(reset_on_switch)
        self._phase = self._check_phase(self.stages[0] if start is None else start, "start")
        self._steps_in_phase = 0
        self._acc = _BiasCorrectedEMA(self.rho, corrected=not paper)
        self._na = _BiasCorrectedEMA(self.rho, corrected=not paper)

    @property
    def phase(self) -> str:
        """The phase to train at the next step."""
        return self._phase

    @property
    def acc_ema(self) -> float | None:
        """EMA of the accuracy (bias-corrected for ``vzgym``; None before any measurement)."""
        return self._acc.value

    @property
    def na_ema(self) -> float | None:
        """EMA of the N/A rate (bias-corrected for ``vzgym``; None before any measurement)."""
        return self._na.value

    @property
    def steps_in_phase(self) -> int:
        """Steps trained in the current phase so far."""
        return self._steps_in_phase

    def update(self, step: int, accuracy: float | None = None, na_rate: float | None = None) -> str:
        """Fold in step ``step``'s accuracy and N/A rate; return the next step's phase."""
        acc = _check_rate("accuracy", accuracy)
        na = _check_rate("na_rate", na_rate)
        if acc is not None:
            self._acc.update(acc)
        if na is not None:
            self._na.update(na)
        self._steps_in_phase += 1
        if self._steps_in_phase < self.k_min:
            return self._phase
        acc_ema, na_ema = self._acc.value, self._na.value
        switch = False
        if self._phase == self.stages[0]:
            switch = (
                acc_ema is not None
                and na_ema is not None
                and acc_ema >= self.acc_to_clue - _TOL
                and na_ema <= self.na_to_clue + _TOL
            )
        else:
            switch = (acc_ema is not None and 1.0 - acc_ema >= self.err_to_decision - _TOL) or (
                na_ema is not None and na_ema >= self.na_to_decision - _TOL
            )
        self._held = self._held + 1 if switch else 0
        if switch and self._held >= self.patience:
            self._held = 0
            self._phase = self._other(self._phase)
            self._steps_in_phase = 0
            self._switch(step, self._phase, acc_ema, na_ema)
            if self.reset_on_switch:
                self._acc.reset()
                self._na.reset()
        return self._phase

    def state_dict(self) -> dict[str, Any]:
        """Return options, phase, counters, raw EMAs and the switch log (JSON-safe)."""
        return {
            "kind": "adaptive",
            "options": {
                "rho": self.rho,
                "acc_to_clue": self.acc_to_clue,
                "na_to_clue": self.na_to_clue,
                "err_to_decision": self.err_to_decision,
                "na_to_decision": self.na_to_decision,
                "k_min": self.k_min,
                "reset_on_switch": self.reset_on_switch,
                "variant": self.variant,
                "patience": self.patience,
                "measure_games": self.measure_games,
            },
            "stages": list(self.stages),
            "phase": self._phase,
            "steps_in_phase": self._steps_in_phase,
            "held": self._held,
            "acc": {"raw": self._acc.raw, "count": self._acc.count},
            "na": {"raw": self._na.raw, "count": self._na.count},
            "switches": [dict(s) for s in self.switches],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (options included) exactly."""
        if state.get("kind", "adaptive") != "adaptive":
            raise ValueError(f"not an adaptive phase-controller state: kind={state.get('kind')!r}")
        self._load_stages(state)
        fresh = PhaseController(**dict(state.get("options", {})), stages=self.stages)
        for name in (
            "rho",
            "acc_to_clue",
            "na_to_clue",
            "err_to_decision",
            "na_to_decision",
            "k_min",
            "reset_on_switch",
            "variant",
            "patience",
            "measure_games",
        ):
            setattr(self, name, getattr(fresh, name))
        self._phase = self._check_phase(state["phase"])
        self._steps_in_phase = int(state["steps_in_phase"])
        self._held = int(state.get("held", 0))
        corrected = self.variant != "algorithm1"
        self._acc = _BiasCorrectedEMA(self.rho, corrected)
        self._acc.raw, self._acc.count = float(state["acc"]["raw"]), int(state["acc"]["count"])
        self._na = _BiasCorrectedEMA(self.rho, corrected)
        self._na.raw, self._na.count = float(state["na"]["raw"]), int(state["na"]["count"])
        self.switches = [dict(s) for s in state.get("switches", [])]

    def __repr__(self) -> str:
        return (
            f"PhaseController(variant={self.variant!r}, phase={self._phase!r}, rho={self.rho}, "
            f"k_min={self.k_min}, patience={self.patience}, "
            f"acc_ema={self.acc_ema}, na_ema={self.na_ema})"
        )


class FixedCycle(PhaseSchedule):
    """``n`` steps of one phase, then ``n`` of the other, starting with ``start``.

    The k-th call of :meth:`update` (counting from 0) finishes the step trained
    in phase ``start`` if ``(k // n)`` is even, else the other phase; metrics
    are accepted and ignored.
    """

    def __init__(
        self, n: int, start: str | None = None, stages: tuple[str, str] = DEFAULT_STAGES
    ) -> None:
        super().__init__(stages)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"fixed-cycle length must be an integer >= 1, got {n!r}")
        self.n = n
        self.start = self._check_phase(self.stages[0] if start is None else start, "start")
        self._done = 0

    @property
    def phase(self) -> str:
        """The phase to train at the next step."""
        return self.start if (self._done // self.n) % 2 == 0 else self._other(self.start)

    def update(self, step: int, accuracy: float | None = None, na_rate: float | None = None) -> str:
        """Count a finished step; return the next step's phase (metrics are ignored)."""
        before = self.phase
        self._done += 1
        after = self.phase
        if after != before:
            self._switch(
                step,
                after,
                _check_rate("accuracy", accuracy),
                _check_rate("na_rate", na_rate),
            )
        return after

    def state_dict(self) -> dict[str, Any]:
        """Return ``n``, ``start``, the number of finished steps and the switch log."""
        return {
            "kind": "fixed-cycle",
            "stages": list(self.stages),
            "n": self.n,
            "start": self.start,
            "done": self._done,
            "switches": [dict(s) for s in self.switches],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output exactly."""
        if state.get("kind") != "fixed-cycle":
            raise ValueError(f"not a fixed-cycle state: kind={state.get('kind')!r}")
        self._load_stages(state)
        fresh = FixedCycle(int(state["n"]), state.get("start"), self.stages)
        self.n, self.start = fresh.n, fresh.start
        self._done = int(state["done"])
        self.switches = [dict(s) for s in state.get("switches", [])]

    def __repr__(self) -> str:
        return f"FixedCycle(n={self.n}, start={self.start!r}, phase={self.phase!r})"


class FixedPhase(PhaseSchedule):
    """Always the same phase (spec ``"fixed:<stage>"``, e.g. ``"fixed:clue"``)."""

    def __init__(self, phase: str, stages: tuple[str, str] = DEFAULT_STAGES) -> None:
        super().__init__(stages)
        self._phase = self._check_phase(phase)

    @property
    def phase(self) -> str:
        """The (only) phase."""
        return self._phase

    def update(self, step: int, accuracy: float | None = None, na_rate: float | None = None) -> str:
        """Return the fixed phase (metrics are ignored)."""
        return self._phase

    def state_dict(self) -> dict[str, Any]:
        """Return the phase."""
        return {"kind": "fixed", "stages": list(self.stages), "phase": self._phase}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        if state.get("kind") != "fixed":
            raise ValueError(f"not a fixed-phase state: kind={state.get('kind')!r}")
        self._load_stages(state)
        self._phase = self._check_phase(state["phase"])

    def __repr__(self) -> str:
        return f"FixedPhase({self._phase!r})"


def _build(
    cls: type, args: tuple[Any, ...], options: Mapping[str, Any], spec: str, stages: tuple[str, str]
) -> Any:
    """Call ``cls(*args, **options, stages=stages)``, turning unknown options into a ValueError."""
    params = [
        p
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "stages"
    ][len(args) :]
    allowed = [p.name for p in params]
    for key in options:
        if key not in allowed:
            raise ValueError(
                f"phase schedule {spec!r} has no option {key!r}.{did_you_mean(key, allowed, 1)} "
                f"Options: {', '.join(allowed) or 'none'}."
            )
    return cls(*args, **options, stages=stages)


def make_phase_controller(
    spec: str = "adaptive", *, stages: tuple[str, str] | None = None, **options: Any
) -> PhaseSchedule:
    """Build a phase schedule from a spec string.

    Args:
        spec: ``"adaptive"`` (:class:`PhaseController`), ``"fixed-cycle:N"``
            (:class:`FixedCycle` with ``n=N``) or ``"fixed:<stage>"``
            (:class:`FixedPhase`).
        stages: the game's ``(solve, harden)`` stages (:func:`stage_pair`);
            default :data:`DEFAULT_STAGES`.
        options: constructor options of the schedule (``rho``, ``k_min`` ...
            for adaptive; ``start`` for fixed-cycle; none for fixed).

    Raises:
        ValueError: malformed spec, or an option the schedule does not take.
    """
    pair = _check_stages(DEFAULT_STAGES if stages is None else stages)
    if not isinstance(spec, str):
        raise ValueError(f"phase spec must be a string, got {spec!r}")
    text = spec.strip()
    if text == "adaptive":
        return _build(PhaseController, (), options, text, pair)
    if text.startswith("fixed-cycle:"):
        raw = text.split(":", 1)[1].strip()
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(
                f"bad phase spec {spec!r}: fixed-cycle needs a positive integer, "
                "e.g. 'fixed-cycle:10'"
            )
        return _build(FixedCycle, (int(raw),), options, text, pair)
    fixed = [f"fixed:{stage}" for stage in pair]
    if text.startswith("fixed:"):
        phase = text.split(":", 1)[1].strip()
        if phase not in pair:
            raise ValueError(f"bad phase spec {spec!r}: use {' or '.join(map(repr, fixed))}")
        return _build(FixedPhase, (phase,), options, text, pair)
    candidates = ["adaptive", "fixed-cycle:10", *fixed]
    hint = did_you_mean(text, candidates, 1)
    known = ", ".join(["adaptive", "fixed-cycle:N", *fixed])
    raise ValueError(f"bad phase spec {spec!r}.{hint} Use one of: {known}.")

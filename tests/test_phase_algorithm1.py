"""Iterative-SPO per Algorithm 1: uncorrected EMA, patience, held-out measurement size."""

import json

import pytest

from vzgym.trainers.phase import PhaseController, make_phase_controller


def _updates_until_switch(ctrl, acc=1.0, na=0.0, limit=500):
    for k in range(1, limit + 1):
        if ctrl.update(k - 1, acc, na) != "decision":
            return k
    return None


def test_algorithm1_hand_computed_uncorrected_ema_and_patience():
    ctrl = PhaseController(variant="algorithm1", rho=0.5, k_min=1, patience=2)
    seen = []
    for step in range(5):
        ctrl.update(step, 1.0, 0.0)
        seen.append((ctrl.acc_ema, ctrl.phase))
    # m = 0.5, 0.75, 0.875, 0.9375 (>= 0.9: held 1), 0.96875 (held 2 = patience: switch)
    assert [m for m, _ in seen] == pytest.approx([0.5, 0.75, 0.875, 0.9375, 0.96875])
    assert [p for _, p in seen] == ["decision"] * 4 + ["clue"]
    # the vzgym variant (bias-corrected, no patience) switches at the first update
    assert _updates_until_switch(PhaseController(rho=0.5, k_min=1)) == 1


def test_algorithm1_paper_defaults_switch_after_45_plus_patience_steps():
    ctrl = make_phase_controller("adaptive", variant="algorithm1")
    assert (ctrl.patience, ctrl.measure_games, ctrl.rho) == (20, 8, 0.95)
    # uncorrected 0.95-EMA of a perfect accuracy reaches 0.9 at t = 45; held 20 steps -> 64
    assert _updates_until_switch(ctrl) == 64
    # the vzgym variant switches after K_min = 5 steps
    assert _updates_until_switch(make_phase_controller("adaptive")) == 5
    assert make_phase_controller("adaptive").measure_games == 0


def test_patience_resets_when_the_condition_breaks():
    ctrl = PhaseController(variant="algorithm1", rho=0.5, k_min=1, patience=2, acc_to_clue=0.7)
    # m: 0.5, 0.75 (held 1), 0.375 (breaks: held 0), 0.6875, 0.84375 (held 1), 0.921875 (2)
    phases = [ctrl.update(i, a, 0.0) for i, a in enumerate([1, 1, 0, 1, 1, 1])]
    assert phases == ["decision"] * 5 + ["clue"]


def test_algorithm1_state_round_trips_and_bad_options():
    ctrl = PhaseController(variant="algorithm1", rho=0.5, k_min=1, patience=3)
    for step in range(4):
        ctrl.update(step, 1.0, 0.0)
    clone = PhaseController()
    clone.load_state_dict(json.loads(json.dumps(ctrl.state_dict())))
    assert (clone.variant, clone.patience, clone.acc_ema) == ("algorithm1", 3, ctrl.acc_ema)
    assert clone.update(4, 1.0, 0.0) == ctrl.update(4, 1.0, 0.0)
    with pytest.raises(ValueError, match="variant"):
        PhaseController(variant="paper")
    with pytest.raises(ValueError, match="patience"):
        PhaseController(patience=0)

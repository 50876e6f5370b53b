"""Iterative-SPO phase schedules: EMAs, K_min, both switch directions, fixed cycles, resume."""

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vzgym.trainers.phase import (
    FixedCycle,
    FixedPhase,
    PhaseController,
    make_phase_controller,
)


def test_bias_corrected_ema_hand_computed():
    pc = PhaseController(rho=0.5, k_min=100)
    assert pc.acc_ema is None and pc.na_ema is None
    pc.update(0, 1.0, 0.2)
    # raw = 0.5*0 + 0.5*1 = 0.5, t=1 -> 0.5 / (1 - 0.5) = 1.0 ; na: 0.1 / 0.5 = 0.2
    assert pc.acc_ema == pytest.approx(1.0) and pc.na_ema == pytest.approx(0.2)
    pc.update(1, 0.0, 0.0)
    # raw = 0.25, t=2 -> 0.25 / 0.75 = 1/3 ; na raw = 0.05 -> 0.05 / 0.75 = 1/15
    assert pc.acc_ema == pytest.approx(1 / 3) and pc.na_ema == pytest.approx(1 / 15)
    pc.update(2, 1.0, None)  # no N/A measurement: that EMA is unchanged
    # raw = 0.125 + 0.5 = 0.625, t=3 -> 0.625 / 0.875 = 5/7
    assert pc.acc_ema == pytest.approx(5 / 7) and pc.na_ema == pytest.approx(1 / 15)


def test_default_rho_first_value_is_unbiased():
    pc = PhaseController()
    pc.update(0, 0.8, 0.3)
    # raw = 0.05 * 0.8 = 0.04 -> 0.04 / (1 - 0.95) = 0.8
    assert pc.acc_ema == pytest.approx(0.8) and pc.na_ema == pytest.approx(0.3)


def test_kmin_and_both_switch_directions(caplog):
    pc = PhaseController(rho=0.5)
    assert pc.phase == "decision"
    caplog.set_level(logging.INFO, logger="vzgym.trainers.phase")
    # perfect voting from the start: EMA acc = 1, na = 0, but K_min = 5 holds decision
    phases = [pc.update(step, 1.0, 0.0) for step in range(5)]
    assert phases == ["decision"] * 4 + ["clue"]
    assert pc.switches == [
        {"step": 4, "from": "decision", "to": "clue", "acc_ema": 1.0, "na_ema": 0.0}
    ]
    # voters now always wrong; 1 - acc >= 0.4 after one step, yet K_min keeps clue 5 steps
    phases = [pc.update(step, 0.0, 0.0) for step in range(5, 10)]
    assert phases == ["clue"] * 4 + ["decision"]
    # acc raw after 5 ones then 5 zeros: (1 - 2^-5) * 2^-5 = 31/1024; t = 10
    #   -> (31/1024) / (1 - 2^-10) = 31/1023
    event = pc.switches[1]
    assert (event["step"], event["from"], event["to"]) == (9, "clue", "decision")
    assert event["acc_ema"] == pytest.approx(31 / 1023)
    assert "phase switch at step 4: decision -> clue" in caplog.text
    assert "phase switch at step 9: clue -> decision" in caplog.text
    json.dumps(pc.switches)


def test_na_rate_gates_both_directions():
    # accurate votes but too many N/A: never leaves decision
    pc = PhaseController(rho=0.5, k_min=1)
    assert [pc.update(s, 1.0, 0.3) for s in range(6)] == ["decision"] * 6
    # in clue: accuracy fine, but N/A >= 0.5 sends it back to decision
    pc = PhaseController(rho=0.5, k_min=2, start="clue")
    assert [pc.update(s, 0.95, 0.6) for s in range(2)] == ["clue", "decision"]
    assert pc.switches[0]["na_ema"] == pytest.approx(0.6)


def test_thresholds_are_inclusive_and_configurable():
    pc = PhaseController(rho=0.5, k_min=1, acc_to_clue=0.75, na_to_clue=0.25)
    assert pc.update(0, 0.75, 0.25) == "clue"
    pc = PhaseController(rho=0.5, k_min=1, start="clue", err_to_decision=0.5)
    assert pc.update(0, 0.6, 0.0) == "clue"  # error 0.4 < 0.5
    assert pc.update(1, 0.4, 0.0) == "decision"  # acc EMA (0.25*0.6+0.5*0.4)/0.75 = 7/15


def test_threshold_of_one_is_reachable_despite_float_rounding():
    # with rho 0.9 the bias-corrected EMA of a constant 1.0 is 0.9999999999999997
    # after 4 updates
    pc = PhaseController(rho=0.9, k_min=4, acc_to_clue=1.0, na_to_clue=0.0)
    assert [pc.update(s, 1.0, 0.0) for s in range(4)] == ["decision"] * 3 + ["clue"]


def test_ema_keeps_running_across_phases_unless_reset():
    pc = PhaseController(rho=0.5, k_min=1)
    pc.update(0, 1.0, 0.0)  # switches to clue
    pc.update(1, 0.0, 0.0)
    # running EMA: raw 0.25, t=2 -> 1/3 (not 0.0, as a restarted EMA would give)
    assert pc.phase == "decision" and pc.acc_ema == pytest.approx(1 / 3)
    reset = PhaseController(rho=0.5, k_min=1, reset_on_switch=True)
    reset.update(0, 1.0, 0.0)
    assert reset.acc_ema is None
    reset.update(1, 0.8, 0.0)  # error 0.2: stays in clue
    assert reset.phase == "clue" and reset.acc_ema == pytest.approx(0.8)


def test_no_switch_without_measurements_and_bad_values():
    pc = PhaseController(k_min=1, start="clue")
    assert pc.update(0) == "clue"
    assert pc.update(1, float("nan"), None) == "clue"
    with pytest.raises(ValueError, match="accuracy must be in"):
        pc.update(2, 1.5, 0.0)
    for bad in ({"rho": 1.0}, {"k_min": 0}, {"start": "vote"}, {"acc_to_clue": 2}):
        with pytest.raises(ValueError):
            PhaseController(**bad)


def test_fixed_cycle_sequence():
    fc = FixedCycle(2)
    phases = [fc.phase] + [fc.update(step, 0.5, 0.1) for step in range(7)]
    assert phases == ["decision", "decision", "clue", "clue"] * 2
    assert [(s["step"], s["to"]) for s in fc.switches] == [
        (1, "clue"),
        (3, "decision"),
        (5, "clue"),
    ]
    one = FixedCycle(1)
    assert [one.update(s) for s in range(4)] == ["clue", "decision", "clue", "decision"]


def test_fixed_phase_never_switches():
    fp = FixedPhase("clue")
    assert [fp.update(s, 0.0, 1.0) for s in range(3)] == ["clue"] * 3 and fp.switches == []


def test_make_phase_controller_specs():
    assert isinstance(make_phase_controller(), PhaseController)
    pc = make_phase_controller("adaptive", k_min=3, rho=0.9)
    assert (pc.k_min, pc.rho) == (3, 0.9)
    fc = make_phase_controller("fixed-cycle:10")
    assert isinstance(fc, FixedCycle) and fc.n == 10
    assert make_phase_controller("fixed:clue").phase == "clue"
    assert make_phase_controller("fixed:decision").phase == "decision"
    for bad in ("fixed-cycle:0", "fixed-cycle:", "fixed-cycle:2.5", "fixed:vote", "cyclic", ""):
        with pytest.raises(ValueError, match="phase spec"):
            make_phase_controller(bad)
    with pytest.raises(ValueError, match="Did you mean 'adaptive'"):
        make_phase_controller("adaptiv")
    with pytest.raises(ValueError, match="no option 'kmin'.*Did you mean 'k_min'"):
        make_phase_controller("adaptive", kmin=3)
    with pytest.raises(ValueError, match="no option 'k_min'"):
        make_phase_controller("fixed:clue", k_min=3)


metrics_st = st.lists(
    st.tuples(st.floats(0, 1), st.one_of(st.none(), st.floats(0, 1))), min_size=2, max_size=40
)


@settings(max_examples=40, deadline=None)
@given(metrics_st, st.integers(0, 39), st.sampled_from(["adaptive", "fixed-cycle:3"]))
def test_resume_mid_run_gives_identical_future(metrics, cut, spec):
    cut = cut % len(metrics)
    opts = {"rho": 0.8, "k_min": 2} if spec == "adaptive" else {}
    live = make_phase_controller(spec, **opts)
    for step, (acc, na) in enumerate(metrics[:cut]):
        live.update(step, acc, na)
    resumed = make_phase_controller(spec)  # options come back from the state
    resumed.load_state_dict(json.loads(json.dumps(live.state_dict())))
    assert resumed.phase == live.phase
    for step, (acc, na) in enumerate(metrics[cut:], start=cut):
        assert resumed.update(step, acc, na) == live.update(step, acc, na)
    assert resumed.switches == live.switches
    assert resumed.state_dict() == live.state_dict()


def test_adaptive_resume_switches_often():
    # a concrete run that alternates, to make sure resume is exercised around switches
    pattern = [(1.0, 0.0)] * 6 + [(0.0, 0.0)] * 6
    live = PhaseController(rho=0.5, k_min=2)
    seq = []
    for step, (acc, na) in enumerate(pattern * 3):
        if step == 13:
            state = json.loads(json.dumps(live.state_dict()))
            live2 = PhaseController()
            live2.load_state_dict(state)
            live = live2
        seq.append(live.update(step, acc, na))
    assert len(live.switches) >= 4
    ref = PhaseController(rho=0.5, k_min=2)
    assert seq == [ref.update(s, a, n) for s, (a, n) in enumerate(pattern * 3)]
    with pytest.raises(ValueError):
        live.load_state_dict({"kind": "fixed", "phase": "clue"})


def test_schedules_alternate_the_stages_a_game_declares():
    stages = ("answer", "look")  # (solve, harden) of a plugin game
    pc = make_phase_controller("adaptive", stages=stages, k_min=1)
    assert pc.phase == "answer"
    assert pc.update(0, 1.0, 0.0) == "look"
    assert pc.switches[0]["from"] == "answer" and pc.switches[0]["to"] == "look"
    assert pc.update(1, 0.0, 0.0) == "answer"
    fc = make_phase_controller("fixed-cycle:1", stages=stages)
    assert [fc.update(s) for s in range(3)] == ["look", "answer", "look"]
    assert make_phase_controller("fixed:look", stages=stages).phase == "look"
    with pytest.raises(ValueError, match="'fixed:answer' or 'fixed:look'"):
        make_phase_controller("fixed:clue", stages=stages)
    with pytest.raises(ValueError, match="stages"):
        make_phase_controller("adaptive", stages=("look", "look"))


def test_states_without_stages_still_load_and_other_games_states_are_refused():
    # a state as written before stages were declared (spy runs): no "stages" key
    old = {
        "kind": "adaptive",
        "options": {"k_min": 2},
        "phase": "clue",
        "steps_in_phase": 1,
        "acc": {"raw": 0.05, "count": 1},
        "na": {"raw": 0.0, "count": 1},
        "switches": [{"step": 3, "from": "decision", "to": "clue", "acc_ema": 1.0, "na_ema": 0.0}],
    }
    pc = make_phase_controller("adaptive", stages=("decision", "clue"))
    pc.load_state_dict(old)
    assert (pc.phase, pc.k_min, pc.stages) == ("clue", 2, ("decision", "clue"))
    fixed = make_phase_controller("fixed:clue")
    fixed.load_state_dict({"kind": "fixed", "phase": "decision"})
    assert fixed.phase == "decision"
    cycle = make_phase_controller("fixed-cycle:2")
    cycle.load_state_dict({"kind": "fixed-cycle", "n": 2, "start": "decision", "done": 3})
    assert cycle.phase == "clue"
    other = make_phase_controller("adaptive", stages=("answer", "look"))
    with pytest.raises(ValueError, match="alternates"):
        other.load_state_dict(pc.state_dict())

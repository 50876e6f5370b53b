"""Advantage estimators: hand-computed cases, properties, state round-trips, plugins."""

import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vzgym.plugins import hookimpl
from vzgym.plugins.manager import PluginWarning, failures, get_plugin_manager
from vzgym.trainers.advantages import (
    RAE,
    RLOO,
    AdvantageEstimator,
    AdvSample,
    GroupNorm,
    compute_advantages,
    default_estimators,
    get_estimator,
    list_estimators,
)


def S(reward, group_id=0, role="spy", phase="decision", episode_id=0):
    return AdvSample(float(reward), group_id, role, phase, episode_id)


# -- group_norm -----------------------------------------------------------------


def test_group_norm_hand_computed_sample_std():
    samples = [S(1), S(2), S(3), S(0, group_id=1), S(4, group_id=1)]
    adv = GroupNorm(eps=0.0).compute(samples)
    # group 0: mean 2, sample var ((1-2)^2 + 0 + (3-2)^2) / (3-1) = 1 -> std 1
    #   -> (-1/1, 0/1, 1/1)
    # group 1: mean 2, sample var (4 + 4) / (2-1) = 8 -> std 2*sqrt(2)
    #   -> (-2 / 2.828..., 2 / 2.828...) = (-1/sqrt(2), 1/sqrt(2))
    expected = [-1.0, 0.0, 1.0, -1 / math.sqrt(2), 1 / math.sqrt(2)]
    np.testing.assert_allclose(adv, expected, rtol=0, atol=1e-12)
    assert adv.dtype == np.float64


def test_group_norm_default_eps_and_dr_grpo():
    samples = [S(1), S(2), S(3)]
    # default eps 1e-4: (r - 2) / (1 + 1e-4)
    np.testing.assert_allclose(
        GroupNorm().compute(samples), [-1 / 1.0001, 0.0, 1 / 1.0001], atol=1e-12
    )
    # Dr. GRPO: r - mean only
    np.testing.assert_allclose(
        GroupNorm(scale_by_std=False).compute([*samples, S(0, 1), S(4, 1)]),
        [-1.0, 0.0, 1.0, -2.0, 2.0],
        atol=1e-12,
    )


def test_group_norm_population_std_as_vision_zero_phases():
    samples = [S(1), S(2), S(3)]
    # ddof=0: var ((1-2)^2 + 0 + (3-2)^2) / 3 = 2/3 -> std sqrt(2/3); eps 1e-8
    std = math.sqrt(2 / 3)
    np.testing.assert_allclose(
        GroupNorm(ddof=0, eps=1e-8).compute(samples),
        [-1 / (std + 1e-8), 0.0, 1 / (std + 1e-8)],
        atol=1e-12,
    )
    with pytest.raises(ValueError, match="ddof"):
        GroupNorm(ddof=2)


def test_group_norm_groups_split_by_role_and_phase():
    samples = [
        S(1, role="spy"),
        S(3, role="spy"),
        S(10, role="civilian"),
        S(20, role="civilian"),
        S(5, role="civilian", phase="clue"),  # alone in its group
    ]
    adv = GroupNorm(scale_by_std=False).compute(samples)
    # spy: mean 2 -> (-1, 1); civilian/decision: mean 15 -> (-5, 5); civilian/clue alone -> 0
    np.testing.assert_allclose(adv, [-1, 1, -5, 5, 0], atol=1e-12)


def test_group_norm_size_one_and_equal_rewards_are_exactly_zero():
    samples = [S(0.1), S(0.1), S(0.1), S(7.0, group_id=3)]
    adv = GroupNorm().compute(samples)
    assert adv.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert RLOO().compute(samples).tolist() == [0.0, 0.0, 0.0, 0.0]


def test_empty_batch_and_bad_rewards():
    for est in (GroupNorm(), RLOO(), RAE()):
        assert est.compute([]).shape == (0,)
    with pytest.raises(ValueError, match="finite"):
        GroupNorm().compute([S(float("nan"))])
    with pytest.raises(ValueError, match="eps"):
        GroupNorm(eps=-1)


# -- rloo -----------------------------------------------------------------------


def test_rloo_hand_computed():
    samples = [S(1), S(2), S(3), S(5, group_id=9)]
    adv = RLOO().compute(samples)
    # A1 = 1 - (2+3)/2 = -1.5 ; A2 = 2 - (1+3)/2 = 0 ; A3 = 3 - (1+2)/2 = 1.5 ; lone sample -> 0
    np.testing.assert_allclose(adv, [-1.5, 0.0, 1.5, 0.0], atol=1e-12)


def test_group_norm_groups_by_prompt_key_when_the_game_says_agent():
    # two copies (episodes 0, 1) of one seed, two agent slots each with its own item:
    # proposer_0 answered item A (rewards 1, 3), proposer_1 item B (rewards 10, 12)
    rows = [
        {"reward": r, "group_id": 7, "role": "proposer", "phase": "propose", "agent": a}
        for r, a in ((1, "proposer_0"), (10, "proposer_1"), (3, "proposer_0"), (12, "proposer_1"))
    ]
    gn = GroupNorm(eps=0.0, ddof=0)
    per_prompt = gn.compute([AdvSample.from_row(r, group_by="agent") for r in rows])
    # each item's pair normalised alone: (r - mean) / std = -1, +1
    np.testing.assert_allclose(per_prompt, [-1, -1, 1, 1])
    # the old key (group_id, role, phase) pooled both items: mean 6.5, population std 5.0249
    pooled = gn.compute([AdvSample.from_row(r) for r in rows])
    std = np.std([1, 10, 3, 12])
    np.testing.assert_allclose(pooled, (np.array([1, 10, 3, 12]) - 6.5) / std)
    assert not np.allclose(per_prompt, pooled)


# -- rae ------------------------------------------------------------------------


def test_rae_hand_computed_bias_corrected_and_read_before_update():
    rae = RAE(alpha=0.5)
    # batch 1: no baseline yet -> baseline = batch mean of (spy, clue) = (1+3)/2 = 2
    adv1 = rae.compute([S(1, phase="clue"), S(3, phase="clue")])
    np.testing.assert_allclose(adv1, [-1.0, 1.0])
    # update: b = 0.5*0 + 0.5*2 = 1, t = 1 -> b_hat = 1 / (1 - 0.5) = 2
    assert rae.baseline("spy", "clue") == pytest.approx(2.0)
    # batch 2: baseline read BEFORE the update -> 4 - 2 = 2 (not 4 - updated value)
    adv2 = rae.compute([S(4, phase="clue")])
    np.testing.assert_allclose(adv2, [2.0])
    # update: b = 0.5*1 + 0.5*4 = 2.5, t = 2 -> b_hat = 2.5 / (1 - 0.25) = 10/3
    assert rae.baseline("spy", "clue") == pytest.approx(10 / 3)
    adv3 = rae.compute([S(0, phase="clue"), S(1, role="civilian", phase="clue")])
    # spy: 0 - 10/3 ; civilian: first batch of its key -> baseline = its batch mean -> 0
    np.testing.assert_allclose(adv3, [-10 / 3, 0.0])


def test_rae_batch_mean_update_is_order_independent():
    batch = [S(1), S(5), S(2, role="civilian"), S(9)]
    a, b = RAE(), RAE()
    a.compute([S(3), S(0, role="civilian")])
    b.compute([S(0, role="civilian"), S(3)])
    out_a = a.compute(batch)
    out_b = b.compute(list(reversed(batch)))
    np.testing.assert_allclose(out_a, out_b[::-1], rtol=0, atol=0)


def test_rae_first_batch_zero_mode_and_defaults():
    assert RAE().alpha == 0.95
    rae = RAE(first_batch="zero")
    np.testing.assert_allclose(rae.compute([S(1.5), S(-0.5)]), [1.5, -0.5])
    # 0.95 EMA after one batch of mean 0.5: b = 0.05*0.5, b_hat = b / 0.05 = 0.5
    assert rae.baseline("spy", "decision") == pytest.approx(0.5)
    with pytest.raises(ValueError):
        RAE(alpha=1.0)
    with pytest.raises(ValueError):
        RAE(first_batch="mean")


def test_rae_paper_order_updates_first_without_correction():
    rae = RAE(alpha=0.9, order="paper")
    # batch 1: b = 0.9*0 + 0.1*mean(1, 3) = 0.2 (b0 = 0, no bias correction); A = r - 0.2
    np.testing.assert_allclose(rae.compute([S(1, phase="clue"), S(3, phase="clue")]), [0.8, 2.8])
    assert rae.baseline("spy", "clue") == pytest.approx(0.2)
    # batch 2, one game: b = 0.9*0.2 + 0.1*4 = 0.58; A = 4 - 0.58 = 3.42 = 0.9 * (4 - 0.2)
    np.testing.assert_allclose(rae.compute([S(4, phase="clue")]), [3.42])
    assert rae.baseline("spy", "clue") == pytest.approx(0.58)
    # the spiral order on the same second batch would read b_hat = 0.2 / 0.1 = 2 first
    spiral = RAE(alpha=0.9)
    spiral.compute([S(1, phase="clue"), S(3, phase="clue")])
    np.testing.assert_allclose(spiral.compute([S(4, phase="clue")]), [2.0])
    # state round-trips with the order
    clone = RAE()
    clone.load_state_dict(json.loads(json.dumps(rae.state_dict())))
    assert clone.order == "paper" and clone.baseline("spy", "clue") == pytest.approx(0.58)
    with pytest.raises(ValueError, match="order"):
        RAE(order="vz")


rewards_st = st.lists(
    st.tuples(
        st.floats(-5, 5, allow_nan=False),
        st.integers(0, 2),
        st.sampled_from(["spy", "civilian"]),
        st.sampled_from(["clue", "decision"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(rewards_st, min_size=2, max_size=5))
def test_rae_state_round_trips_through_json(batches):
    live = get_estimator("rae", alpha=0.9)
    for batch in batches[:-1]:
        live.compute([S(r, g, role, ph) for r, g, role, ph in batch])
    restored = get_estimator("rae")  # other alpha: the state carries it
    restored.load_state_dict(json.loads(json.dumps(live.state_dict())))
    assert restored.state_dict() == live.state_dict()
    last = [S(r, g, role, ph) for r, g, role, ph in batches[-1]]
    assert restored.compute(last).tolist() == live.compute(last).tolist()
    assert restored.state_dict() == live.state_dict()


# -- properties -----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(rewards_st)
def test_group_advantages_sum_to_zero(rows):
    samples = [S(r, g, role, ph) for r, g, role, ph in rows]
    for est in (GroupNorm(), GroupNorm(scale_by_std=False), RLOO()):
        adv = est.compute(samples)
        assert adv.shape == (len(samples),)
        groups = {}
        for s, a in zip(samples, adv):
            groups.setdefault((s.group_id, s.role, s.phase), []).append(a)
        for values in groups.values():
            # |A| <= sqrt(n-1) after std scaling and <= 10 * n/(n-1) otherwise
            assert abs(sum(values)) < 1e-9 * max(1.0, len(values) * 20)


# -- dispatch -------------------------------------------------------------------


def test_compute_advantages_dispatches_by_phase_and_keeps_order():
    samples = [
        S(1, phase="clue"),
        S(0, phase="decision"),
        S(3, phase="clue"),
        S(2, phase="decision"),
        S(7, phase="other"),
        S(9, phase="other"),
    ]
    rae, gn, fallback = RAE(alpha=0.5), GroupNorm(eps=0.0), GroupNorm(scale_by_std=False)
    adv = compute_advantages(samples, {"clue": rae, "decision": gn, "*": fallback})
    # clue via RAE first batch: mean 2 -> (-1, 1); decision: (0,2) sample std sqrt(2)
    #   -> (-1/sqrt2, 1/sqrt2); other via "*" Dr.GRPO: mean 8 -> (-1, 1)
    r2 = 1 / math.sqrt(2)
    np.testing.assert_allclose(adv, [-1, -r2, 1, r2, -1, 1], atol=1e-12)
    with pytest.raises(ValueError, match="no advantage estimator for phase 'other'"):
        compute_advantages(samples, {"clue": rae, "decision": gn})


def test_shared_estimator_called_once_per_batch():
    calls = []

    class Spy(AdvantageEstimator):
        name = "spy_calls"

        def compute(self, samples):
            calls.append(len(samples))
            return np.arange(len(samples), dtype=np.float64)

    est = Spy()
    samples = [S(0, phase="a"), S(0, phase="b"), S(0, phase="a")]
    adv = compute_advantages(samples, {"a": est, "*": est})
    assert calls == [3] and adv.tolist() == [0.0, 1.0, 2.0]


def test_default_estimators():
    # read from the games' declared stages (SPY_FACTS); "*" covers undeclared phases
    spy = {"clue": "rae", "decision": "group_norm", "*": "group_norm"}
    assert default_estimators("spy-clevr") == spy
    assert default_estimators("spy-pairs") == spy
    assert default_estimators("svg-solve") == {"*": "group_norm"}
    assert default_estimators("toy-guess") == {"*": "group_norm"}


def test_adv_sample_from_row():
    row = {"reward": 1, "group_id": 3, "role": "spy", "phase": "clue", "episode_id": 7, "x": 0}
    assert AdvSample.from_row(row) == AdvSample(1.0, 3, "spy", "clue", 7)


# -- registry and plugins -------------------------------------------------------


def test_get_estimator_builtins_and_errors():
    assert {"group_norm", "rae", "rloo"} <= set(list_estimators())
    assert isinstance(get_estimator("group_norm", scale_by_std=False), GroupNorm)
    assert get_estimator("rae", alpha=0.9).alpha == 0.9
    with pytest.raises(ValueError, match=r"Did you mean 'group_norm'.*Known: .*rloo"):
        get_estimator("group_nrom")
    with pytest.raises(ValueError, match="bad options"):
        get_estimator("rloo", alpha=0.3)


class _Const(AdvantageEstimator):
    name = "const"

    def __init__(self, value=1.0):
        self.value = value

    def compute(self, samples):
        return np.full(len(samples), self.value, dtype=np.float64)


class _GoodPlugin:
    @hookimpl
    def register_advantages(self, register):
        register("const", _Const)


class _BrokenPlugin:
    @hookimpl
    def register_advantages(self, register):
        raise RuntimeError("adv plugin exploded")


class _OverridePlugin:
    @hookimpl
    def register_advantages(self, register):
        register("rloo", _Const)


@pytest.fixture
def plugins():
    pm = get_plugin_manager()
    added = []

    def add(obj, name):
        pm.register(obj, name=name)
        added.append(name)

    yield add
    for name in added:
        pm.unregister(name=name)


def test_plugin_estimator_registered_via_hook(plugins):
    with pytest.raises(ValueError, match="Unknown advantage estimator 'const'"):
        get_estimator("const")
    plugins(_GoodPlugin(), "test-adv-good")
    est = get_estimator("const", value=2.5)
    assert est.compute([S(0), S(1)]).tolist() == [2.5, 2.5]
    assert "const" in list_estimators()


def test_broken_plugin_does_not_break_builtins(plugins):
    plugins(_GoodPlugin(), "test-adv-good2")
    with pytest.warns(PluginWarning, match="adv plugin exploded"):
        plugins(_BrokenPlugin(), "test-adv-broken")
        names = list_estimators()
    assert {"group_norm", "rae", "rloo", "const"} <= set(names)
    assert any(
        f.plugin == "test-adv-broken" and f.stage == "register_advantages" for f in failures()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cached: no second warning
        assert isinstance(get_estimator("rae"), RAE)


def test_a_plugin_cannot_shadow_a_builtin_and_the_collision_is_recorded(plugins):
    with pytest.warns(PluginWarning, match="'rloo' is already registered by vzgym itself"):
        plugins(_OverridePlugin(), "test-adv-override")
        est = get_estimator("rloo")
    assert isinstance(est, RLOO)
    assert any(
        f.plugin == "test-adv-override" and "rloo" in f.error and f.stage == "register_advantages"
        for f in failures()
    )


def test_builtins_are_registered_once_and_load_silently():
    from vzgym.core.registry import BUILTIN
    from vzgym.trainers.advantages import estimator_owner

    pm = get_plugin_manager()
    assert not any("builtin_training" in name for name, _ in pm.list_name_plugin())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(get_estimator("group_norm"), GroupNorm)
        assert "rae" in list_estimators()
    assert {estimator_owner(n) for n in ("group_norm", "rae", "rloo")} == {BUILTIN}


def test_build_estimators_shares_instances_per_name():
    from vzgym.trainers.advantages import build_estimators

    ests = build_estimators(
        {"clue": "rae", "decision": "group_norm", "vote": "group_norm"}, {"rae": {"alpha": 0.5}}
    )
    assert isinstance(ests["clue"], RAE) and ests["clue"].alpha == 0.5
    assert ests["decision"] is ests["vote"]
    with pytest.raises(ValueError, match="Did you mean 'rloo'"):
        build_estimators({"*": "rlo"})

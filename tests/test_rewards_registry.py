"""Pluggable rewards: real plugin objects on the plugin manager."""

import warnings

import pytest

from vzgym.envs.spy.rewards import clue_rewards, decision_reward
from vzgym.plugins import hookimpl
from vzgym.plugins.manager import PluginWarning, failures, get_plugin_manager
from vzgym.rewards_registry import get_reward_fn, list_rewards


def harsh_decision(*, correct: bool, na: bool, valid: bool, scheme: str = "paper") -> float:
    """Same signature as decision_reward: N/A costs as much as a wrong vote."""
    return 1.0 if correct else -1.0


def flat_clue(votes, spy, *, beta=0.1, lam=0.1):
    """Same signature as clue_rewards: everyone gets 0."""
    return dict.fromkeys(votes, 0.0)


def other_decision(*, correct, na, valid, scheme="paper"):
    return 5.0 if correct else 0.0


class HarshPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("spy", "decision", harsh_decision)
        register("spy", "clue", flat_clue)


class OtherPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("spy", "decision", other_decision)


class BrokenPlugin:
    @hookimpl
    def register_rewards(self, register):
        raise RuntimeError("reward plugin exploded")


class BadArgsPlugin:
    @hookimpl
    def register_rewards(self, register):
        register("svg", "solver", "not callable")


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


def test_default_when_nothing_registered():
    assert get_reward_fn("spy", "decision", decision_reward) is decision_reward
    assert get_reward_fn("spy", "clue", clue_rewards) is clue_rewards
    assert get_reward_fn("my-game", "score", len) is len


def test_plugin_swaps_a_reward_with_the_same_signature(plugins):
    plugins(HarshPlugin(), "test-rewards-harsh")
    fn = get_reward_fn("spy", "decision", decision_reward)
    assert fn is harsh_decision
    # the game calls it exactly like the default
    assert decision_reward(correct=False, na=True, valid=True) == -0.5
    assert fn(correct=False, na=True, valid=True) == -1.0
    assert fn(correct=False, na=True, valid=True, scheme="paper") == -1.0
    clue = get_reward_fn("spy", "clue", clue_rewards)
    assert clue({1: 2, 2: 0, 3: 1}, 1, beta=0.1, lam=0.1) == {1: 0.0, 2: 0.0, 3: 0.0}
    # other slots and families keep their defaults
    assert get_reward_fn("svg", "decision", decision_reward) is decision_reward
    entries = [(e.env_family, e.name, e.plugin) for e in list_rewards()]
    assert ("spy", "decision", "test-rewards-harsh") in entries


def test_first_plugin_keeps_a_slot_and_the_collision_is_recorded(plugins):
    plugins(HarshPlugin(), "test-rewards-first")
    plugins(OtherPlugin(), "test-rewards-second")
    with pytest.warns(PluginWarning, match="already registered by plugin 'test-rewards-first'"):
        fn = get_reward_fn("spy", "decision", decision_reward)
    assert fn is harsh_decision
    # recorded against the plugin that caused the collision, not the one that was first
    assert ("test-rewards-second", "register_rewards") in {(f.plugin, f.stage) for f in failures()}
    assert "test-rewards-first" not in {f.plugin for f in failures()}
    # the clue slot only the first plugin set
    assert get_reward_fn("spy", "clue", clue_rewards) is flat_clue


def test_broken_plugin_is_recorded_and_others_still_load(plugins):
    plugins(HarshPlugin(), "test-rewards-ok")
    plugins(BrokenPlugin(), "test-rewards-broken")
    plugins(BadArgsPlugin(), "test-rewards-badargs")
    with pytest.warns(PluginWarning) as record:
        fn = get_reward_fn("spy", "decision", decision_reward)
    assert fn is harsh_decision
    messages = " ".join(str(w.message) for w in record)
    assert "reward plugin exploded" in messages and "must be callable" in messages
    stages = {(f.plugin, f.stage) for f in failures()}
    assert ("test-rewards-broken", "register_rewards") in stages
    assert ("test-rewards-badargs", "register_rewards") in stages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cached until the plugin set changes
        assert get_reward_fn("spy", "clue", clue_rewards) is flat_clue


def test_unregistering_restores_the_default(plugins):
    pm = get_plugin_manager()
    plugins(HarshPlugin(), "test-rewards-temp")
    assert get_reward_fn("spy", "decision", decision_reward) is harsh_decision
    pm.unregister(name="test-rewards-temp")
    assert get_reward_fn("spy", "decision", decision_reward) is decision_reward
    pm.register(HarshPlugin(), name="test-rewards-temp")  # the fixture unregisters it

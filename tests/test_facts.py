"""Game facts: declarations, aggregation and the spy game's outcome."""

import pytest

import vzgym
from vzgym.core.facts import GameFacts, Outcome, Stage, StageSwitch, Stat
from vzgym.registration import get_registry


def test_stat_aggregation_by_kind():
    values = [1, 0, True, "x", float("nan"), 3]
    assert Stat("a", "mean").aggregate(values) == pytest.approx(5 / 4)
    assert Stat("a", "sum").aggregate(values) == 5
    assert Stat("a", "min").aggregate(values) == 0
    assert Stat("a", "max").aggregate(values) == 3
    assert Stat("a").aggregate(["x"]) is None
    with pytest.raises(ValueError):
        Stat("a", "median")


def test_facts_validate_switch_and_give_defaults():
    with pytest.raises(ValueError, match="not declared"):
        GameFacts(stages=(Stage("a"),), switch=StageSwitch("acc", "na", "a", "b"))
    facts = GameFacts(stages=(Stage("a", "rae"), Stage("b")), stats=(Stat("s", "rate"),))
    assert facts.staged and facts.advantages() == {"a": "rae", "b": "group_norm", "*": "group_norm"}
    assert facts.aggregate([{"s": True}, {"s": False}, {}]) == {"s": 0.5}
    assert not GameFacts().staged


def test_outcome_winners_and_draws():
    out = Outcome({"x": ["p1"], "y": ["p2", "p3"]}, {"x": 0.0, "y": 1.0})
    assert out.winners == ["y"] and out.team_of("p3") == "y"
    assert Outcome({"x": ["p1"], "y": ["p2"]}, {"x": 1.0, "y": 1.0}).winners == []
    with pytest.raises(ValueError):
        Outcome({"x": ["p1"], "y": ["p1"]}, {"x": 0.0, "y": 1.0})


def test_spy_game_declares_facts_and_outcome():
    spec = get_registry().spec("spy-clevr")
    assert [s.name for s in spec.facts.stages] == ["clue", "decision"]
    env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1)
    obs, _ = env.reset(seed=3)
    assert env.outcome() is None
    while obs:
        obs, _, _, _, infos = env.step(
            {
                a: "\\boxed{N/A}" if o.phase == "decision" else "\\boxed{a thing}"
                for a, o in obs.items()
            }
        )
    out = env.outcome()
    spy = f"player_{env.spy_seat}"
    assert out.teams["spy"] == [spy] and spy not in out.teams["civilians"]
    # every vote was N/A, so the spy was not found: the spy's team won
    assert out.winners == ["spy"] and out.roles == {"spy": "spy", "civilians": "civilian"}

"""The neutral shared types live in vzgym.core; the old import paths still give the same objects."""

from vzgym.core.credit import credit_reward, true_role
from vzgym.core.observation import Observation, part_kind, text_message


def test_old_import_paths_are_the_core_objects():
    import vzgym.agents.base as agents_base
    import vzgym.agents.scripted as old_bots
    import vzgym.core.policy as core_policy
    import vzgym.envs.base as envs_base
    from vzgym.envs.spy.bots import ScriptedSpyPolicy

    assert envs_base.Observation is Observation
    assert envs_base.part_kind is part_kind and envs_base.text_message is text_message
    for name in ("Completion", "Policy", "SamplingParams"):
        assert getattr(agents_base, name) is getattr(core_policy, name)
    assert old_bots.ScriptedSpyPolicy is ScriptedSpyPolicy


def test_true_role_prefers_revealed_roles():
    obs = Observation("player_1", "player", "clue", 1, [text_message("user", "hi")])
    assert true_role(obs) == "player"
    obs.private["true_role"] = "spy"
    assert true_role(obs) == "spy"
    assert true_role(obs, {"true_role": "civilian"}) == "civilian"  # the final info wins


def test_credit_reward_per_stage_else_total():
    assert credit_reward("clue", {"reward_clue": -0.5, "reward_decision": 1.0}, 0.5) == -0.5
    assert credit_reward("decision", {"reward_clue": -0.5, "reward_decision": 1}, 0.5) == 1.0
    assert credit_reward("answer", {"reward_clue": -0.5}, 0.25) == 0.25
    assert credit_reward("answer", {"reward_answer": "n/a"}, 2.0) == 2.0

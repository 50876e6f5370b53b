"""Spy prompt sets: the ``paper`` set carries every instruction of Vision-Zero's prompts."""

import re

import pytest

import vzgym
from vzgym.envs.spy.prompts import PROMPT_SETS, difference_text

# Every instruction of Vision-Zero's released prompts (clevr_spotdiff_generator.py:
# format_clue_phase_sample, format_decision_phase_sample, format_god_decision_phase_sample),
# as (what it says, a pattern our paper prompt must match).
CLUE_INSTRUCTIONS = [
    ("player number", r"You are Player 2\b"),
    ("round number", r"round 1 of 2"),
    ("one sentence", r"ONE sentence"),
    ("only object features or relations", r"only about what the objects look like or how they"),
    ("role: spy has the different picture", r"you are the SPY: your picture is the different"),
    ("number of players", r"with 4 players"),
    ("only one picture differs", r"All but one of the players get exactly the same picture"),
    ("voted-out player punished: convince others", r"punished heavily.*believe they are not"),
    ("what differs: two objects replaced, same positions", r"2 objects .*swapped.*stays where"),
    ("compare with all previous clues", r"against every earlier clue"),
    ("civilian: specific detail not yet covered", r"Not the spy\?.*specific detail.*no earlier"),
    ("civilian: establishes the normal picture", r"pin down what the shared picture"),
    ("spy: be strategic", r"The spy\? Play it smart"),
    ("spy: describe what others likely see", r"things the others probably see too"),
    ("spy: describe without revealing differences", r"without giving away what differs"),
    ("spy: focus on objects likely still similar", r"objects that are\s+likely the same"),
    ("private step-by-step reasoning first", r"first reason privately, step by step"),
    ("reasoning may include suspicion, deception", r"suspicions, likelihoods and bluffing"),
    ("sentence inside a box", r"one-sentence description inside\s+\\boxed\{\}"),
    ("different from previous clues", r"must not repeat an earlier clue"),
    ("examples of boxed clues", r"\\boxed\{The blue sphere"),
    ("first speaker told there are no clues yet", r"No one has spoken yet"),
]
VOTE_INSTRUCTIONS = [
    ("clue stage over, now vote", r"clue stage is over.*Now vote"),
    ("role", r"you are NOT the spy: your picture is the one most"),
    ("spy's role and what differs", r"you are the SPY: your picture is the different one\. x"),
    ("analyse all clues", r"Go through all the clues"),
    ("civilian: inconsistent or vague/misleading clues", r"contradict your picture.*vague or"),
    ("civilian: reward for a correct vote", r"correct vote is\s+rewarded"),
    ("spy: vote for someone else, never yourself", r"Vote for another player.*never vote for"),
    ("reason then number or N/A only", r"reason privately.*player number.*N/A.*nothing else"),
    ("N/A cheaper than a wrong vote", r"costs less than a\s+wrong vote"),
    ("all clues with own reasoning", r"All clues \(everyone's clues; only your own reasoning\)"),
]
JUDGE_INSTRUCTIONS = [
    ("observer identifies the spy", r"Find the player with the different picture"),
    ("one player has a different picture; what differs", r"has a different picture\..*swapped"),
    ("players avoid suspicion; spy blends in", r"spy tries to blend in"),
    ("civilians give distinctive clues", r"clues that expose the\s+spy"),
    ("look for inconsistent clues", r"disagree with most"),
    ("look for vague clues", r"vague or generic"),
    ("look for misleading clues", r"meant to mislead"),
    ("look for deception or uncertainty", r"bluffing or uncertainty"),
    ("its image is the original (civilians')", r"Your picture is the ORIGINAL one"),
    ("boxed number or N/A, N/A when unsure", r"N/A inside \\boxed\{\}.*N/A\s+if you are not sure"),
]


def _texts(obs):
    system, user = obs.messages
    body = " ".join(part["text"] for part in user["content"] if part.get("type") == "text")
    return system["content"] if isinstance(system["content"], str) else str(system), body


def _play_clues(env, obs, seats):
    for _ in range(seats):
        (agent,) = obs
        obs, *_ = env.step({agent: "thinking about it \\boxed{a red cube is left of a ball}"})
    return obs


def _paper_game_with_spy_at(seat):
    for seed in range(100):
        env = vzgym.make("spy-clevr", num_players=4, prompts="paper", num_objects=4)
        obs, _ = env.reset(seed=seed)
        if env.spy_seat == seat:
            return env, obs
    raise AssertionError("no seed puts the spy at seat 2")


def test_paper_set_carries_every_clue_instruction():
    env, obs = _paper_game_with_spy_at(2)
    _, first_body = _texts(obs["player_1"])
    obs = _play_clues(env, obs, 1)
    system, body = _texts(obs["player_2"])
    text = system + "\n" + body + "\n" + first_body
    missing = [what for what, p in CLUE_INSTRUCTIONS if not re.search(p, text, re.S)]
    assert not missing, f"paper clue prompt lacks: {missing}"


def test_paper_set_carries_every_vote_instruction():
    # only civilians vote in vzgym's decision="civilians" (the spy's vote instructions are
    # in the text for completeness, checked on the prompt set directly)
    env, obs = _paper_game_with_spy_at(2)
    obs = _play_clues(env, obs, 8)
    system, body = _texts(obs["player_1"])
    spy_text = PROMPT_SETS["paper"].vote(2, "spy", True, [], [], 4, "x")
    text = system + "\n" + body + "\n" + spy_text
    missing = [what for what, p in VOTE_INSTRUCTIONS if not re.search(p, text, re.S)]
    assert not missing, f"paper vote prompt lacks: {missing}"


def test_paper_set_carries_every_observer_instruction():
    env = vzgym.make(
        "spy-clevr", num_players=4, prompts="paper", decision="observer", num_objects=4
    )
    obs, _ = env.reset(seed=1)
    obs = _play_clues(env, obs, 8)
    system, body = _texts(obs["judge_1"])
    text = system + "\n" + body
    missing = [what for what, pattern in JUDGE_INSTRUCTIONS if not re.search(pattern, text, re.S)]
    assert not missing, f"paper observer prompt lacks: {missing}"


def test_vzgym_set_lacks_the_paper_instructions_and_is_the_default():
    env = vzgym.make("spy-clevr", num_players=4, num_objects=4)
    assert env.prompt_set == "vzgym"
    obs, _ = env.reset(seed=3)
    system, body = _texts(obs["player_1"])
    assert not re.search("ONE sentence", body)
    assert set(PROMPT_SETS) == {"vzgym", "paper"}
    with pytest.raises(ValueError, match="prompts"):
        vzgym.make("spy-clevr", prompts="verbatim")


def test_difference_text_by_edit_kind():
    assert difference_text(1, "replace").startswith("One object in the spy's picture is swapped")
    assert "2 objects" in difference_text(2, "replace")
    assert difference_text(None, None).startswith("Some details")
    assert "extra" in difference_text(2, "add")

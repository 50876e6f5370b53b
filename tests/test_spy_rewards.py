import pytest
from hypothesis import given
from hypothesis import strategies as st

from vzgym.envs.spy.rewards import clue_rewards, count_votes, decision_reward


def test_count_votes_ignores_none_and_out_of_range():
    assert count_votes([1, 1, None, 3, 9], 4) == {1: 2, 2: 0, 3: 1, 4: 0}


def test_clue_rewards_hand_computed():
    # 4 players, spy = 2.  Votes: spy 2, civ1 1, civ3 0, civ4 0.
    # mean_c = 1/3, gap = 2 - 1/3 = 5/3.
    # spy: -0.1 * 5/3 = -0.16667
    # civ1: 0.1/3 * 5/3 - 0.1 * (1 - 1/3) = 0.05556 - 0.06667 = -0.01111
    # civ3 = civ4: 0.05556 - 0.1 * (0 - 1/3) = 0.05556 + 0.03333 = 0.08889
    r = clue_rewards({1: 1, 2: 2, 3: 0, 4: 0}, spy=2)
    assert r[2] == pytest.approx(-1 / 6)
    assert r[1] == pytest.approx(5 / 90 - 2 / 30)
    assert r[3] == pytest.approx(5 / 90 + 1 / 30)
    assert r[4] == pytest.approx(r[3])
    assert sum(r.values()) == pytest.approx(0.0)


def test_clue_rewards_spy_undetected_gains():
    # Everyone votes civilian 1: v_s = 0, mean_c = 1 (3 votes / 3 civs), gap = -1.
    r = clue_rewards({1: 3, 2: 0, 3: 0, 4: 0}, spy=4, beta=0.1, lam=0.1)
    assert r[4] == pytest.approx(0.1)
    # civ1: 0.1/3 * -1 - 0.1 * (3 - 1) = -0.0333 - 0.2
    assert r[1] == pytest.approx(-0.1 / 3 - 0.2)
    # civ2: -0.0333 - 0.1 * (0 - 1) = 0.0667
    assert r[2] == pytest.approx(-0.1 / 3 + 0.1)


@given(
    st.lists(st.integers(0, 20), min_size=3, max_size=10),
    st.data(),
    st.floats(0, 2),
    st.floats(0, 2),
)
def test_clue_rewards_zero_sum(votes, data, beta, lam):
    spy = data.draw(st.integers(1, len(votes)))
    counts = {i + 1: v for i, v in enumerate(votes)}
    assert sum(clue_rewards(counts, spy, beta=beta, lam=lam).values()) == pytest.approx(
        0.0, abs=1e-9
    )


def test_clue_rewards_errors():
    with pytest.raises(ValueError):
        clue_rewards({1: 0}, spy=1)
    with pytest.raises(ValueError):
        clue_rewards({1: 0, 2: 0}, spy=3)


@pytest.mark.parametrize(
    ("correct", "na", "valid", "paper", "code"),
    [
        (True, False, True, 1.0, 0.3 + 1.2 + 0.99),  # 2.49
        (False, False, True, -1.0, 0.3 - 1.2),  # wrong seat: -0.9
        (False, True, True, -0.5, 0.3 - 0.6),  # N/A: -0.3
        (False, False, False, -1.0, -0.3 - 1.2),  # invalid: -1.5
    ],
)
def test_decision_rewards(correct, na, valid, paper, code):
    # vz-code as released: 0.3*(2*fmt-1) + 1.2*acc + 0.99*[acc>0], acc in {1, -0.5, -1}
    assert decision_reward(correct=correct, na=na, valid=valid, scheme="paper") == paper
    assert decision_reward(correct=correct, na=na, valid=valid, scheme="vz-code") == pytest.approx(
        code
    )


def test_vz_code_format_needs_reasoning_before_the_answer():
    # the released code's format term: > 10 characters of thinking and a non-empty answer
    short = decision_reward(correct=True, na=False, valid=True, scheme="vz-code", reasoned=False)
    assert short == pytest.approx(-0.3 + 1.2 + 0.99)  # 1.89 (format -1)
    # the paper scheme ignores reasoning
    assert decision_reward(correct=True, na=False, valid=True, reasoned=False) == 1.0


def test_vote_parser_counts_the_reasoning_before_the_box():
    from vzgym.envs.spy.parsing import parse_vote

    assert parse_vote("\\boxed{2}", 4).reasoning_chars == 0
    assert parse_vote("  Player 2 was vague.  \\boxed{2}", 4).reasoning_chars == 19
    env_text = "hmm \\boxed{1}"
    assert parse_vote(env_text, 4).reasoning_chars == 3


def test_game_scores_vz_code_format_by_reasoning_length():
    import vzgym

    scores = {}
    for text in ("\\boxed{N/A}", "I cannot tell who differs. \\boxed{N/A}"):
        env = vzgym.make("spy-clevr", num_players=3, clue_rounds=1, decision_reward="vz-code")
        obs, _ = env.reset(seed=0)
        for _ in range(3):
            (agent,) = obs
            obs, *_ = env.step({agent: "x \\boxed{a red cube}"})
        obs, _, _, _, infos = env.step(dict.fromkeys(obs, text))
        scores[text] = {
            a: i["reward_decision"]
            for a, i in infos.items()
            if "reward_decision" in i and i.get("role") != "spy" and a != f"player_{env.spy_seat}"
        }
    bare, reasoned = scores.values()
    # N/A: format -1 without reasoning (-0.3 - 0.6 = -0.9), +1 with it (0.3 - 0.6 = -0.3)
    assert list(bare.values()) == pytest.approx([-0.9] * 2)
    assert list(reasoned.values()) == pytest.approx([-0.3] * 2)


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unknown decision_reward"):
        decision_reward(correct=True, na=False, valid=True, scheme="nope")

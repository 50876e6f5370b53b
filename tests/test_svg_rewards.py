"""Rewards, filters and metrics of the SVG question world on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vzgym.envs.svg.filters import FilterConfig, keep_for_codegen, silver_label
from vzgym.envs.svg.metrics import aggregate_metrics, batch_metrics, content_type_entropy
from vzgym.envs.svg.rewards import (
    CodegenRewardConfig,
    ProposerRewardConfig,
    SampleOutcome,
    SolverRewardConfig,
    average_linkage_clusters,
    bleu_similarity,
    cluster_shares,
    codegen_reward,
    content_type_penalties,
    difficulty_term,
    diversity_penalties,
    proposer_base_reward,
    proposer_rewards,
    rescore_proposer_batch,
    solver_reward,
)

# Four texts with no word in common (BLEU ~ 0 between any two).
DISTINCT = [
    "alpha beta gamma delta epsilon",
    "red green blue yellow purple",
    "one two three four five",
    "cat dog bird fish horse",
]


def test_difficulty_term() -> None:
    assert difficulty_term(0.5) == 0.5
    assert difficulty_term(0.8) == pytest.approx(0.2)
    assert difficulty_term(0.1) == pytest.approx(0.1)
    assert difficulty_term(None) == 0.0


def test_proposer_base_reward_hand_computed() -> None:
    samples = [
        SampleOutcome(True, 1.0, 0.6),  # min(1, .5) + min(.6, .4) = 0.9
        SampleOutcome(True, 0.2, 0.8),  # min(.2, .5) + min(.8, .2) = 0.4
        SampleOutcome(False),  # failed render: 0, still counts in N
        SampleOutcome(False),
    ]
    r = proposer_base_reward(samples)
    # (0.9 + 0.4) / 4 = 0.325; mean difficulty (0.4 + 0.2) / 2 = 0.3 >= 0.15 -> no penalty
    assert r.base == pytest.approx(0.325)
    assert r.solvability_part == pytest.approx(0.7 / 4)
    assert r.difficulty_part == pytest.approx(0.6 / 4)
    assert r.mean_difficulty == pytest.approx(0.3)
    assert r.easy_hard_penalty == 0.0 and r.total == pytest.approx(0.325)
    assert (r.num_rendered, r.num_samples) == (2, 4)


def test_proposer_easy_hard_penalty() -> None:
    # two renders, solver always agrees with itself (c = 1): (0.5 + 0) * 2 / 4 = 0.25
    # mean difficulty 0 < 0.15 -> -0.3: total -0.05
    samples = [SampleOutcome(True, 1.0, 1.0)] * 2 + [SampleOutcome(False)] * 2
    r = proposer_base_reward(samples)
    assert r.total == pytest.approx(-0.05)
    # custom constants: threshold 0 disables the penalty
    r = proposer_base_reward(samples, config=ProposerRewardConfig(easy_hard_threshold=0.0))
    assert r.total == pytest.approx(0.25)
    # nothing rendered: no difficulty signal, so no penalty; reward 0
    r = proposer_base_reward([SampleOutcome(False)] * 4)
    assert r.total == 0.0 and r.mean_difficulty is None
    # c None (no valid hard answer): difficulty 0 -> (0.3 + 0) / 1, penalty applies: 0.3 - 0.3
    r = proposer_base_reward([SampleOutcome(True, 0.3, None)])
    assert r.total == pytest.approx(0.0)


def test_average_linkage_differs_from_single_linkage() -> None:
    d = np.array([[0.0, 0.1, 0.3], [0.1, 0.0, 0.35], [0.3, 0.35, 0.0]])
    # merge {0,1} at 0.1; then average d({0,1}, 2) = (0.3 + 0.35) / 2 = 0.325
    assert average_linkage_clusters(d, 0.25) == [0, 0, 1]
    assert average_linkage_clusters(d, 0.31) == [0, 0, 1]  # single linkage (0.3) would merge
    assert average_linkage_clusters(d, 0.33) == [0, 0, 0]
    assert average_linkage_clusters(np.zeros((0, 0)), 0.25) == []


def test_average_linkage_two_groups() -> None:
    d = np.full((4, 4), 0.9)
    np.fill_diagonal(d, 0.0)
    d[0, 2] = d[2, 0] = 0.1
    d[1, 3] = d[3, 1] = 0.2
    assert average_linkage_clusters(d, 0.25) == [0, 1, 0, 1]


def test_bleu_similarity_and_shares() -> None:
    assert bleu_similarity("a b c d", "a b c d") == 1.0
    assert bleu_similarity(DISTINCT[0], DISTINCT[1]) < 0.05
    s = bleu_similarity("the bar chart shows fruit sales", "the bar chart shows fruit prices")
    assert s == pytest.approx(
        bleu_similarity("the bar chart shows fruit prices", "the bar chart shows fruit sales")
    )
    assert 0.3 < s < 1.0
    assert cluster_shares([DISTINCT[0]] * 3 + [DISTINCT[1]]) == [0.75, 0.75, 0.75, 0.25]
    assert cluster_shares(DISTINCT) == [0.25] * 4


def test_diversity_penalties_hand_computed() -> None:
    captions = [DISTINCT[0]] * 3 + [DISTINCT[1]]  # shares .75 .75 .75 .25
    easy = DISTINCT  # shares .25 each
    hard = DISTINCT  # shares .25 each
    # n = 4, 1/n = .25; i < 3: 0.5 * 4 * 0.45 * (0.75 - 0.25) = 0.45; i = 3: 0
    assert diversity_penalties(captions, easy, hard) == pytest.approx([0.45, 0.45, 0.45, 0.0])
    # all hard questions identical too: +0.5 * 4 * 0.35 * 0.75 = 1.05 -> clipped to 0.5
    assert diversity_penalties(captions, easy, [DISTINCT[2]] * 4) == pytest.approx([0.5] * 4)
    assert diversity_penalties(["x"], ["y"], ["z"]) == [0.0]
    with pytest.raises(ValueError):
        diversity_penalties(["a"], [], [])


def test_diversity_over_the_whole_step_batch_sees_the_siblings() -> None:
    # two copies (siblings) of one episode, two proposers each; within an episode the
    # captions differ, but copy 2 repeats copy 1's captions
    props = [
        {"caption": DISTINCT[c], "easy_question": DISTINCT[k], "hard_question": DISTINCT[k],
         "content_type": t}
        for k, (c, t) in enumerate([(0, "chart"), (1, "table"), (0, "chart"), (1, "table")])
    ]  # fmt: skip
    samples = [[SampleOutcome(True, 1.0, 0.5)]] * 2
    per_episode = proposer_rewards(props[:2], samples) + proposer_rewards(props[2:], samples)
    assert [r.diversity_penalty for r in per_episode] == [0.0] * 4  # blind to the siblings
    base = per_episode[0].base  # (min(1, .5) + min(.5, .5)) / 1 = 1.0
    assert base == pytest.approx(1.0)
    totals = rescore_proposer_batch(props, [r.as_dict() for r in per_episode])
    # whole batch: caption shares .5 each, n = 4: 0.5 * 4 * 0.45 * (0.5 - 0.25) = 0.225
    assert totals == pytest.approx([1.0 - 0.225] * 4)
    # a format failure keeps its penalty, a turn without a score stays unscored
    failed = ProposerRewardConfig().format_penalty
    assert rescore_proposer_batch([None, props[0]], [{"total": failed}, None]) == [failed, None]


def test_content_type_penalties_hand_computed() -> None:
    # f(chart) = .75 > .5 -> 0.15 * (.75 - .5) / .5 = 0.075
    assert content_type_penalties(["c", "c", "c", "t"]) == pytest.approx([0.075] * 3 + [0.0])
    assert content_type_penalties(["c", "c", "t", "t"]) == [0.0] * 4  # f = .5 is not > .5
    assert content_type_penalties(["c"] * 4) == [0.0] * 4  # one type: no signal
    cfg = ProposerRewardConfig(content_type_weight=1.0, content_type_threshold=0.25)
    # f = .75: (0.75 - 0.25) / 0.75 = 2/3; f = .25: not > .25
    assert content_type_penalties(["c", "c", "c", "t"], cfg) == pytest.approx([2 / 3] * 3 + [0.0])


def test_proposer_rewards_batch() -> None:
    proposals = [
        {
            "caption": DISTINCT[0],
            "easy_question": DISTINCT[0],
            "hard_question": DISTINCT[0],
            "content_type": "data_chart",
        },
        None,
        {
            "caption": DISTINCT[1],
            "easy_question": DISTINCT[1],
            "hard_question": DISTINCT[1],
            "content_type": "table",
        },
    ]
    samples = [
        [SampleOutcome(True, 1.0, 0.6), SampleOutcome(False)],  # (0.5 + 0.4) / 2 = 0.45
        [],
        [SampleOutcome(False), SampleOutcome(False)],  # 0
    ]
    out = proposer_rewards(proposals, samples)
    assert [r.total for r in out] == pytest.approx([0.45, -1.0, 0.0])
    assert not out[1].format_ok and out[0].diversity_penalty == 0.0
    # both valid proposals identical: n = 2, shares 1 -> 0.5 * 2 * (1 - 0.5) = 0.5 each
    same = [proposals[0], proposals[0]]
    out = proposer_rewards(same, [samples[0], samples[0]])
    assert [r.diversity_penalty for r in out] == pytest.approx([0.5, 0.5])
    assert out[0].total == pytest.approx(0.45 - 0.5)
    with pytest.raises(ValueError):
        proposer_rewards([None], [])


def test_codegen_reward_hand_computed() -> None:
    assert codegen_reward(True, 0.8, 0.6) == pytest.approx(1 + 0.8 + 0.4)
    assert codegen_reward(True, 0.5, None) == pytest.approx(1.5)
    assert codegen_reward(False) == pytest.approx(-0.1)  # SVG that failed to render
    assert codegen_reward(False, not_svg=True) == pytest.approx(-0.5)  # -0.6 floored
    assert codegen_reward(False, empty=True, not_svg=True) == pytest.approx(-0.5)  # -0.65
    cfg = CodegenRewardConfig(floor=-1.0)
    assert codegen_reward(False, empty=True, not_svg=True, config=cfg) == pytest.approx(-0.65)
    assert codegen_reward(False, empty=True, config=cfg) == pytest.approx(-0.15)


def test_solver_reward() -> None:
    assert solver_reward(True, True) == pytest.approx(1.0)
    assert solver_reward(True, False) == pytest.approx(0.9)
    assert solver_reward(False, True) == pytest.approx(0.1)
    assert solver_reward(False, False) == 0.0
    cfg = SolverRewardConfig(accuracy_weight=1.0, format_weight=0.0)
    assert solver_reward(True, False, cfg) == 1.0


def test_keep_for_codegen() -> None:
    assert keep_for_codegen([True, False, False, False])  # 0.25
    assert keep_for_codegen([True, True, True, False])  # 0.75
    assert not keep_for_codegen([True] * 4)
    assert not keep_for_codegen([False] * 4)
    assert not keep_for_codegen([])
    assert keep_for_codegen([True] * 4, FilterConfig(render_success_max=1.0))


def test_silver_label() -> None:
    hard = ["5"] * 6 + ["6"] * 3 + ["none"]  # valid 9: c = 6/9
    easy = ["3"] * 10
    v = silver_label(hard, easy)
    assert v.keep and v.label == "5" and v.hard.value == pytest.approx(6 / 9)
    v = silver_label(hard, ["3"] * 4 + ["1", "2", "4", "6", "7", "8"])  # easy c = 0.4
    assert not v.keep and v.reason == "easy consistency too low" and v.label == "5"
    v = silver_label(["5"] * 10, easy)  # c = 1: too easy
    assert not v.keep and v.reason == "hard consistency out of range"
    v = silver_label([str(i) for i in range(10)], easy)  # c = 0.1: noise
    assert not v.keep
    v = silver_label(["unknown"] * 10, easy)
    assert not v.keep and v.label is None


def test_batch_metrics_hand_computed() -> None:
    m = batch_metrics(
        "propose",
        hard_consistency=[0.5, 1.0, None],  # difficulty mean(2 * .5, 2 * 0) = 0.5
        solvability=[1.0, 0.5],  # 0.75; hard mean 0.75 -> gap 0
        render_statuses=["ok", "ok", "render_error", "not_svg"],
        content_types=["data_chart", "data_chart", "table", "table"],
        svg_lengths=[100, 300],
        format_ok=[True, False],
    )
    assert m["propose/difficulty"] == pytest.approx(0.5)
    assert m["propose/solvability"] == pytest.approx(0.75)
    assert m["propose/easy_hard_gap"] == pytest.approx(0.0)
    assert m["propose/render/ok"] == 0.5 and m["propose/render/render_error"] == 0.25
    assert m["propose/render/timeout"] == 0.0 and m["propose/render_success"] == 0.5
    # entropy of (1/2, 1/2) = ln 2, normalised by ln 7 (all seven types)
    assert m["propose/content_type_entropy"] == pytest.approx(math.log(2) / math.log(7))
    assert m["propose/svg_length"] == 200 and m["propose/format_ok"] == 0.5
    assert m["propose/count/no_valid_hard"] == 1
    assert content_type_entropy([]) == 0.0
    assert content_type_entropy(["a"] * 3) == 0.0


def test_aggregate_metrics() -> None:
    a = {"p/difficulty": 0.2, "p/count/render": 4.0}
    b = {"p/difficulty": 0.6, "p/count/render": 2.0, "p/render_success": 1.0}
    out = aggregate_metrics([a, b])
    assert out == pytest.approx(
        {"p/difficulty": 0.4, "p/count/render": 6.0, "p/render_success": 1.0}
    )


# -- properties -----------------------------------------------------------------


_words = st.lists(st.sampled_from(["bar", "pie", "chart", "sales", "of", "the", "x"]), max_size=6)


@settings(max_examples=40, deadline=None)
@given(st.lists(_words.map(" ".join), min_size=1, max_size=6))
def test_diversity_penalty_bounds(texts: list[str]) -> None:
    pens = diversity_penalties(texts, texts, texts)
    assert all(0.0 <= p <= 0.5 for p in pens)
    shares = cluster_shares(texts)
    assert all(1 / len(texts) - 1e-12 <= s <= 1.0 for s in shares)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(0, 1), st.one_of(st.none(), st.floats(0, 1))),
        min_size=1,
        max_size=8,
    )
)
def test_proposer_base_reward_bounds(raw: list[tuple[bool, float, float | None]]) -> None:
    r = proposer_base_reward([SampleOutcome(*x) for x in raw])
    # per rendered sample at most 0.5 + 0.5; penalty at most 0.3
    assert -0.3 - 1e-9 <= r.total <= 1.0 + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["1", "1.0", "2", "none", "", "a", "A", "\\frac{1}{2}", "0.5"])))
def test_self_consistency_bounds(answers: list[str]) -> None:
    from vzgym.envs.svg.answers import self_consistency

    c = self_consistency(answers)
    if c.n_valid:
        assert c.value is not None and 1 / c.n_valid - 1e-12 <= c.value <= 1.0
        assert sum(c.cluster_sizes) == c.n_valid
    else:
        assert c.value is None

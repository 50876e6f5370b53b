"""Parsers of the SVG question world: proposals, SVG extraction, boxed answers, equivalence."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vzgym.envs.svg.answers import (
    answers_equivalent,
    is_non_answer,
    match_share,
    normalize_answer,
    self_consistency,
)
from vzgym.envs.svg.parsing import (
    CONTENT_TYPES,
    Proposal,
    drop_think_blocks,
    extract_boxed,
    extract_svg,
    parse_proposal,
    parse_solver_answer,
)

GOOD = (
    "<content_type>data_chart</content_type>\n"
    "<caption>A bar chart of fruit sales: apples 12, pears 30.</caption>\n"
    "<easy_question>How many apples were sold?</easy_question>\n"
    "<easy_answer>12</easy_answer>\n"
    "<hard_question>How many more pears than apples?</hard_question>\n"
    "<hard_answer>18</hard_answer>"
)
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="5" height="5"/></svg>'
)
JUNK = [
    "",
    "   ",
    "<",
    "<caption>",
    "\\boxed{",
    "```svg",
    "\ud800\udfff\ud800",
    "<svg" * 1000,
    "{" * 5000 + "}" * 10,
    "\\boxed{" * 3000,
]


# -- proposals ------------------------------------------------------------------


def test_parse_proposal_good() -> None:
    result = parse_proposal("Sure! " + GOOD + " bye")
    assert result.ok and result.error is None
    p = result.proposal
    assert p is not None
    assert p.content_type == "data_chart"
    assert p.easy_answer == "12" and p.hard_answer == "18"
    assert parse_proposal(p.to_text()).proposal == p
    assert Proposal.from_dict(p.to_dict()) == p


def test_parse_proposal_tolerates_case_and_spaces() -> None:
    text = GOOD.replace("<caption>", "< Caption >").replace("</caption>", "</ caption>")
    text = text.replace("data_chart", " Data Chart ")
    p = parse_proposal(text).proposal
    assert p is not None and p.content_type == "data_chart"
    assert p.caption.startswith("A bar chart")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (GOOD.replace("<hard_answer>18</hard_answer>", ""), "missing <hard_answer>"),
        (GOOD + "<easy_answer>3</easy_answer>", "<easy_answer> appears more than once"),
        (GOOD.replace("data_chart", "photo"), "unknown content_type"),
        (GOOD.replace("<content_type>data_chart</content_type>", ""), "missing <content_type>"),
        (GOOD.replace("<easy_answer>12</easy_answer>", "<easy_answer>  </easy_answer>"), "empty"),
        (
            GOOD.replace("<easy_answer>12</easy_answer>", "</easy_answer>12<easy_answer>"),
            "before",
        ),
        (GOOD.replace("fruit sales", "<answer> sales"), None),  # foreign tags are fine
    ],
)
def test_parse_proposal_failures(text: str, error: str | None) -> None:
    result = parse_proposal(text)
    if error is None:
        assert result.ok
    else:
        assert not result.ok and error in (result.error or "")


def test_think_draft_of_the_tags_is_ignored() -> None:
    draft = "<think>First try: <caption>x</caption><easy_answer>1</easy_answer></think>\n"
    p = parse_proposal(draft + GOOD).proposal
    assert p is not None and p.easy_answer == "12" and p.caption.startswith("A bar chart")
    assert not parse_proposal("<think>" + GOOD + "</think>").ok  # only a draft: missing
    assert drop_think_blocks("a<think>b</think>c<think>d</think>e<think>f") == "a c e<think>f"
    assert drop_think_blocks("</think>x< Think >y</think>") == "</think>x "
    start = time.perf_counter()
    drop_think_blocks("<think>" * 20_000 + "x" * 100_000 + "</think>")  # linear, not quadratic
    assert time.perf_counter() - start < 5


def test_parse_proposal_nested_tag_rejected() -> None:
    text = GOOD.replace(
        "<caption>A bar chart", "<caption><hard_answer>x</hard_answer>A bar chart"
    ).replace("<hard_answer>18</hard_answer>", "")
    assert not parse_proposal(text).ok


def test_parse_proposal_field_length_limit() -> None:
    text = GOOD.replace("A bar chart", "A" * 5000)
    assert not parse_proposal(text).ok
    assert parse_proposal(text, max_field_chars=10_000).ok


def test_content_types_are_the_seven() -> None:
    assert CONTENT_TYPES == (
        "data_chart",
        "diagram",
        "geometry",
        "timeline",
        "map",
        "table",
        "other",
    )


# -- SVG extraction ---------------------------------------------------------------


def test_extract_svg_fence() -> None:
    e = extract_svg(f"Here:\n```svg\n{SVG}\n```\nand raw <svg></svg>")
    assert (e.code, e.source, e.is_svg, e.empty) == (SVG, "svg_fence", True, False)


def test_extract_svg_xml_fence_and_raw() -> None:
    e = extract_svg(f"```xml\n<?xml version='1.0'?>\n{SVG}\n```")
    assert e.source == "xml_fence" and e.code == SVG
    assert extract_svg("```xml\n<note/>\n```").is_svg is False
    e = extract_svg(f"blah {SVG} blah")
    assert e.source == "raw" and e.code == SVG


def test_extract_svg_truncated_and_missing() -> None:
    e = extract_svg('<svg width="10"><rect')
    assert e.is_svg and e.code == '<svg width="10"><rect'
    e = extract_svg("```svg\n<svg><rect/>")  # unclosed fence runs to the end
    assert e.source == "svg_fence" and e.code == "<svg><rect/>"
    e = extract_svg("I can't draw.")
    assert (e.source, e.is_svg, e.empty) == ("none", False, False)
    e = extract_svg("  \n ")
    assert e.empty and not e.is_svg
    e = extract_svg("```svg\n```")
    assert e.empty and not e.is_svg and e.source == "svg_fence"
    assert not extract_svg("<svgfoo/>").is_svg


# -- boxed answers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("\\boxed{42}", "42"),
        ("first \\boxed{1} then \\boxed{ 2 }", "2"),  # last box wins
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are literal
        ("\\boxed{3} and \\boxed{4", "3"),  # unbalanced last box is skipped
        ("\\boxed {x}", "x"),
        ("\\fbox{7}", "7"),
        ("no box here", None),
        ("\\boxed{}", ""),
    ],
)
def test_extract_boxed(text: str, answer: str | None) -> None:
    assert extract_boxed(text) == answer


def test_parse_solver_answer_format() -> None:
    good = parse_solver_answer("<think>12 + 6</think> so \\boxed{18}")
    assert (good.answer, good.format_ok, good.has_think) == ("18", True, True)
    no_think = parse_solver_answer("\\boxed{18}")
    assert no_think.answer == "18" and not no_think.format_ok
    early = parse_solver_answer("\\boxed{18}<think>hmm</think>")
    assert early.answer == "18" and early.has_think and not early.format_ok
    empty = parse_solver_answer("<think>hmm</think>\\boxed{ }")
    assert empty.answer == "" and not empty.format_ok
    unclosed = parse_solver_answer("<think>hmm \\boxed{3}")
    assert unclosed.answer == "3" and not unclosed.has_think


@pytest.mark.parametrize("junk", JUNK)
def test_parsers_survive_junk(junk: str) -> None:
    assert not parse_proposal(junk).ok
    extract_svg(junk)
    extract_boxed(junk)
    parse_solver_answer(junk)
    normalize_answer(junk)


def test_parsers_are_fast_on_100kb() -> None:
    big = ("\\boxed{" * 2000 + "<caption>x" + "```svg " + "<svg " + "{" * 1000) * 5
    big = big[:100_000]
    start = time.perf_counter()
    for fn in (parse_proposal, extract_svg, extract_boxed, parse_solver_answer):
        fn(big)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/{}\\`$ abxsvgboxed_qtn\n") + ["\ud800"])))
def test_parsers_never_raise(text: str) -> None:
    parse_proposal(text)
    extract_svg(text)
    box = extract_boxed(text)
    assert box is None or box in text
    parse_solver_answer(text)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=30))
def test_boxed_round_trip(answer: str) -> None:
    if "{" in answer or "}" in answer or "\\" in answer:
        return
    assert extract_boxed(f"<think>t</think>\\boxed{{{answer}}}") == answer.strip()


# -- answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("42", "42.0", True),
        ("Blue", " blue. ", True),
        ("3,000", "3000", True),
        ("\\text{Apples}", "apples", True),
        ("$18$", "18", True),
        ("1/2", "0.5", True),  # math-verify
        ("\\frac{1}{2}", "0.5", True),  # math-verify
        ("12", "13", False),
        ("12", "1 2", False),
        ("2", "2.0001", False),
        ("red", "blue", False),
        ("none", "none", False),  # non-answers never match
        ("", "", False),
        ("(2,100)", "(2, 100)", True),  # a pair, not 2100
        ("(2,100)", "(2100)", False),
        ("A", "(A)", True),  # option labels
        ("b)", "Option B", True),
        ("A", "B", False),
        ("12 cm", "12", True),  # one side without a unit: lenient
        ("5 m", "5 cm", False),  # different units never match
        ("20 kg", "20 g", False),
        ("10 km", "10 miles", False),
        ("x=3", "y=3", False),
    ],
)
def test_answers_equivalent(a: str, b: str, same: bool) -> None:
    assert answers_equivalent(a, b) is same
    assert answers_equivalent(b, a) is same


def test_non_answers() -> None:
    for s in ["", " None ", "N/A", "na", "NULL", "unknown", "-", None]:
        assert is_non_answer(s)
    assert not is_non_answer("0")


def test_self_consistency_hand_computed() -> None:
    # valid: 4, 4.0, five (none dropped) -> clusters {4, 4.0}, {five}: c = 2/3
    c = self_consistency(["4", "4.0", "five", "none"])
    assert c.value == pytest.approx(2 / 3)
    assert c.majority == "4" and c.n_valid == 3 and c.n_total == 4
    assert c.cluster_sizes == (2, 1)
    empty = self_consistency(["", "unknown", None])
    assert empty.value is None and empty.majority is None and empty.n_valid == 0
    # ties: the cluster formed first wins
    assert self_consistency(["a", "b"]).majority == "a"


def test_self_consistency_does_not_depend_on_answer_order() -> None:
    # "50%" ~ "50" and "50%" ~ "0.5" but "50" !~ "0.5": one connected cluster in any order
    for order in (["50%", "50", "0.5"], ["50", "0.5", "50%"], ["0.5", "50", "50%"]):
        c = self_consistency(order)
        assert c.value == 1.0 and c.cluster_sizes == (3,) and c.majority == order[0]
    # two clusters of two: the one whose first answer came first wins
    c = self_consistency(["7", "3", "3.0", "7.0"])
    assert c.cluster_sizes == (2, 2) and c.majority == "7"


def test_match_share_counts_non_answers_as_misses() -> None:
    # 2 of 4 answers equal 12 -> 0.5 (the "n/a" counts in the denominator)
    assert match_share(["12", "12.0", "n/a", "7"], "12") == 0.5
    assert match_share([], "12") == 0.0

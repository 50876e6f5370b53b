import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vzgym.envs.spy.parsing import clean_text, find_boxes, last_box, parse_clue, parse_vote


def test_last_of_several_boxes_wins():
    assert last_box(r"first \boxed{a} then \boxed{b}") == "b"


def test_nested_braces_are_kept():
    assert last_box(r"\boxed{\frac{1}{2} {x}}") == r"\frac{1}{2} {x}"


def test_unclosed_box_is_ignored_but_earlier_one_counts():
    assert last_box(r"\boxed{ok} and \boxed{never closed") == "ok"
    assert last_box(r"\boxed{never closed") is None


def test_unclosed_box_does_not_hide_later_complete_boxes():
    assert parse_vote(r"My first guess \boxed{3 ... actually no. Final: \boxed{2}", 4).target == 2
    parsed = parse_clue(r"I could write \boxed{ here... final answer: \boxed{a red cube}")
    assert parsed.clue == "a red cube"
    # thousands of unclosed boxes before the answer (linear-time scan)
    assert last_box("\\boxed{" * 20_000 + r"\boxed{2}") == "2"


def test_box_inside_a_complete_box_is_its_content():
    assert find_boxes(r"\boxed{a \boxed{b}}") == [(0, 19, r"a \boxed{b}")]


def test_box_with_space_and_fbox():
    assert last_box(r"\boxed {x}") == "x"
    assert last_box(r"\fbox{y}") == "y"


def test_clue_parsing_splits_reasoning():
    parsed = parse_clue("I see a cube.\n\\boxed{a red cube}\nDone.")
    assert parsed.clue == "a red cube"
    assert parsed.reasoning == "I see a cube.\n\nDone."
    assert parsed.valid


def test_clue_empty_box_and_no_box():
    assert parse_clue(r"\boxed{   }").error == "empty_box"
    assert parse_clue("just words").error == "no_box"
    assert parse_clue("").error == "no_box"


def test_clue_strips_text_command_and_caps_length():
    assert parse_clue(r"\boxed{\text{red} cube}").clue == "red cube"
    assert len(parse_clue("\\boxed{" + "a" * 1000 + "}", max_chars=50).clue) == 50


def test_clue_100kb_junk():
    junk = ("{{}}\\boxed" * 10000) + "x" * 100_000
    parsed = parse_clue(junk)
    assert parsed.clue is None


def test_surrogates_become_replacement_chars():
    parsed = parse_clue("\udcff\\boxed{bad \ud800 byte}")
    assert parsed.clue == "bad \ufffd byte"
    parsed.clue.encode("utf-8")  # valid UTF-8 now
    assert clean_text("a\x00b") == "a b"


@pytest.mark.parametrize(
    ("text", "target", "na", "error"),
    [
        (r"\boxed{3}", 3, False, None),
        (r"\boxed{Player 3}", 3, False, None),
        (r"\boxed{player3}", 3, False, None),
        (r"\boxed{\text{Player } 2}", 2, False, None),
        (r"\boxed{#4}", 4, False, None),
        (r"\boxed{N/A}", None, True, None),
        (r"\boxed{n/a}", None, True, None),
        (r"\boxed{N.A.}", None, True, None),
        (r"\boxed{N.A}", None, True, None),
        (r"\boxed{\mathrm{N/A}}", None, True, None),
        (r"\boxed{\textbf{3}}", 3, False, None),
        (r"\boxed{\mathbf{Player 4}}", 4, False, None),
        (r"\boxed{none}", None, True, None),
        (r"\boxed{5}", None, False, "out_of_range"),
        (r"\boxed{0}", None, False, "out_of_range"),
        (r"\boxed{2 or 3}", None, False, "not_a_player"),
        (r"\boxed{}", None, False, "empty_box"),
        ("Player 3 is the spy", None, False, "no_box"),
        (r"\boxed{1} no wait \boxed{2}", 2, False, None),
    ],
)
def test_vote_cases(text, target, na, error):
    vote = parse_vote(text, num_players=4)
    assert (vote.target, vote.na, vote.error) == (target, na, error)
    assert vote.valid == (error is None)


def test_find_boxes_positions():
    text = r"a\boxed{x}b\boxed{y{z}}"
    assert find_boxes(text) == [(1, 10, "x"), (11, 23, "y{z}")]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parsers_never_raise(text):
    parse_clue(text)
    parse_vote(text, 4)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}\\boxed 12N/A\udcff"))))
def test_parsers_never_raise_on_brace_soup(text):
    parse_clue(text)
    assert parse_vote(text, 4).target in (None, 1, 2)

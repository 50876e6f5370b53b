"""SVG prompt sets: the ``paper`` set carries every instruction of MM-Zero's templates."""

import re

import pytest

from vzgym.envs.svg.parsing import Proposal
from vzgym.envs.svg.topics import PROMPT_SETS, prompt_set

PROPOSAL = Proposal(
    content_type="data_chart",
    caption="three bars A=3, B=5, C=9",
    easy_question="What is the value of B?",
    easy_answer="5",
    hard_question="By how much does C exceed the mean of A and B?",
    hard_answer="5",
)

# MM-Zero's format_prompt/proposer.jinja, instruction by instruction.
PROPOSER = [
    ("role: designer of rich, data-dense visualisations", r"designer of visual content.*dense"),
    ("plan silently first", r"Plan first, without writing the plan down"),
    ("unique topic, several data elements, analytic questions", r"unusual subject, several data"),
    ("avoid generic patterns", r"no default monthly-sales line chart, no single-series bar"),
    ("under half of viewers could read it without study", r"more than half"),
    ("exactly six tags and nothing else", r"exactly these six tags.*nothing before or after"),
    ("content type from the fixed list", r"exactly one of: data_chart, diagram, geometry"),
    ("easy question read straight off the image", r"read straight off the picture"),
    ("hard question: multi-step or cross-referencing", r"several calculation steps or combining"),
    ("content type must match (per-type examples)", r"must fit the picture: data_chart for bar"),
    ("rendered as SVG; the kinds of picture allowed", r"Everything is drawn as SVG"),
    ("complexity: at least 3 of 7 features", r"at least three of these"),
    ("feature: several series or groups", r"several data series"),
    ("feature: annotations or callouts", r"callouts"),
    ("feature: secondary panel or inset", r"second panel or an inset"),
    ("feature: specific colours/markers", r"specific\s+colours, markers"),
    ("feature: derived values", r"derived values"),
    ("feature: non-trivial patterns", r"peaks, dips, crossings, outliers"),
    ("feature: geometric constructions", r"geometric constructions, overlapping shapes"),
    ("anti-repetition: no cliches", r"no cliches"),
    ("anti-repetition: no monotone data", r"only rises or only falls"),
    ("anti-repetition: no generic axis labels", r"generic axis names like Month and Sales"),
    ("anti-repetition: at least 3 data elements", r"fewer than three data elements"),
    ("hard: multi-step, not a read-off", r"several reasoning steps \(not a single read-off\)"),
    ("hard: combine parts of the picture", r"combine different parts"),
    ("hard: must need a value from the image", r"at least one value it needs has to be read"),
    ("hard: do not state all values (bad/good examples)", r"Bad:.*Good:"),
    ("answers: one number/word/short phrase", r"one number, one word or a very short phrase"),
    ("numeric answers alone", r"numeric answer is the number or expression alone"),
    ("categorical answers: label alone", r"categorical answer is the label alone"),
    ("no sentences or explanations", r"never a sentence or an\s+explanation"),
]
CODEGEN = [
    ("role: caption + questions with short answers to SVG", r"caption\) and its questions"),
    ("easy answer's data must be in the image, exactly", r"exactly the easy answer"),
    ("easy answer clearly visible and readable", r"easy answer must be clearly visible"),
    ("raw SVG, not Python", r"not a program \(no Python\)"),
    ("viewBox", r"viewBox"),
    ("text elements for all labels", r"<text> elements"),
    ("font sizes 12/14", r"12px or more for labels and 14px"),
    ("distinct fills", r"own fill colour"),
    ("axes with line, ticks with text", r"axes with <line>"),
    ("bars as rect", r"bars as <rect>"),
    ("lines as polyline/path, fill none", r"<polyline> or <path> with a stroke"),
    ("pie as arcs or dasharray", r"stroke-dasharray"),
    ("self-contained", r"self-contained"),
    ("clean and readable, contrast", r"enough contrast"),
    ("svg code fence", r"```svg code fence"),
]
SOLVER = [
    ("look carefully", r"Study the image closely"),
    ("think step by step inside think tags", r"step by step inside\s+<think>"),
    ("final answer boxed", r"\\boxed\{\}"),
    ("single number, word or short phrase", r"one number,\s+one word or a short phrase"),
    ("no units, no sentences", r"without units and without sentences"),
]


def _missing(text, table):
    return [what for what, pattern in table if not re.search(pattern, text, re.S)]


def test_paper_set_carries_every_instruction():
    paper = prompt_set("paper")
    proposer = paper.proposer_system + "\n" + paper.proposer("geometry")
    codegen = paper.codegen_system + "\n" + paper.codegen(PROPOSAL)
    solver = paper.solver_system + "\n" + paper.solver("What is B?")
    assert not _missing(proposer, PROPOSER), _missing(proposer, PROPOSER)
    assert not _missing(codegen, CODEGEN), _missing(codegen, CODEGEN)
    assert not _missing(solver, SOLVER), _missing(solver, SOLVER)


@pytest.mark.parametrize("name", sorted(PROMPT_SETS))
def test_codegen_is_told_the_easy_answer_must_be_visible(name):
    # the old vzgym text told the codegen the opposite ("do not write the answers")
    prompts = prompt_set(name)
    text = prompts.codegen_system + "\n" + prompts.codegen(PROPOSAL)
    assert re.search(r"easy answer must be clearly visible", text, re.I)
    assert "Do not write the answers" not in text
    assert "Hard answer" not in text  # hidden unless asked for
    assert "Hard answer: 5" in prompts.codegen(PROPOSAL, show_hard_answer=True)


def test_vzgym_set_is_the_short_one_and_unknown_sets_fail():
    assert not _missing("x", []) and _missing(prompt_set("vzgym").proposer("geometry"), PROPOSER)
    with pytest.raises(ValueError, match="prompts must be one of"):
        prompt_set("jinja")

"""Seed topics and prompt texts of the SVG question world.

The eight seed topics are MM-Zero's.  Two prompt sets (``prompts=`` of the SVG envs):

* ``"vzgym"`` (default): short prompts written for this project.
* ``"paper"``: every instruction of MM-Zero's released prompt templates
  (``format_prompt/{proposer,codegen,solver}.jinja``) in our own words: the
  proposer's planning, complexity and anti-repetition rules, the hard question that
  must need the image, short answers; the codegen's SVG guidelines; the solver's
  think-then-box format.  ``tests/test_svg_prompts.py`` lists the instructions.

Both sets state the action formats :mod:`vzgym.envs.svg.parsing` accepts, and both
tell the codegen that the easy answer must be clearly visible in the picture
(MM-Zero's rule; an earlier vzgym text said the opposite).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vzgym.envs.svg.parsing import CONTENT_TYPES, Proposal

#: MM-Zero's eight seed topics.
SEED_TOPICS: tuple[str, ...] = (
    "chart and graph understanding",
    "statistical and trend analysis",
    "mathematical and quantitative reasoning",
    "spatial and geometric reasoning",
    "logical and abstract reasoning",
    "diagram and structural comprehension",
    "visual text recognition and OCR",
    "basic shape and object perception",
)

PROPOSER_SYSTEM = (
    "You design visual reasoning puzzles. Describe one picture that can be drawn as an SVG "
    "image and ask two questions about it that can only be answered by looking at the picture."
)


def proposer_prompt(topic: str) -> str:
    """Return the proposer's user prompt for ``topic``."""
    types = " | ".join(CONTENT_TYPES)
    return (
        f"Topic: {topic}.\n"
        "Propose one picture and two questions about it. Reply with exactly these six tags, "
        "each once:\n"
        f"<content_type>one of: {types}</content_type>\n"
        "<caption>a precise description of the picture, with every number, label and "
        "colour needed to draw it</caption>\n"
        "<easy_question>a question answered by reading one value off the picture</easy_question>\n"
        "<easy_answer>a short answer (a number, word or label)</easy_answer>\n"
        "<hard_question>a question that needs several reasoning steps over the picture"
        "</hard_question>\n"
        "<hard_answer>a short answer (a number, word or label)</hard_answer>"
    )


CODEGEN_SYSTEM = (
    "You write SVG code. Draw the described picture so that the questions can be answered "
    "from the image alone. The easy answer must be clearly visible and readable in the "
    "picture (as a label, value, bar or annotation)."
)


def _proposal_lines(proposal: Proposal, show_hard_answer: bool, caption_label: str) -> list[str]:
    """The caption, both questions and the easy (and optionally hard) answer, one a line."""
    lines = [
        f"{caption_label}: {proposal.caption}",
        f"Easy question: {proposal.easy_question}",
        f"Easy answer: {proposal.easy_answer}",
        f"Hard question: {proposal.hard_question}",
    ]
    if show_hard_answer:
        lines.append(f"Hard answer: {proposal.hard_answer}")
    return lines


def codegen_prompt(proposal: Proposal, show_hard_answer: bool = False) -> str:
    """Return the codegen's user prompt for ``proposal`` (hard answer hidden by default)."""
    lines = _proposal_lines(proposal, show_hard_answer, caption_label="Picture")
    lines.append(
        "Write one complete SVG document (with width, height and viewBox) inside a ```svg "
        "code fence."
    )
    return "\n".join(lines)


SOLVER_SYSTEM = "You answer questions about images."


def solver_prompt(question: str) -> str:
    """Return the solver's user prompt for ``question`` (the image precedes it)."""
    return (
        f"{question}\n"
        "Think step by step inside <think>...</think>, then give your final answer inside "
        "\\boxed{} as a single number, word or label (e.g. \\boxed{42}, \\boxed{blue})."
    )


# -- the "paper" set ---------------------------------------------------------------

PAPER_PROPOSER_SYSTEM = (
    "You are a designer of visual content: you invent detailed, information-dense charts and "
    "diagrams, drawn as SVG, whose reading takes real reasoning."
)


def paper_proposer_prompt(topic: str) -> str:
    """MM-Zero's proposer instructions (our words) for ``topic``."""
    types = ", ".join(CONTENT_TYPES)
    return (
        f"Topic: {topic}.\n\n"
        "Plan first, without writing the plan down: choose an unusual subject, several data "
        "elements, and questions that need real analysis. Stay away from stock patterns "
        "(no default monthly-sales line chart, no single-series bar chart). Aim for a picture "
        "that most viewers (more than half) could not fully read without studying it.\n\n"
        "Then reply with exactly these six tags, in this order, and nothing before or after "
        "them:\n"
        f"<content_type>exactly one of: {types}</content_type>\n"
        "<caption>a detailed, complete specification of the picture (see the complexity "
        "rules)</caption>\n"
        "<easy_question>a simple question whose answer can be read straight off the picture"
        "</easy_question>\n"
        "<easy_answer>its answer</easy_answer>\n"
        "<hard_question>a hard question that needs several calculation steps or combining "
        "several elements of the picture</hard_question>\n"
        "<hard_answer>its answer</hard_answer>\n\n"
        "The content type must fit the picture: data_chart for bar, line, pie, scatter, "
        "heatmap and similar charts; diagram for flowcharts, org charts, state machines, "
        "circuits, networks; geometry for shapes, angles, coordinates; timeline for schedules "
        "and Gantt charts; map for spatial or geographic layouts; table for grids and "
        "comparison tables; other for anything else.\n\n"
        "Everything is drawn as SVG, so any kind of picture works: multi-series bars or lines, "
        "scatter and bubble plots, heatmaps, stacked areas, pie or donut, radar, treemaps; "
        "flowcharts, org charts, state, circuit, network or architecture diagrams; annotated "
        "geometric constructions with measurements and angles; infographics such as "
        "timelines, comparison tables, process flows, multi-panel dashboards; floor plans and "
        "simple annotated maps.\n\n"
        "Complexity: the caption must have at least three of these: several data series or "
        "groups (three or more categories, stacked or grouped bars, several lines); labels, "
        "annotations or callouts on particular points; a second panel or an inset; specific "
        "colours, markers or styles per element; derived values (totals, percentages, ratios, "
        "differences); non-trivial patterns (peaks, dips, crossings, outliers, trends); "
        "geometric constructions, overlapping shapes, measurements, angles.\n\n"
        "Do not repeat yourself or others: no cliches such as sales from January to December, "
        "no data that only rises or only falls, no generic axis names like Month and Sales, "
        "no picture with fewer than three data elements.\n\n"
        "The hard question must take several reasoning steps (not a single read-off), should "
        "combine different parts of the picture, and above all must make the reader look at "
        "the picture: at least one value it needs has to be read from the image, so never "
        "put all the needed numbers into the question. Bad: 'A circle has radius 26 and a "
        "chord lies 10 from the centre; how long is the chord?' (answerable without the "
        "image). Good: 'How much larger is the tallest bar than the mean of the other bars?' "
        "(the bars must be read). Other good shapes: the ratio of X to Y; how far A exceeds "
        "the mean of B and C; which category's growth is nearest the median.\n\n"
        "Answers must be easy to grade: one number, one word or a very short phrase (such as "
        "42, Q1, blue, 3.5); a numeric answer is the number or expression alone (3.5, 25%), a "
        "categorical answer is the label alone (2020, January, yes); never a sentence or an "
        "explanation."
    )


PAPER_CODEGEN_SYSTEM = (
    "You turn a picture description (a caption) and its questions with short answers into "
    "SVG code for the picture."
)


def paper_codegen_prompt(proposal: Proposal, show_hard_answer: bool = False) -> str:
    """MM-Zero's codegen instructions (our words) for ``proposal``."""
    lines = _proposal_lines(proposal, show_hard_answer, caption_label="Caption")
    lines.append(
        "\nMost important: the drawn image must hold the data that answers the easy question "
        "with exactly the easy answer given above. The easy answer must be clearly visible "
        "and readable in the image (as a bar height, a label, a data point, an axis value or "
        "an annotation).\n\n"
        "Write the SVG markup itself, beginning with <svg, not a program (no Python) that "
        "would produce it.\n\n"
        "How to draw:\n"
        "- Give the root a viewBox (for example 0 0 800 600) so the size is stable.\n"
        "- Put every label, axis value, title and data annotation in <text> elements so it "
        "can be read.\n"
        "- Use a font-size of 12px or more for labels and 14px or more for titles.\n"
        "- Give each data series or category its own fill colour.\n"
        "- Draw axes with <line> and their tick labels with <text>.\n"
        "- Draw bars as <rect> with the right x, y, width and height.\n"
        '- Draw lines as <polyline> or <path> with a stroke and fill="none".\n'
        "- Draw pie slices as <path> arcs (A commands) or as a <circle> with "
        "stroke-dasharray.\n"
        "- Keep it self-contained: no external files, fonts or stylesheets.\n"
        "- Keep it clean: even spacing, no text or shapes on top of each other, colours with "
        "enough contrast.\n\n"
        "Put the SVG inside a ```svg code fence."
    )
    return "\n".join(lines)


PAPER_SOLVER_SYSTEM = "You answer questions about images."


def paper_solver_prompt(question: str) -> str:
    """MM-Zero's solver instructions (our words) for ``question``."""
    return (
        f"{question}\n"
        "Study the image closely, then answer the question. Reason step by step inside "
        "<think> </think> first; then put the final answer inside \\boxed{} as one number, "
        "one word or a short phrase (e.g. \\boxed{42}, \\boxed{blue}, \\boxed{Q1}), "
        "without units and without sentences."
    )


@dataclass(frozen=True)
class SvgPromptSet:
    """The three roles' system texts and user-prompt builders of one prompt set."""

    name: str
    proposer_system: str
    proposer: Callable[[str], str]
    codegen_system: str
    codegen: Callable[..., str]
    solver_system: str
    solver: Callable[[str], str]


#: ``prompts=`` choices of the SVG envs.
PROMPT_SETS: dict[str, SvgPromptSet] = {
    "vzgym": SvgPromptSet(
        "vzgym",
        PROPOSER_SYSTEM,
        proposer_prompt,
        CODEGEN_SYSTEM,
        codegen_prompt,
        SOLVER_SYSTEM,
        solver_prompt,
    ),
    "paper": SvgPromptSet(
        "paper",
        PAPER_PROPOSER_SYSTEM,
        paper_proposer_prompt,
        PAPER_CODEGEN_SYSTEM,
        paper_codegen_prompt,
        PAPER_SOLVER_SYSTEM,
        paper_solver_prompt,
    ),
}


def prompt_set(name: str) -> SvgPromptSet:
    """Return the prompt set ``name`` (``ValueError`` naming the choices otherwise)."""
    if name not in PROMPT_SETS:
        raise ValueError(f"prompts must be one of {tuple(PROMPT_SETS)}, got {name!r}")
    return PROMPT_SETS[name]

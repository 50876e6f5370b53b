"""Seed topics and prompt texts of the SVG question world.

The eight seed topics are MM-Zero's.  Prompts are written for this project
(they state the action formats that :mod:`vzgym.envs.svg.parsing` accepts).
"""

from __future__ import annotations

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
    "from the image alone. Do not write the answers into the picture."
)


def codegen_prompt(proposal: Proposal, show_hard_answer: bool = False) -> str:
    """Return the codegen's user prompt for ``proposal`` (hard answer hidden by default)."""
    lines = [
        f"Picture: {proposal.caption}",
        f"Easy question: {proposal.easy_question}",
        f"Easy answer: {proposal.easy_answer}",
        f"Hard question: {proposal.hard_question}",
    ]
    if show_hard_answer:
        lines.append(f"Hard answer: {proposal.hard_answer}")
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

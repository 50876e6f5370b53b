"""Data filters of the SVG question world (pure functions).

* :func:`keep_for_codegen` -- keep a proposal for codegen training when its
  render success over the codegen samples (default 4) is in [0.25, 0.75]:
  too easy to draw teaches nothing, never drawable neither.
* :func:`silver_label` -- a solver training item gets the solver's own
  majority answer over 10 samples on the hard question as its silver label;
  it is kept when the solver's *self-consistency* on the easy question is at
  least 0.5 (the picture is readable) and its hard consistency is in
  [0.25, 0.75] (the question is neither trivial nor noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vzgym.envs.svg.answers import Consistency, self_consistency


@dataclass(frozen=True)
class FilterConfig:
    """Thresholds of the data filters (all inclusive)."""

    render_success_min: float = 0.25
    render_success_max: float = 0.75
    easy_consistency_min: float = 0.5
    hard_consistency_min: float = 0.25
    hard_consistency_max: float = 0.75


def render_success_rate(rendered: Sequence[bool]) -> float:
    """Return the share of ``True`` in ``rendered`` (0.0 for an empty list)."""
    return sum(bool(r) for r in rendered) / len(rendered) if rendered else 0.0


def keep_for_codegen(
    rendered: Sequence[bool],
    config: FilterConfig = FilterConfig(),  # noqa: B008 - frozen
) -> bool:
    """Return whether a proposal's render success rate is in ``[min, max]``."""
    if not rendered:
        return False
    rate = render_success_rate(rendered)
    return config.render_success_min <= rate <= config.render_success_max


@dataclass(frozen=True)
class SilverLabel:
    """The verdict of :func:`silver_label` on one (image, question) item.

    Attributes:
        keep: whether the item passes both consistency gates.
        label: the majority hard answer (None when no hard answer was valid).
        easy: self-consistency of the easy answers.
        hard: self-consistency of the hard answers.
        reason: why it was dropped ("" when kept).
    """

    keep: bool
    label: str | None
    easy: Consistency
    hard: Consistency
    reason: str = ""


def silver_label(
    hard_answers: Sequence[str | None],
    easy_answers: Sequence[str | None],
    config: FilterConfig = FilterConfig(),  # noqa: B008 - frozen
) -> SilverLabel:
    """Return the silver label of a solver item and whether to keep it."""
    hard = self_consistency(hard_answers)
    easy = self_consistency(easy_answers)
    if hard.value is None:
        return SilverLabel(False, None, easy, hard, "no valid hard answer")
    if easy.value is None or easy.value < config.easy_consistency_min:
        return SilverLabel(False, hard.majority, easy, hard, "easy consistency too low")
    if not config.hard_consistency_min <= hard.value <= config.hard_consistency_max:
        return SilverLabel(False, hard.majority, easy, hard, "hard consistency out of range")
    return SilverLabel(True, hard.majority, easy, hard)

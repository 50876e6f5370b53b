"""Spy-game rewards (Vision-Zero), as pure functions.

Clue stage (zero-sum).  With ``v_s`` votes on the spy, ``v_cj`` on civilian ``j``
and their mean ``v̄_c`` over the ``n_c`` civilians::

    r_spy  = -β (v_s - v̄_c)
    r_cj   = (β / n_c)(v_s - v̄_c) - λ (v_cj - v̄_c)

The civilians' shares add up to ``-r_spy`` and the ``λ`` terms cancel, so the
rewards sum to zero.

Decision stage, per vote, two schemes:

* ``"paper"``: +1 correct, -0.5 N/A, -1 wrong or invalid.
* ``"vz-code"`` (the released code, ``clevr_spotdiff_generator.py``: format term,
  accuracy term and potential-based shaping ``γ·Φ_acc``):
  ``0.3·format + 1.2·acc + 0.99·[acc > 0]`` with ``format`` = +1 for a well-formed
  answer (a seat or N/A) after more than 10 characters of reasoning (the code's
  ``len(thinking) > 10`` check) and -1 otherwise, and ``acc`` = +1 correct, -0.5 N/A,
  -1 wrong or invalid.  So, with reasoning, correct = 2.49, N/A = -0.3, wrong = -0.9;
  invalid = -1.5; a correct vote with no reasoning = 1.89.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DECISION_SCHEMES = ("paper", "vz-code")


def count_votes(targets: Sequence[int | None], num_players: int) -> dict[int, int]:
    """Count votes per seat ``1..num_players`` (None = N/A or invalid, not counted)."""
    counts = dict.fromkeys(range(1, num_players + 1), 0)
    for target in targets:
        if target is not None and target in counts:
            counts[target] += 1
    return counts


def clue_rewards(
    votes: Mapping[int, int], spy: int, *, beta: float = 0.1, lam: float = 0.1
) -> dict[int, float]:
    """Zero-sum clue-stage rewards per seat from the vote counts per seat.

    ``votes`` maps every seat (spy included) to the votes it received.
    """
    if spy not in votes:
        raise ValueError(f"spy seat {spy} has no vote count in {dict(votes)}")
    civilians = [seat for seat in votes if seat != spy]
    if not civilians:
        raise ValueError("a spy game needs at least one civilian")
    v_s = float(votes[spy])
    mean_c = sum(votes[c] for c in civilians) / len(civilians)
    gap = v_s - mean_c
    rewards = {spy: -beta * gap + 0.0}  # + 0.0 turns -0.0 into 0.0
    for seat in civilians:
        rewards[seat] = (beta / len(civilians)) * gap - lam * (votes[seat] - mean_c) + 0.0
    return rewards


def decision_reward(
    *, correct: bool, na: bool, valid: bool, scheme: str = "paper", reasoned: bool = True
) -> float:
    """Reward of one vote.

    Args:
        correct: the vote names the right answer (the spy; N/A in a no-spy game).
        na: the voter abstained with N/A (and N/A was not the right answer).
        valid: the answer was well-formed (a seat in range, or N/A).
        scheme: ``"paper"`` or ``"vz-code"`` (see the module docstring).
        reasoned: more than 10 characters of reasoning came before the answer
            (only the ``vz-code`` format term reads it).
    """
    if scheme == "paper":
        if correct:
            return 1.0
        if na and valid:
            return -0.5
        return -1.0
    if scheme == "vz-code":
        fmt = 1.0 if valid and reasoned else -1.0
        if correct and valid:
            acc = 1.0
        elif na and valid:
            acc = -0.5
        else:
            acc = -1.0
        return 0.3 * fmt + 1.2 * acc + 0.99 * (1.0 if acc > 0 else 0.0)
    raise ValueError(f"unknown decision_reward scheme {scheme!r}; choose from {DECISION_SCHEMES}")

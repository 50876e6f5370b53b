"""The text the spy game shows its players (kept apart from the rules)."""

from __future__ import annotations

from collections.abc import Sequence

CLUE_LOG_EMPTY = "(no clues yet)"
NO_VALID_CLUE = "(no valid clue)"


def rules_text(num_players: int, clue_rounds: int, decision: str) -> str:
    """The system prompt: the rules of this game variant."""
    voters = (
        "the civilians vote on who the spy is"
        if decision == "civilians"
        else "a judge who sees the civilians' image votes on who the spy is"
    )
    return (
        f'You are playing "Who is the spy?" with {num_players} players, numbered 1 to '
        f"{num_players}. Every player sees an image. All players but one see the same image; "
        "the spy's image differs slightly. The game has "
        f"{clue_rounds} clue round(s): in each, every player in turn gives one short clue "
        "about their image. Civilians want to help find the spy without giving too much away; "
        f"the spy wants to blend in without knowing what differs. After the clues, {voters}."
    )


def role_line(seat: int, role: str, reveal_roles: bool) -> str:
    """Tell a player who they are (and their role when roles are revealed)."""
    if not reveal_roles:
        return f"You are Player {seat}. You do not know whether you are the spy."
    if role == "spy":
        return f"You are Player {seat}. You are the SPY: your image differs from the others'."
    return f"You are Player {seat}. You are NOT the spy."


def clue_log_text(log: Sequence[Sequence[tuple[int, str]]]) -> str:
    """Format the public clue log, one block per round: ``Player k: clue``."""
    if not any(log):
        return CLUE_LOG_EMPTY
    blocks = []
    for index, round_clues in enumerate(log, start=1):
        if not round_clues:
            continue
        lines = "\n".join(f"  Player {seat}: {clue}" for seat, clue in round_clues)
        blocks.append(f"Round {index}:\n{lines}")
    return "\n".join(blocks)


def reasoning_text(notes: Sequence[str]) -> str:
    """Format a player's own earlier reasoning (shown only to that player)."""
    if not notes:
        return ""
    joined = "\n".join(f"- {note}" for note in notes if note)
    return f"Your own earlier thoughts (private):\n{joined}\n" if joined else ""


def clue_instruction(round_index: int, clue_rounds: int) -> str:
    """Ask for a clue."""
    return (
        f"It is your turn in round {round_index} of {clue_rounds}. Think step by step about "
        "your image and the clues so far, then give ONE short clue about your image inside "
        "\\boxed{...}, e.g. \\boxed{there is a small red cube}."
    )


def vote_instruction(num_players: int, judge: bool) -> str:
    """Ask for a vote."""
    who = "Looking at the image and the clues" if judge else "Given your image and all clues"
    return (
        f"{who}, which player is the spy? Think step by step, then answer with the player "
        f"number inside \\boxed{{...}} (1 to {num_players}), or \\boxed{{N/A}} if you cannot tell."
    )

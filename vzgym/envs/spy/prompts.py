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


# -- prompt sets -------------------------------------------------------------------------
#
# A prompt set turns the game state into the system text and the user text of each turn.
# ``vzgym`` is the short set above; ``paper`` carries every instruction of Vision-Zero's
# released prompts (clevr_spotdiff_generator.py), written in our own words (see
# tests/test_spy_prompts.py for the list of instructions it must carry).


def difference_text(num_changes: int | None, edit_kind: str | None) -> str:
    """Say how the spy's picture differs, as far as the game knows it."""
    n = "Some" if not num_changes else ("One" if num_changes == 1 else str(num_changes))
    objects, are, have = ("object", "is", "has") if num_changes == 1 else ("objects", "are", "have")
    if edit_kind == "replace":
        return (
            f"{n} {objects} in the spy's picture {are} swapped for different {objects}; "
            "every object stays where it was in the original picture."
        )
    if edit_kind == "attribute":
        return f"{n} {objects} in the spy's picture {have} a changed colour, size or material."
    if edit_kind == "add":
        return f"The spy's picture has {n.lower()} extra {objects}."
    if edit_kind == "remove":
        return f"{n} {objects} of the original picture {are} missing from the spy's picture."
    if edit_kind == "move":
        return f"{n} {objects} in the spy's picture {are} in a different place."
    return "Some details of the spy's picture differ from the original picture."


class VzgymPrompts:
    """The short vzgym prompt set (rules in the system message, brief instructions)."""

    name = "vzgym"

    def system(self, num_players: int, clue_rounds: int, decision: str, difference: str) -> str:
        """The system message."""
        return rules_text(num_players, clue_rounds, decision)

    def clue(self, seat, role, reveal, round_index, clue_rounds, log, notes, n, difference):
        """The user text of a clue turn."""
        return (
            f"{role_line(seat, role, reveal)}\n\n"
            f"Clues so far:\n{clue_log_text(log)}\n\n"
            f"{reasoning_text(notes)}"
            f"{clue_instruction(round_index, clue_rounds)}"
        )

    def vote(self, seat, role, reveal, log, notes, n, difference):
        """The user text of a player's vote."""
        head = f"{role_line(seat, role, reveal)}\n\n{reasoning_text(notes)}".rstrip()
        return f"{head}\n\nAll clues:\n{clue_log_text(log)}\n\n{vote_instruction(n, False)}"

    def judge(self, log, n, difference):
        """The user text of an observer's (judge's) vote."""
        head = (
            "You are the judge. You see the image the civilians saw. "
            f"Players 1 to {n} gave these clues."
        )
        return f"{head}\n\nAll clues:\n{clue_log_text(log)}\n\n{vote_instruction(n, True)}"


class PaperPrompts:
    """Vision-Zero's instructions, complete, in our words (``prompts="paper"``).

    Everything the released prompts tell a player is here: the one-sentence clue about
    object features or relations, the role and what differs in the spy's picture, the
    penalty for being voted out, the per-role strategies, reasoning before the boxed
    answer, a clue different from the earlier ones, the cheaper N/A vote, and (for the
    observer) what to look for and that its picture is the civilians'.  Answers are
    boxed in every turn so one parser reads both sets (the released player-vote prompt
    asks for think/answer tags instead).
    """

    name = "paper"

    def system(self, num_players: int, clue_rounds: int, decision: str, difference: str) -> str:
        """The system message: the game and its stakes."""
        return (
            f'We are playing "Find the odd one out" with {num_players} players. Each player '
            "gets a picture. All but one of the players get exactly the same picture; the odd "
            "player (the spy) gets a slightly different one. "
            f"{difference} There are {clue_rounds} clue round(s), then a vote. Whoever is "
            "voted as the odd player is punished heavily, so every player tries to make the "
            "others believe they are not the odd one."
        )

    @staticmethod
    def _role(seat: int, role: str, reveal: bool, difference: str) -> str:
        if not reveal:
            return role_line(seat, role, reveal)
        if role == "spy":
            return (
                f"You are Player {seat} and you are the SPY: your picture is the different "
                f"one. {difference}"
            )
        return (
            f"You are Player {seat} and you are NOT the spy: your picture is the one most "
            "other players see."
        )

    def clue(self, seat, role, reveal, round_index, clue_rounds, log, notes, n, difference):
        """The user text of a clue turn."""
        first = not any(log)
        earlier = (
            f"No one has spoken yet: you are Player {seat} and you give the first clue."
            if first
            else f"Clues so far (everyone's clues; only your own reasoning):\n{clue_log_text(log)}"
        )
        return (
            f"{self._role(seat, role, reveal, difference)}\n\n"
            f"This is round {round_index} of {clue_rounds}. Your job: describe your picture in "
            "ONE sentence, and only about what the objects look like or how they relate to "
            "each other.\n\n"
            "How to play:\n"
            "1. Check your picture against every earlier clue to work out what the others see.\n"
            "2. Not the spy? Name a clear, specific detail of your picture that no earlier clue "
            "covered; it helps pin down what the shared picture looks like.\n"
            "3. The spy? Play it smart, since you know your picture is the odd one: describe "
            "things the others probably see too (if you can guess their picture), or describe "
            "your own picture without giving away what differs, or stick to objects that are "
            "likely the same in both pictures.\n\n"
            "Answer format: first reason privately, step by step (suspicions, likelihoods and "
            "bluffing are all allowed). Then write your one-sentence description inside "
            "\\boxed{}; it must not repeat an earlier clue. For example \\boxed{The blue sphere "
            "is behind the small cube} or \\boxed{The largest object is a green cylinder}.\n\n"
            f"{reasoning_text(notes)}{earlier}"
        )

    def vote(self, seat, role, reveal, log, notes, n, difference):
        """The user text of a player's vote."""
        return (
            f"{self._role(seat, role, reveal, difference)}\n\n"
            "The clue stage is over: every player has described their picture. Now vote for "
            "the player you think is the odd one (the spy).\n\n"
            "How to vote:\n"
            "1. Go through all the clues to find the spy.\n"
            "2. Not the spy? Look for clues that contradict your picture or that sound "
            "suspiciously vague or misleading, and vote for that player; a correct vote is "
            "rewarded.\n"
            "3. The spy? Vote for another player to stay hidden; never vote for yourself, "
            "that would give you away.\n\n"
            f"Answer format: reason privately, step by step, then give one player number (1 to "
            f"{n}) or N/A inside \\boxed{{}} and nothing else, e.g. \\boxed{{2}} or "
            "\\boxed{N/A}. If you are not sure who the spy is, answer N/A: it costs less than a "
            "wrong vote.\n\n"
            f"{reasoning_text(notes)}"
            f"All clues (everyone's clues; only your own reasoning):\n{clue_log_text(log)}"
        )

    def judge(self, log, n, difference):
        """The user text of an observer's (judge's) vote."""
        return (
            f'You are watching a game of "Find the odd one out": {n} players have each given '
            "clues about their picture. Find the player with the different picture (the spy).\n\n"
            f"What you know: one player, the spy, has a different picture. {difference} Every "
            "player tried not to look suspicious: the spy tries to blend in with clues that "
            "fit what the others see, the other players try to give clues that expose the "
            "spy.\n\n"
            "Look for: (1) clues that disagree with most of the others; (2) clues that are "
            "vague or generic on purpose; (3) clues that may be meant to mislead; (4) signs "
            "of bluffing or uncertainty.\n\n"
            "Your picture is the ORIGINAL one, the picture the non-spy players see: check "
            "every clue against it.\n\n"
            f"Answer format: reason privately, step by step, then give one player number (1 to "
            f"{n}) or N/A inside \\boxed{{}}, e.g. \\boxed{{3}} or \\boxed{{N/A}}. Answer N/A "
            "if you are not sure.\n\n"
            f"All clues:\n{clue_log_text(log)}"
        )


#: ``prompts=`` choices of the spy games.
PROMPT_SETS = {"vzgym": VzgymPrompts(), "paper": PaperPrompts()}

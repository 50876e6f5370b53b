r"""Parsers for spy-game actions: free reasoning, then an answer in ``\boxed{...}``.

Pure functions that never raise on any ``str``: nested braces, several boxes (the
last complete one wins), ``"Player 3"`` inside a vote box, empty boxes, no box,
100 kB of junk and lone UTF-16 surrogates all give a defined result.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

BOX_COMMANDS = ("\\boxed", "\\fbox")
NA_ANSWERS = frozenset({"n/a", "na", "n.a", "none", "no one", "nobody", "unknown", "not sure"})
_PLAYER_RE = re.compile(r"^(?:player|p|seat|#)?\s*#?\s*(\d{1,4})\.?$", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")
_LATEX_COMMAND_RE = re.compile(r"\\[A-Za-z]+\s*(?=\{)")


def clean_text(text: str) -> str:
    """Return ``text`` as valid UTF-8 text: lone surrogates become U+FFFD, controls spaces."""
    if not isinstance(text, str):
        text = str(text)
    # Join surrogate pairs into real characters; each lone surrogate becomes one U+FFFD.
    text = text.encode("utf-16", errors="surrogatepass").decode("utf-16", errors="replace")
    return "".join(
        " " if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") else ch for ch in text
    )


def _matching_braces(text: str) -> dict[int, int]:
    """Map the index of every ``{`` that is closed to the index of its ``}`` (one pass)."""
    match: dict[int, int] = {}
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            match[stack.pop()] = i
    return match


def find_boxes(text: str) -> list[tuple[int, int, str]]:
    r"""Return every complete ``\boxed{...}`` as ``(start, end, content)``, in order.

    Braces inside the box may nest.  An unclosed box is ignored, but complete
    boxes after (or inside) it still count: in ``"\boxed{3 ... no: \boxed{2}"``
    the answer is ``2``.  Boxes nested inside a complete box are part of its
    content.  Runs in linear time over ``text`` (one brace-matching pass, no
    backtracking regex).
    """
    if "{" not in text:
        return []
    match = _matching_braces(text)
    found: list[tuple[int, int, str]] = []
    for command in BOX_COMMANDS:
        pos = 0
        while True:
            start = text.find(command, pos)
            if start < 0:
                break
            i = start + len(command)
            while i < len(text) and text[i] in " \t":
                i += 1
            pos = start + len(command)
            if i >= len(text) or text[i] != "{" or i not in match:
                continue  # no brace, or an unclosed box: look further on
            j = match[i]
            found.append((start, j + 1, text[i + 1 : j]))
            pos = j + 1
    found.sort()
    return found


def last_box(text: str) -> str | None:
    r"""Return the content of the last complete ``\boxed{...}``, or None."""
    boxes = find_boxes(text)
    return boxes[-1][2] if boxes else None


def _strip_latex(content: str) -> str:
    # \text{..}, \textbf{..}, \mathrm{..} ...: drop the command, keep the argument
    content = _LATEX_COMMAND_RE.sub(" ", content)
    content = content.replace("\\", " ").replace("{", " ").replace("}", " ")
    return _WS_RE.sub(" ", content).strip().strip("\"'`").strip()


@dataclass(frozen=True)
class ParsedClue:
    """A parsed clue action.

    Attributes:
        clue: the clue text (cleaned, capped), or None when the action has no valid clue.
        reasoning: the text outside the final box (the player's private thoughts).
        error: why the clue is invalid (``"no_box"``, ``"empty_box"``), else None.
    """

    clue: str | None
    reasoning: str
    error: str | None = None

    @property
    def valid(self) -> bool:
        """Whether a clue was found."""
        return self.clue is not None


def parse_clue(text: str, *, max_chars: int = 300) -> ParsedClue:
    r"""Parse a clue action: reasoning, then the clue in the last ``\boxed{...}``.

    The clue is cleaned (valid UTF-8, whitespace folded) and cut to ``max_chars``.
    """
    text = clean_text(text)
    boxes = find_boxes(text)
    if not boxes:
        return ParsedClue(None, text.strip()[: 4 * max_chars], "no_box")
    start, end, content = boxes[-1]
    reasoning = (text[:start] + text[end:]).strip()
    clue = _WS_RE.sub(" ", _strip_latex(content))[:max_chars].strip()
    if not clue:
        return ParsedClue(None, reasoning, "empty_box")
    return ParsedClue(clue, reasoning)


@dataclass(frozen=True)
class ParsedVote:
    """A parsed decision action.

    Attributes:
        target: the seat voted for (1-based), or None.
        na: True when the voter answered N/A (abstained).
        error: why the vote is invalid (``"no_box"``, ``"empty_box"``, ``"not_a_player"``,
            ``"out_of_range"``), else None.
        reasoning_chars: characters of reasoning before the final box (stripped).
    """

    target: int | None
    na: bool = False
    error: str | None = None
    reasoning_chars: int = 0

    @property
    def valid(self) -> bool:
        """Whether the vote is well-formed (a seat in range, or N/A)."""
        return self.error is None


def parse_vote(text: str, num_players: int) -> ParsedVote:
    r"""Parse a vote: ``\boxed{k}``, ``\boxed{Player k}`` or ``\boxed{N/A}``.

    ``k`` must lie in ``1..num_players``; anything else is invalid.
    """
    cleaned = clean_text(text)
    content = last_box(cleaned)
    if content is None:
        return ParsedVote(None, error="no_box")
    box = cleaned.rfind("\\boxed")
    chars = len(cleaned[: max(box, 0)].strip())
    answer = _strip_latex(content)
    if not answer:
        return ParsedVote(None, error="empty_box", reasoning_chars=chars)
    if answer.lower().rstrip(".") in NA_ANSWERS:
        return ParsedVote(None, na=True, reasoning_chars=chars)
    match = _PLAYER_RE.match(answer)
    if not match:
        return ParsedVote(None, error="not_a_player", reasoning_chars=chars)
    seat = int(match.group(1))
    if not 1 <= seat <= num_players:
        return ParsedVote(None, error="out_of_range", reasoning_chars=chars)
    return ParsedVote(seat, reasoning_chars=chars)

r"""Scripted spy-edits players that only look at their own image and the public clues.

There is no scene graph for a photo, so a bot *describes what it sees*: it cuts
its image (from :meth:`Observation.images`) into a 4×4 grid and names the colours
of a cell — ``\boxed{top centre-left: mostly blue, some white}`` — using
:func:`describe_cells`.  It never reads ``Observation.private``.

* A civilian describes a cell nobody has described yet (most and second-most
  common colour).
* A spy (its role is shown when ``reveal_roles``) first checks the others' clues
  against its own image: a cell where they disagree with it is probably where
  the images differ, so it avoids those and their neighbours, then describes a
  fresh cell as a civilian would — or, with probability ``spy_caution``, names
  only the main colour of the most uniform cell left (the safest thing to say).
* A voter (civilian or judge) checks every other player's clues against its own
  image — a wrong main colour, a "some" colour that is missing, a colour word
  that appears nowhere, or no valid clue, each count once — and votes for the
  single most suspicious player, or ``N/A`` when nobody or several tie.

Choices are deterministic per observation and ``seed``.
"""

from __future__ import annotations

import re
import zlib

import cv2
import numpy as np
from vzgym.core.observation import Observation
from vzgym.envs.spy.bots import SpyBot
from vzgym.envs.spy.prompts import NO_VALID_CLUE

ROWS = ("top", "upper middle", "lower middle", "bottom")
COLS = ("left", "centre-left", "centre-right", "right")
COLOURS = (
    "black", "white", "gray", "red", "orange", "brown", "yellow",
    "green", "cyan", "blue", "purple", "pink",
)  # fmt: skip
#: A "some X" colour must cover at least this share of the cell (when stated / when true).
SOME_SAYS, SOME_HOLDS = 0.12, 0.03
#: "mostly X" holds when X's share is within this of the cell's top share.
MOSTLY_SLACK = 0.08
#: A colour word is a lie when the colour covers less than this share of the whole image.
ANYWHERE = 0.005
CLUE_RE = re.compile(
    rf"({'|'.join(ROWS)}) ({'|'.join(COLS)}): mostly ([a-z]+)(?:, some ([a-z]+))?", re.I
)
VAGUE_CLUES = ("the picture has several colours", "it looks like a photo", "there is some light")


def colour_names(image: np.ndarray) -> np.ndarray:
    """Index into :data:`COLOURS` of every pixel of an RGB ``uint8`` image (by HSV rules)."""
    hsv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2HSV).astype(np.int32)
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    hue = np.select(
        [h < 8, h < 20, h < 34, h < 80, h < 100, h < 130, h < 150, h < 170],
        [3, 4, 6, 7, 8, 9, 10, 11],
        default=3,
    )
    hue = np.where((hue == 4) & (v < 150), 5, hue)  # dark orange reads as brown
    hue = np.where((hue == 3) & (v < 110) & (s < 170), 5, hue)
    grey = np.where(v > 200, 1, 2)
    return np.where(v < 45, 0, np.where(s < 45, grey, hue))


def describe_cells(image: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """Per grid cell (row, col): the share of each colour of :data:`COLOURS`."""
    names = colour_names(image)
    height, width = names.shape
    out = {}
    for r in range(len(ROWS)):
        for c in range(len(COLS)):
            cell = names[
                r * height // len(ROWS) : (r + 1) * height // len(ROWS),
                c * width // len(COLS) : (c + 1) * width // len(COLS),
            ]
            counts = np.bincount(cell.ravel(), minlength=len(COLOURS)).astype(float)
            out[(r, c)] = counts / max(1.0, counts.sum())
    return out


def cell_clue(cell: tuple[int, int], shares: np.ndarray, with_some: bool = True) -> str:
    """The clue text for one cell: its main colour and, if large enough, its second."""
    order = np.argsort(-shares, kind="stable")
    text = f"{ROWS[cell[0]]} {COLS[cell[1]]}: mostly {COLOURS[order[0]]}"
    if with_some and shares[order[1]] >= SOME_SAYS:
        text += f", some {COLOURS[order[1]]}"
    return text


def clue_lies(clue: str, cells: dict[tuple[int, int], np.ndarray], whole: np.ndarray) -> int:
    """How many claims of ``clue`` are false in the image summarised by ``cells``/``whole``."""
    if clue == NO_VALID_CLUE:
        return 1
    lies = 0
    match = CLUE_RE.search(clue)
    if match:
        row, col, main, some = (g.lower() if g else None for g in match.groups())
        shares = cells[(ROWS.index(row), COLS.index(col))]
        if main not in COLOURS or shares[COLOURS.index(main)] < shares.max() - MOSTLY_SLACK:
            lies += 1
        if some is not None and (some not in COLOURS or shares[COLOURS.index(some)] < SOME_HOLDS):
            lies += 1
        return lies
    words = set(re.findall(r"[a-z]+", clue.lower()))
    return sum(1 for i, name in enumerate(COLOURS) if name in words and whole[i] < ANYWHERE)


def _own_image(obs: Observation) -> np.ndarray | None:
    images = obs.images()
    return np.asarray(images[-1].convert("RGB")) if images else None


class EditsSpyBot(SpyBot):
    """Rule-based spy-edits player: describes its image, votes by checking clues against it."""

    name = "spy-edits-bot"

    def __init__(self, seed: int = 0, spy_caution: float = 0.0):
        if not 0.0 <= float(spy_caution) <= 1.0:
            raise ValueError(f"spy_caution must be in [0, 1], got {spy_caution!r}")
        super().__init__(seed)
        self.spy_caution = float(spy_caution)

    def _rng(self, obs: Observation) -> np.random.Generator:
        # keyed on what the seat sees only: these bots never read ``private``
        key = zlib.crc32(f"{obs.agent}|{obs.phase}|{obs.round}|{obs.text()}".encode())
        return np.random.default_rng([self.seed, key])

    def _others(self, obs: Observation) -> list[tuple[int, str]]:
        me = obs.extra.get("seat", 0)
        return [(s, c) for rnd in obs.extra.get("clue_log", []) for s, c in rnd if s != me]

    def clue(self, obs: Observation) -> str:
        """A clue about a grid cell of the bot's own image."""
        image = _own_image(obs)
        rng = self._rng(obs)
        if image is None or int(image.max()) - int(image.min()) < 10:
            return f"My image shows little.\n\\boxed{{{VAGUE_CLUES[int(rng.integers(3))]}}}"
        cells = describe_cells(image)
        said = {
            (ROWS.index(m.group(1).lower()), COLS.index(m.group(2).lower()))
            for rnd in obs.extra.get("clue_log", [])
            for _, c in rnd
            if (m := CLUE_RE.search(c))
        }
        if obs.role == "spy":
            return self._spy_clue(obs, cells, said, rng)
        fresh = [cell for cell in cells if cell not in said] or list(cells)
        cell = fresh[int(rng.integers(len(fresh)))]
        return f"I describe part of my image.\n\\boxed{{{cell_clue(cell, cells[cell])}}}"

    def _spy_clue(self, obs, cells, said, rng) -> str:
        whole = np.mean(list(cells.values()), axis=0)
        risky: set[tuple[int, int]] = set()
        for _, clue in self._others(obs):
            match = CLUE_RE.search(clue)
            if match and clue_lies(clue, cells, whole):
                r, c = ROWS.index(match.group(1).lower()), COLS.index(match.group(2).lower())
                risky |= {(r + dr, c + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
        safe = [cell for cell in cells if cell not in risky and cell not in said]
        safe = safe or [cell for cell in cells if cell not in risky] or list(cells)
        if rng.random() < self.spy_caution:
            cell = max(safe, key=lambda k: (float(cells[k].max()), -k[0], -k[1]))
            reason = "I am the spy: I name only the plainest colour, away from disputed parts."
            return f"{reason}\n\\boxed{{{cell_clue(cell, cells[cell], with_some=False)}}}"
        cell = safe[int(rng.integers(len(safe)))]
        reason = "I am the spy: I describe a part of my image nobody disputed."
        return f"{reason}\n\\boxed{{{cell_clue(cell, cells[cell])}}}"

    def vote(self, obs: Observation) -> str:
        """Vote for the one player whose clues are most often false in the bot's image."""
        image = _own_image(obs)
        if image is None:
            return "I have no image to compare with.\n\\boxed{N/A}"
        cells = describe_cells(image)
        whole = np.mean(list(cells.values()), axis=0)
        suspicion: dict[int, int] = {}
        for seat, clue in self._others(obs):
            suspicion[seat] = suspicion.get(seat, 0) + clue_lies(clue, cells, whole)
        if not suspicion:
            return "Nobody has spoken.\n\\boxed{N/A}"
        top = max(suspicion.values())
        leaders = [s for s, v in suspicion.items() if v == top]
        if top == 0 or len(leaders) > 1:
            return "No single player said something false about my image.\n\\boxed{N/A}"
        return f"Player {leaders[0]}'s clues do not match my image.\n\\boxed{{{leaders[0]}}}"

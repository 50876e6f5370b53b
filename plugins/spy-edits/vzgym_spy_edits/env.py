"""``spy-edits``: Who-Is-the-Spy over any folder of photos, the spy's copy edited locally.

Vision-Zero's real-world setting without an editing model: each episode draws
one image from ``folder`` (seeded), and the spy's copy gets ``num_edits`` seeded
local edits (:mod:`vzgym_spy_edits.edits`).  The change log (``infos[agent]
["game"]["changes"]``) holds each edit's kind and box.  Everything else — seats,
clue and decision stages, rewards, RAE and Iterative-SPO — is :class:`SpyEnv`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from vzgym.core.facts import PlotPanel, Stat
from vzgym.envs.spy.game import SPY_FACTS, PairSample, SpyEnv

from vzgym_spy_edits.edits import EDIT_KINDS, edit_image
from vzgym_spy_edits.folder import ImageFolder

#: SpyEnv's facts (two stages, RAE on clues, Iterative-SPO switch) plus this game's own.
EDITS_FACTS = dataclasses.replace(
    SPY_FACTS,
    stats=SPY_FACTS.stats
    + tuple(
        Stat(f"vote_accuracy_{k}", "rate", f"vote accuracy in games with a {k} edit", True)
        for k in EDIT_KINDS
    )
    + (
        Stat("edit_area", "mean", "share of the image's pixels the edits changed", None),
        Stat("skipped_images", "sum", "corrupt image files passed over to draw a game", False),
    ),
    plots=SPY_FACTS.plots
    + (
        PlotPanel(
            "spy_edits_kinds.png",
            "Vote accuracy per edit kind",
            tuple(f"game/vote_accuracy_{k}" for k in EDIT_KINDS),
        ),
        PlotPanel(
            "spy_edits_data.png",
            "Edited area and skipped images",
            ("game/edit_area", "game/skipped_images"),
        ),
    ),
)


def _kinds(value: str | Sequence[str]) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",")) if isinstance(value, str) else tuple(value)
    if not kinds or any(k not in EDIT_KINDS for k in kinds):
        raise ValueError(f"edit_kinds must be a non-empty subset of {EDIT_KINDS}, got {value!r}")
    return kinds


class SpyEditsEnv(SpyEnv):
    """Who-Is-the-Spy where the spy's image is a seeded local edit of a photo.

    Args:
        folder: a folder of images (png, jpg, jpeg, webp, bmp; searched recursively).
            Corrupt files are skipped and counted (``skipped_images`` in the game
            info, ``bad_files`` on the env); a missing folder or one without a
            readable image is a ``ValueError``.
        edit_kinds: which edits to draw from: a subset of ``recolor``, ``inpaint``,
            ``mirror``, ``shift``, ``shape`` (a list or a comma-separated string).
        num_edits: edits per pair (each on its own box when there is room).
        min_region, max_region: an edit box's side as a share of the image's shorter
            side (``0 < min_region <= max_region <= 1``).
        resize: shrink images so the longer side is at most this many pixels
            (``0``/``None``: keep the size).
        **game: the rules' options, see :class:`vzgym.envs.spy.game.SpyEnv`.
    """

    metadata = {"render_modes": ["ansi"], "name": "spy-edits"}
    facts = EDITS_FACTS

    def __init__(
        self,
        *,
        folder: str | Path | None = None,
        edit_kinds: str | Sequence[str] = EDIT_KINDS,
        num_edits: int = 2,
        min_region: float = 0.15,
        max_region: float = 0.35,
        resize: int | None = 480,
        **game: Any,
    ):
        super().__init__(**game)
        if folder is None or str(folder).strip() == "":
            raise ValueError("spy-edits needs folder=DIR (a folder of images)")
        self.edit_kinds = _kinds(edit_kinds)
        if not isinstance(num_edits, int) or isinstance(num_edits, bool) or num_edits < 1:
            raise ValueError(f"num_edits must be an int >= 1, got {num_edits!r}")
        if not (0 < float(min_region) <= float(max_region) <= 1):
            raise ValueError(
                f"need 0 < min_region <= max_region <= 1, got {min_region!r}, {max_region!r}"
            )
        if resize is not None and (not isinstance(resize, int) or resize < 0):
            raise ValueError(f"resize must be a pixel count >= 0 (0: keep), got {resize!r}")
        self.num_edits = num_edits
        self.min_region, self.max_region = float(min_region), float(max_region)
        self.resize = resize or None
        self.images = ImageFolder(str(folder), self.resize)  # "-o folder=2024" is an int
        self._draw_skipped = 0

    @property
    def bad_files(self) -> dict[str, str]:
        """Corrupt files found so far: relative path → why."""
        return {self.images.name(i): why for i, why in sorted(self.images.bad.items())}

    def sample_pair(self) -> PairSample:
        """Draw a photo and edit a copy of it, using ``self.np_random`` only."""
        index, pixels, skipped = self.images.draw(self.np_random)
        self._draw_skipped = skipped
        edited, changes = edit_image(
            self.np_random,
            pixels,
            kinds=self.edit_kinds,
            num_edits=self.num_edits,
            min_region=self.min_region,
            max_region=self.max_region,
        )
        return PairSample(
            Image.fromarray(pixels),
            Image.fromarray(edited),
            changes,
            source=self.images.name(index),
        )

    def _reset(self, options: dict[str, Any]):
        self._draw_skipped = 0  # a supplied pair draws nothing
        return super()._reset(options)

    def _score(self) -> dict[str, Any]:
        summary = super()._score()
        game = summary["game"]
        changes = self._pair.changes
        for kind in sorted({c.get("kind") for c in changes if c.get("kind") in EDIT_KINDS}):
            game[f"vote_accuracy_{kind}"] = game["vote_accuracy"]
        width, height = self._pair.original.size
        changed = sum(int(c.get("changed_pixels", 0)) for c in changes)
        game["edit_area"] = min(1.0, changed / max(1, width * height))
        game["skipped_images"] = self._draw_skipped
        return summary

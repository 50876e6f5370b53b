"""``spy-pairs``: the spy game over image pairs read from a folder.

Two layouts are recognised (they may be mixed):

* flat, as in the Vision-Zero dataset: ``<base>_original.<ext>`` next to
  ``<base>_modified.<ext>``;
* one sub-folder per pair, holding ``original.<ext>`` and ``modified.<ext>``
  (or ``*_original`` / ``*_modified``), or exactly two images: when one of them is
  tagged (``modified.png`` + ``source.png``) the tag decides, else name order.

Extensions: png, jpg, jpeg, webp, bmp.  An optional ``<base>.json`` (flat) or
``changes.json`` (sub-folder) with a list of changes becomes the change log.
Pairs with a missing partner are skipped when the folder is indexed; corrupt
images are skipped when first drawn.  Both are counted (``skipped``) and warned
about; a folder with no usable pair is a :class:`ValueError`.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from vzgym.envs.spy.game import PairSample, SpyEnv

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


class PairFolderWarning(UserWarning):
    """A pair in the folder was skipped (missing partner or corrupt image)."""


@dataclass
class PairEntry:
    """One pair found on disk."""

    name: str
    original: Path
    modified: Path
    changes_file: Path | None = None


@dataclass
class PairIndex:
    """The pairs of a folder and what was skipped while indexing it."""

    pairs: list[PairEntry]
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def index_pair_folder(folder: str | Path) -> PairIndex:
    """Find all pairs in ``folder`` (both layouts); raise ``ValueError`` if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"spy-pairs: {str(root)!r} is not a folder")
    pairs: list[PairEntry] = []
    reasons: list[str] = []
    flat: dict[str, dict[str, Path]] = {}
    for path in _images(root):
        stem = path.stem
        for tag in ("original", "modified"):
            if stem.endswith("_" + tag):
                flat.setdefault(stem[: -len(tag) - 1], {})[tag] = path
    for base in sorted(flat):
        parts = flat[base]
        if set(parts) != {"original", "modified"}:
            missing = ({"original", "modified"} - set(parts)).pop()
            reasons.append(f"{base}: no {missing} image")
            continue
        sidecar = root / f"{base}.json"
        pairs.append(
            PairEntry(
                base, parts["original"], parts["modified"], sidecar if sidecar.is_file() else None
            )
        )
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        images = _images(sub)
        by_tag = {
            tag: p
            for p in images
            for tag in ("original", "modified")
            if p.stem == tag or p.stem.endswith("_" + tag)
        }
        if set(by_tag) == {"original", "modified"}:
            orig, mod = by_tag["original"], by_tag["modified"]
        elif len(images) == 2 and len(by_tag) == 1:  # one tagged image: the other is its partner
            (tag, tagged), = by_tag.items()
            other = images[1] if images[0] == tagged else images[0]
            orig, mod = (tagged, other) if tag == "original" else (other, tagged)
        elif len(images) == 2:
            orig, mod = images
        else:
            reasons.append(
                f"{sub.name}/: expected an original and a modified image, found {len(images)}"
            )
            continue
        sidecar = sub / "changes.json"
        pairs.append(PairEntry(sub.name, orig, mod, sidecar if sidecar.is_file() else None))
    for reason in reasons:
        warnings.warn(f"spy-pairs: skipped {reason}", PairFolderWarning, stacklevel=2)
    if not pairs:
        detail = f" ({len(reasons)} incomplete)" if reasons else ""
        raise ValueError(
            f"spy-pairs: no image pairs in {str(root)!r}{detail}; expected <base>_original.png + "
            "<base>_modified.png files or one sub-folder per pair"
        )
    return PairIndex(pairs, len(reasons), reasons)


def load_pair(entry: PairEntry) -> PairSample:
    """Read one pair from disk; raises ``ValueError`` for a corrupt or unreadable image."""
    images = []
    for path in (entry.original, entry.modified):
        try:
            with Image.open(path) as img:
                img.load()
                images.append(img.convert("RGB"))
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            raise ValueError(f"{path}: {type(exc).__name__}: {exc}") from exc
    changes: list[dict[str, Any]] = []
    if entry.changes_file is not None:
        try:
            loaded = json.loads(entry.changes_file.read_text(encoding="utf-8"))
            changes = loaded if isinstance(loaded, list) else [loaded]
        except (OSError, ValueError):
            changes = [{"error": f"unreadable change log {entry.changes_file.name}"}]
    return PairSample(images[0], images[1], changes, source=entry.name)


class SpyPairsEnv(SpyEnv):
    """Who-Is-the-Spy over image pairs from ``folder`` (see the module docstring).

    Each episode draws a pair with ``self.np_random``.  ``skipped`` counts pairs
    left out (incomplete at indexing, corrupt when drawn).
    """

    metadata = {"render_modes": ["ansi"], "name": "spy-pairs"}

    def __init__(self, folder: str | Path | None = None, **game: Any):
        super().__init__(**game)
        if folder is None:
            raise ValueError("spy-pairs needs folder=PATH (a folder of image pairs)")
        folder = str(folder)  # "-o folder=2024" arrives as an int
        index = index_pair_folder(folder)
        self.folder = Path(folder)
        self._entries = index.pairs
        self._bad: set[int] = set()
        self.skipped = index.skipped

    def sample_pair(self) -> PairSample:
        """Draw a readable pair; a corrupt one is skipped (counted, warned) for the next one.

        One draw over *all* pairs, then the first readable pair from there on
        (wrapping around), so a seed's pair does not depend on which corrupt
        pairs earlier episodes happened to find.
        """
        n = len(self._entries)
        start = int(self.np_random.integers(n))
        for step in range(n):
            index = (start + step) % n
            if index in self._bad:
                continue
            try:
                return load_pair(self._entries[index])
            except ValueError as exc:
                self._bad.add(index)
                self.skipped += 1
                warnings.warn(
                    f"spy-pairs: skipped corrupt pair: {exc}", PairFolderWarning, stacklevel=2
                )
        raise ValueError(f"spy-pairs: every pair in {str(self.folder)!r} is corrupt or unreadable")

"""Original / spy image pairs: :func:`make_pair` and :class:`ImagePair`."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from vzgym.envs.clevr.edits import EDIT_KINDS, MAX_OBJECTS, edit_scene
from vzgym.envs.clevr.render import render_scene
from vzgym.envs.clevr.scene import Scene, sample_scene

#: zlib level used by :func:`png_bytes` (fixed, so encoding is deterministic).
PNG_COMPRESS_LEVEL = 1
#: Scenes drawn at most for one pair when a scene leaves no room for the edit.
MAX_SCENE_DRAWS = 20


def png_bytes(image: Image.Image, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode ``image`` as PNG deterministically (fixed level, no metadata/timestamps)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=compress_level, optimize=False)
    return buf.getvalue()


@dataclass
class ImagePair:
    """A rendered original scene and its edited (spy) version.

    Attributes:
        original: the civilians' scene.
        modified: the spy's scene (an edited copy of ``original``).
        changes: the change log of :func:`~vzgym.envs.clevr.edits.edit_scene`.
        original_image: ``render_scene(original)``.
        modified_image: ``render_scene(modified)``.
    """

    original: Scene
    modified: Scene
    changes: list[dict[str, Any]]
    original_image: Image.Image
    modified_image: Image.Image
    _png: tuple[bytes, bytes] | None = field(default=None, init=False, repr=False,
                                             compare=False)

    def png_bytes(self) -> tuple[bytes, bytes]:
        """Return ``(original_png, modified_png)``, deterministic bytes (cached)."""
        if self._png is None:
            self._png = (png_bytes(self.original_image), png_bytes(self.modified_image))
        return self._png

    def changed_ids(self) -> list[int]:
        """Return the ids of the objects named in the change log."""
        return [c["id"] for c in self.changes]


def make_pair(
    rng: np.random.Generator,
    *,
    num_objects: tuple[int, int] | int = (3, 10),
    num_changes: int = 2,
    edit_kind: str = "replace",
    width: int = 480,
    height: int = 320,
    zoom: float = 1.0,
) -> ImagePair:
    """Sample a scene, edit it and render both versions.

    All randomness comes from ``rng``: the same seed gives the same scenes and
    byte-identical PNGs.

    The lower bound of ``num_objects`` is raised so that the edit is always
    possible: to ``num_changes`` for ``replace``/``attribute``/``move`` and to
    ``num_changes + 1`` for ``remove`` (one object must remain).  If the upper bound
    is below that, or the edit is otherwise impossible (unknown kind, too many
    objects after ``add`` ...), :class:`ValueError` is raised.  For ``add`` the upper
    bound is lowered to ``MAX_OBJECTS - num_changes``.  A scene that leaves no room
    for the edit (no free position, no replacement that keeps others visible) is
    redrawn from the same RNG, up to :data:`MAX_SCENE_DRAWS` times.  ``zoom``: see
    :func:`~vzgym.envs.clevr.scene.sample_scene`.
    """
    if isinstance(num_objects, (int, np.integer)):
        lo = hi = int(num_objects)
    else:
        lo, hi = (int(v) for v in num_objects)
    need = num_changes + 1 if edit_kind == "remove" else (
        num_changes if edit_kind in ("replace", "attribute", "move") else 1)
    if isinstance(num_changes, int) and need > lo:
        if need > hi:
            raise ValueError(f"a {edit_kind!r} edit of {num_changes} objects needs scenes of "
                             f">= {need} objects, but num_objects={num_objects!r}")
        lo = need
    if edit_kind == "add" and isinstance(num_changes, int):
        hi = min(hi, MAX_OBJECTS - num_changes)  # room for the added objects
        if hi < lo:
            raise ValueError(
                f"an 'add' edit of {num_changes} objects needs scenes of at most "
                f"{MAX_OBJECTS - num_changes} objects, but num_objects={num_objects!r}"
            )
    for attempt in range(MAX_SCENE_DRAWS):
        scene = sample_scene(rng, num_objects=(lo, hi), width=width, height=height, zoom=zoom)
        try:
            modified, changes = edit_scene(scene, rng, kind=edit_kind, num_changes=num_changes)
            break
        except ValueError:
            # a crowded scene with no room for this edit: draw another (same RNG stream)
            if attempt == MAX_SCENE_DRAWS - 1 or edit_kind not in EDIT_KINDS:
                raise
    return ImagePair(
        original=scene,
        modified=modified,
        changes=changes,
        original_image=render_scene(scene),
        modified_image=render_scene(modified),
    )

"""``spy-clevr``: the spy game over procedural CLEVR-like image pairs."""

from __future__ import annotations

from typing import Any

from vzgym.envs.clevr import EDIT_KINDS, make_pair, object_bbox
from vzgym.envs.clevr.scene import check_zoom
from vzgym.envs.spy import prompts
from vzgym.envs.spy.game import PairSample, SpyEnv


class SpyClevrEnv(SpyEnv):
    """Who-Is-the-Spy where each episode draws a fresh CLEVR-like scene and its edit.

    Args:
        num_objects: objects per scene, an int or an inclusive ``(low, high)`` range.
        num_changes: how many objects the spy's image edits.
        edit_kind: one of ``replace`` (new shape and colour, same place; the default),
            ``attribute``, ``add``, ``remove``, ``move``.
        width, height: image size in pixels.
        zoom: ``>= 1`` (up to 8): the camera shows objects ``zoom`` times larger, placed
            on a ground area ``zoom`` times smaller; for scenes of few objects.
        **game: the rules' options, see :class:`vzgym.envs.spy.game.SpyEnv`.
    """

    metadata = {"render_modes": ["ansi"], "name": "spy-clevr"}

    def __init__(
        self,
        *,
        num_objects: int | tuple[int, int] = (3, 10),
        num_changes: int = 2,
        edit_kind: str = "replace",
        width: int = 480,
        height: int = 320,
        zoom: float = 1.0,
        **game: Any,
    ):
        super().__init__(**game)
        if edit_kind not in EDIT_KINDS:
            raise ValueError(f"edit_kind must be one of {EDIT_KINDS}, got {edit_kind!r}")
        if isinstance(num_objects, list):
            num_objects = tuple(num_objects)
        self.num_objects = num_objects
        self.num_changes = num_changes
        self.edit_kind = edit_kind
        self.width, self.height = width, height
        self.zoom = check_zoom(zoom)

    def difference_note(self) -> str:
        """Tell the players what the edit does (kind and number of objects)."""
        return prompts.difference_text(self.num_changes, self.edit_kind)

    def facts_of_scene(self, scene: Any) -> set[str] | None:
        """The facts :func:`vzgym.envs.clevr.scene_facts` states about ``scene``."""
        from vzgym.envs.clevr import scene_facts

        return set(scene_facts(scene)) if scene is not None else None

    def sample_pair(self) -> PairSample:
        """Generate a scene and its edited copy from ``self.np_random``."""
        pair = make_pair(
            self.np_random,
            num_objects=self.num_objects,
            num_changes=self.num_changes,
            edit_kind=self.edit_kind,
            width=self.width,
            height=self.height,
            zoom=self.zoom,
        )
        return PairSample(
            original=pair.original_image,
            modified=pair.modified_image,
            changes=[_with_boxes(c, pair.original, pair.modified) for c in pair.changes],
            original_scene=pair.original,
            modified_scene=pair.modified,
            source="clevr",
        )


def _with_boxes(change: dict[str, Any], original: Any, modified: Any) -> dict[str, Any]:
    """A change-log entry plus the object's pixel box in each image (``None`` where absent).

    ``box_before`` is in the civilians' image, ``box_after`` in the spy's edited
    image, both ``[x0, y0, x1, y1]`` (``vzgym view`` draws them).
    """
    obj = change["id"]
    before = list(object_bbox(original, obj)) if change.get("before") is not None else None
    after = list(object_bbox(modified, obj)) if change.get("after") is not None else None
    return {**change, "box_before": before, "box_after": after}

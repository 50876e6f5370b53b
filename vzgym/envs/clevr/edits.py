"""Scene edits for the spy's image, with a change log.

Edit kinds (:data:`EDIT_KINDS`):

``replace`` (default)
    ``num_changes`` objects get a new shape *and* a new colour (both differ from the
    old ones); position, size, material and rotation stay.  Up to 8 draws are tried
    per object so that the new (possibly taller) shape keeps every object mostly
    visible; an object with no such draw stays as it was and another is tried.
``attribute``
    ``num_changes`` objects each change exactly one attribute (``color``, ``shape``,
    ``material`` or ``size``, drawn at random; a size change that would collide or
    leave the view is skipped in favour of another attribute).
``add``
    ``num_changes`` new random objects are placed (not overlapping, in view, mostly
    unoccluded, not hiding others); they get fresh ids ``max(id) + 1, ...``.
``remove``
    ``num_changes`` objects are deleted.  At least one object must remain, so asking
    to remove ``>= len(objects)`` objects raises :class:`ValueError`.
``move``
    ``num_changes`` objects are moved at least :data:`MIN_MOVE_DISTANCE` world units
    to a free, visible position.

Every request that cannot be met (unknown kind, ``num_changes < 1``, more objects
than the scene has, no room to add/move, more than :data:`MAX_OBJECTS` objects)
raises :class:`ValueError`; the input scene is never mutated.

The change log is a list (sorted by id) of ``{"id", "kind", "before", "after"}``
dicts where ``before``/``after`` are :meth:`SceneObject.attrs` dicts, ``None`` for
the missing side of ``add``/``remove``; ``attribute`` entries also carry
``"attribute"``: the name of the changed attribute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from vzgym.envs.clevr.scene import (
    COLORS,
    MATERIALS,
    MAX_PLACE_TRIES,
    SHAPES,
    SIZES,
    Scene,
    SceneObject,
    placement_ok,
    random_object,
    random_position,
)

EDIT_KINDS: tuple[str, ...] = ("replace", "attribute", "add", "remove", "move")
#: Minimum displacement (world units) of a moved object.
MIN_MOVE_DISTANCE = 1.2
#: Most objects a scene may hold after an ``add`` edit.
MAX_OBJECTS = 16
#: Attributes an ``attribute`` edit may change.
EDIT_ATTRIBUTES: tuple[str, ...] = ("color", "shape", "material", "size")
_ATTR_VALUES: dict[str, tuple[str, ...]] = {
    "color": tuple(COLORS),
    "shape": SHAPES,
    "material": MATERIALS,
    "size": SIZES,
}


def _pick_other(rng: np.random.Generator, values: tuple[str, ...], old: str) -> str:
    choices = [v for v in values if v != old]
    return choices[int(rng.integers(len(choices)))]


def _entry(kind: str, obj_id: int, before: SceneObject | None, after: SceneObject | None,
           **extra: Any) -> dict[str, Any]:
    return {
        "id": obj_id,
        "kind": kind,
        "before": before.attrs() if before is not None else None,
        "after": after.attrs() if after is not None else None,
        **extra,
    }


def _change_some(
    new: Scene,
    rng: np.random.Generator,
    k: int,
    change: Callable[[SceneObject, SceneObject], dict[str, Any] | None],
    verb: str,
    why: str = "",
) -> list[dict[str, Any]]:
    """Try ``change(obj, before)`` on the objects in a random order until ``k`` succeed.

    ``change`` edits ``obj`` in place and returns its log entry, or restores it and
    returns None when no acceptable edit was found; fewer than ``k`` successes raise.
    """
    log: list[dict[str, Any]] = []
    for idx in rng.permutation(len(new.objects)).tolist():
        if len(log) == k:
            break
        o = new.objects[idx]
        entry = change(o, SceneObject(**vars(o)))
        if entry is not None:
            log.append(entry)
    if len(log) < k:
        raise ValueError(f"could only {verb} {len(log)} of {k} objects{why}")
    return log


def _replace(new: Scene, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    def change(o: SceneObject, before: SceneObject) -> dict[str, Any] | None:
        for _try in range(8):
            # a taller shape may hide the objects behind it: only a draw that keeps
            # every object mostly visible is kept, else the object stays as it was
            o.shape = _pick_other(rng, SHAPES, before.shape)
            o.color = _pick_other(rng, tuple(COLORS), before.color)
            if placement_ok(new, o):
                return _entry("replace", o.id, before, o)
        o.shape, o.color = before.shape, before.color
        return None

    return _change_some(new, rng, k, change, "replace", " without hiding others")


def _attribute(new: Scene, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    def change(o: SceneObject, before: SceneObject) -> dict[str, Any] | None:
        for attr in (EDIT_ATTRIBUTES[i] for i in rng.permutation(len(EDIT_ATTRIBUTES))):
            setattr(o, attr, _pick_other(rng, _ATTR_VALUES[attr], getattr(before, attr)))
            if attr not in ("size", "shape") or placement_ok(new, o):
                return _entry("attribute", o.id, before, o, attribute=attr)
            setattr(o, attr, getattr(before, attr))
        return None

    return _change_some(new, rng, k, change, "change an attribute of")


def _add(new: Scene, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    if len(new.objects) + k > MAX_OBJECTS:
        raise ValueError(
            f"cannot add {k} objects to a scene of {len(new.objects)} (max {MAX_OBJECTS})")
    log = []
    next_id = max((o.id for o in new.objects), default=-1) + 1
    for _ in range(k):
        for _try in range(MAX_PLACE_TRIES * 2):
            cand = random_object(rng, next_id)
            if placement_ok(new, cand):
                break
        else:
            raise ValueError(f"no free visible position to add object {len(log) + 1} of {k}")
        new.objects.append(cand)
        log.append(_entry("add", cand.id, None, cand))
        next_id += 1
    return log


def _remove(new: Scene, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    if k >= len(new.objects):
        raise ValueError(
            f"cannot remove {k} of {len(new.objects)} objects: at least one must remain")
    drop = set(rng.permutation(len(new.objects))[:k].tolist())
    log = [_entry("remove", o.id, o, None) for i, o in enumerate(new.objects) if i in drop]
    new.objects = [o for i, o in enumerate(new.objects) if i not in drop]
    return log


def _move(new: Scene, rng: np.random.Generator, k: int) -> list[dict[str, Any]]:
    def change(o: SceneObject, before: SceneObject) -> dict[str, Any] | None:
        for _try in range(MAX_PLACE_TRIES):
            x, y = random_position(rng)
            if math.hypot(x - before.x, y - before.y) < MIN_MOVE_DISTANCE:
                continue
            o.x, o.y = x, y
            if placement_ok(new, o):
                return _entry("move", o.id, before, o)
            o.x, o.y = before.x, before.y
        return None

    return _change_some(new, rng, k, change, "move", " to free positions")


_EDITORS = {"replace": _replace, "attribute": _attribute, "add": _add, "remove": _remove,
            "move": _move}


def edit_scene(
    scene: Scene, rng: np.random.Generator, *, kind: str = "replace", num_changes: int = 2
) -> tuple[Scene, list[dict[str, Any]]]:
    """Return an edited copy of ``scene`` and its change log (see the module docstring).

    Args:
        scene: the original scene (not mutated).
        rng: the only source of randomness.
        kind: one of :data:`EDIT_KINDS`.
        num_changes: how many objects to change / add / remove / move (``>= 1``).

    Raises:
        ValueError: unknown ``kind``, ``num_changes < 1`` or an impossible request.
    """
    if kind not in EDIT_KINDS:
        raise ValueError(f"unknown edit kind {kind!r}; expected one of {EDIT_KINDS}")
    if isinstance(num_changes, bool) or not isinstance(num_changes, (int, np.integer)):
        raise ValueError(f"num_changes must be an int, got {num_changes!r}")
    k = int(num_changes)
    if k < 1:
        raise ValueError(f"num_changes must be >= 1, got {k}")
    if kind not in ("add", "remove") and k > len(scene.objects):
        raise ValueError(
            f"cannot {kind} {k} objects in a scene of {len(scene.objects)} objects")
    new = scene.copy()
    log = _EDITORS[kind](new, rng, k)
    log.sort(key=lambda e: e["id"])
    return new, log

"""Seeded local edits of one image: what turns a photo into a spy pair.

Every edit works on an RGB ``uint8`` array, takes its randomness from the
``numpy.random.Generator`` it is given, and changes pixels only inside the box it
returns (``[x0, y0, x1, y1]``, end-exclusive pixel coordinates):

* ``recolor`` — rotate the hue of an object-sized region (the colour-connected
  blob around the box centre, else an ellipse filling the box);
* ``inpaint`` — remove the most textured of a few candidate regions with OpenCV
  inpainting (Telea), as an editing model would erase an object;
* ``mirror`` — flip a patch left-right or upside down in place;
* ``shift`` — move a patch by part of its size; the place it left is inpainted
  (the box is the union of where it was and where it went);
* ``shape`` — draw a circle, square, triangle or cross in a colour that stands
  out from the region.

:func:`edit_image` applies several edits on non-overlapping boxes when it can
and retries an edit that changed (almost) nothing, e.g. mirroring a flat patch;
the change log holds one JSON-ready dict per edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

EDIT_KINDS = ("recolor", "inpaint", "mirror", "shift", "shape")
SHAPES = ("circle", "square", "triangle", "cross")
#: Saturated colours a drawn shape may take (the one farthest from the region wins).
SHAPE_COLORS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 60, 220),
    "yellow": (245, 220, 30),
    "magenta": (210, 40, 200),
    "cyan": (40, 210, 220),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
}
#: How far (summed over RGB) a shape's colour must be from its region's mean colour.
SHAPE_CONTRAST = 220
#: A pixel counts as changed when a channel moves by more than this.
CHANGE_TOLERANCE = 8
#: An edit must change at least this share of its box (else it is retried).
MIN_CHANGED_SHARE = 0.05
MIN_SIDE = 8

Box = tuple[int, int, int, int]


def draw_box(
    rng: np.random.Generator,
    height: int,
    width: int,
    min_region: float,
    max_region: float,
    avoid: Sequence[Box] = (),
    tries: int = 20,
) -> Box:
    """A box whose sides are ``min_region..max_region`` of the shorter image side.

    Tries ``tries`` times to miss every box in ``avoid``; returns the last draw otherwise.
    """
    short = min(height, width)
    lo = max(3, int(round(min_region * short)))
    hi = max(lo, int(round(max_region * short)))
    box: Box = (0, 0, 1, 1)
    for _ in range(tries):
        side = int(rng.integers(lo, hi + 1))
        aspect = float(rng.uniform(0.75, 1.33))
        bw = int(min(width, max(3, round(side * aspect))))
        bh = int(min(height, max(3, round(side / aspect))))
        x0 = int(rng.integers(0, width - bw + 1))
        y0 = int(rng.integers(0, height - bh + 1))
        box = (x0, y0, x0 + bw, y0 + bh)
        if not any(_overlap(box, other) for other in avoid):
            return box
    return box


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _ellipse_mask(h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(
        mask, (w // 2, h // 2), (max(1, w // 2 - 1), max(1, h // 2 - 1)), 0, 0, 360, 255, -1
    )
    return mask


def _blob_mask(roi: np.ndarray) -> np.ndarray:
    """The colour-connected region around the ROI centre, or an ellipse if it is tiny."""
    h, w = roi.shape[:2]
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    cv2.floodFill(roi.copy(), flood, (w // 2, h // 2), (0, 0, 0), (18,) * 3, (18,) * 3, flags)
    mask = flood[1:-1, 1:-1]
    if mask.astype(bool).mean() < 0.2:
        return _ellipse_mask(h, w)
    return mask


def recolor(rng: np.random.Generator, image: np.ndarray, box: Box) -> tuple[np.ndarray, dict]:
    """Rotate the hue of the blob in ``box`` (greys get colour: saturation is raised)."""
    x0, y0, x1, y1 = box
    out = image.copy()
    roi = out[y0:y1, x0:x1]
    mask = _blob_mask(roi).astype(bool)
    hsv = cv2.cvtColor(roi, cv2.COLOR_RGB2HSV).astype(np.int32)
    shift = int(rng.integers(40, 141))  # OpenCV hue runs 0..179: 80..280 degrees
    hsv[..., 0] = (hsv[..., 0] + shift) % 180
    hsv[..., 1] = np.maximum(hsv[..., 1], 130)
    hsv[..., 2] = np.clip(hsv[..., 2], 70, 235)
    recoloured = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    roi[mask] = recoloured[mask]
    return out, {"hue_shift_deg": 2 * shift}


def _textured_box(rng, image, min_region, max_region, avoid, candidates: int = 6) -> Box:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    boxes = [draw_box(rng, h, w, min_region, max_region, avoid) for _ in range(candidates)]
    return max(boxes, key=lambda b: float(gray[b[1] : b[3], b[0] : b[2]].std()))


def _inpaint_into(out: np.ndarray, source: np.ndarray, mask: np.ndarray, box: Box) -> None:
    """Fill ``mask``'s pixels of ``out`` by Telea inpainting ``source`` around ``box``.

    Only a crop around ``box`` is inpainted (the cost grows with the crop and the
    radius), and only masked pixels are written.
    """
    x0, y0, x1, y1 = box
    radius = max(3, min(x1 - x0, y1 - y0) // 20)
    m = 2 * radius + 2
    h, w = mask.shape
    cx0, cy0, cx1, cy1 = max(0, x0 - m), max(0, y0 - m), min(w, x1 + m), min(h, y1 + m)
    crop = np.ascontiguousarray(source[cy0:cy1, cx0:cx1])
    hole = np.ascontiguousarray(mask[cy0:cy1, cx0:cx1])
    filled = cv2.inpaint(crop, hole, radius, cv2.INPAINT_TELEA)
    region = out[cy0:cy1, cx0:cx1]
    region[hole > 0] = filled[hole > 0]


def inpaint(rng: np.random.Generator, image: np.ndarray, box: Box) -> tuple[np.ndarray, dict]:
    """Erase the ellipse filling ``box`` and fill it from its surroundings (Telea)."""
    x0, y0, x1, y1 = box
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[y0:y1, x0:x1] = _ellipse_mask(y1 - y0, x1 - x0)
    out = image.copy()
    _inpaint_into(out, image, mask, box)
    return out, {"method": "telea"}


def mirror(rng: np.random.Generator, image: np.ndarray, box: Box) -> tuple[np.ndarray, dict]:
    """Flip the patch in ``box`` left-right or upside down."""
    x0, y0, x1, y1 = box
    axis = "left-right" if rng.random() < 0.5 else "up-down"
    out = image.copy()
    patch = image[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = patch[:, ::-1] if axis == "left-right" else patch[::-1]
    return out, {"axis": axis}


def shift_boxes(rng: np.random.Generator, box: Box) -> tuple[Box, Box]:
    """Split ``box`` into a source patch and where it moves to, both inside ``box``."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    dx = int(round(bw * rng.uniform(0.25, 0.45)))
    dy = int(round(bh * rng.uniform(0.0, 0.3)))
    pw, ph = bw - dx, bh - dy
    sx, tx = (x0, x0 + dx) if rng.random() < 0.5 else (x0 + dx, x0)  # right or left
    sy, ty = (y0, y0 + dy) if rng.random() < 0.5 else (y0 + dy, y0)  # down or up
    src, dst = (sx, sy, sx + pw, sy + ph), (tx, ty, tx + pw, ty + ph)
    return src, dst


def shift(rng: np.random.Generator, image: np.ndarray, box: Box) -> tuple[np.ndarray, dict]:
    """Move a patch inside ``box``; the uncovered part of where it was is inpainted."""
    src, dst = shift_boxes(rng, box)
    patch = image[src[1] : src[3], src[0] : src[2]].copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[src[1] : src[3], src[0] : src[2]] = 255
    mask[dst[1] : dst[3], dst[0] : dst[2]] = 0
    out = image.copy()
    if mask.any():
        _inpaint_into(out, image, mask, box)
    out[dst[1] : dst[3], dst[0] : dst[2]] = patch
    return out, {"from": list(src), "to": list(dst)}


def shape(rng: np.random.Generator, image: np.ndarray, box: Box) -> tuple[np.ndarray, dict]:
    """Draw a filled shape inside ``box`` in a palette colour that stands out from the region.

    The colour is drawn among those at least :data:`SHAPE_CONTRAST` (summed RGB
    distance) from the region's mean colour, else the farthest one.
    """
    x0, y0, x1, y1 = box
    out = image.copy()
    roi = out[y0:y1, x0:x1]
    mean = roi.reshape(-1, 3).mean(axis=0)
    dist = {n: float(np.abs(np.array(c) - mean).sum()) for n, c in SHAPE_COLORS.items()}
    far = [n for n, d in dist.items() if d >= SHAPE_CONTRAST] or [max(dist, key=dist.get)]
    name = far[int(rng.integers(len(far)))]
    color = tuple(int(c) for c in SHAPE_COLORS[name])
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    h, w = roi.shape[:2]
    m = max(1, min(h, w) // 10)  # margin: anti-aliased edges stay inside the box
    canvas = np.ascontiguousarray(roi)
    if kind == "circle":
        radius = max(1, min(w, h) // 2 - m)
        cv2.circle(canvas, (w // 2, h // 2), radius, color, -1, cv2.LINE_AA)
    elif kind == "square":
        side = min(w, h) - 2 * m
        left, top = (w - side) // 2, (h - side) // 2
        cv2.rectangle(canvas, (left, top), (left + side - 1, top + side - 1), color, -1)
    elif kind == "triangle":
        pts = np.array([[w // 2, m], [m, h - 1 - m], [w - 1 - m, h - 1 - m]], np.int32)
        cv2.fillPoly(canvas, [pts], color, cv2.LINE_AA)
    else:
        t = max(1, min(w, h) // 5)
        cv2.rectangle(canvas, (w // 2 - t // 2, m), (w // 2 + t // 2, h - 1 - m), color, -1)
        cv2.rectangle(canvas, (m, h // 2 - t // 2), (w - 1 - m, h // 2 + t // 2), color, -1)
    out[y0:y1, x0:x1] = canvas
    return out, {"shape": kind, "color": name}


EDITS: dict[str, Callable[[np.random.Generator, np.ndarray, Box], tuple[np.ndarray, dict]]] = {
    "recolor": recolor,
    "inpaint": inpaint,
    "mirror": mirror,
    "shift": shift,
    "shape": shape,
}


def changed_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Pixels where any channel moved by more than :data:`CHANGE_TOLERANCE`."""
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16))
    return (diff > CHANGE_TOLERANCE).any(axis=2)


def edit_image(
    rng: np.random.Generator,
    image: np.ndarray,
    *,
    kinds: Sequence[str] = EDIT_KINDS,
    num_edits: int = 2,
    min_region: float = 0.15,
    max_region: float = 0.35,
    attempts: int = 6,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Apply ``num_edits`` visible edits of the given kinds; return the image and change log.

    Each edit draws its kind from ``kinds`` and a box missing the earlier edits'
    boxes.  An edit that changes under :data:`MIN_CHANGED_SHARE` of its box is
    redrawn (up to ``attempts`` times, then a ``shape`` — always visible — is
    drawn if ``shape`` is allowed; otherwise the faint edit is kept).  Log entries:
    ``{"kind", "box": [x0, y0, x1, y1], "changed_pixels", ...}`` plus the kind's details.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("edit_image needs an RGB uint8 array")
    h, w = image.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"image of {w}x{h} pixels is too small to edit (min side {MIN_SIDE})")
    unknown = [k for k in kinds if k not in EDITS]
    if unknown or not kinds:
        raise ValueError(f"edit kinds must be a non-empty subset of {EDIT_KINDS}, got {kinds}")
    current = image
    changes: list[dict[str, Any]] = []
    boxes: list[Box] = []
    for _ in range(num_edits):
        best: tuple[int, np.ndarray, dict[str, Any]] | None = None
        for attempt in range(attempts + 1):
            kind = kinds[int(rng.integers(len(kinds)))]
            if attempt == attempts and "shape" in kinds:
                kind = "shape"
            if kind == "inpaint":
                box = _textured_box(rng, current, min_region, max_region, boxes)
            else:
                box = draw_box(rng, h, w, min_region, max_region, boxes)
            edited, details = EDITS[kind](rng, current, box)
            changed = int(changed_mask(current, edited).sum())
            entry = {"kind": kind, "box": list(box), "changed_pixels": changed, **details}
            if best is None or changed > best[0]:
                best = (changed, edited, entry)
            area = (box[2] - box[0]) * (box[3] - box[1])
            if changed >= MIN_CHANGED_SHARE * area:
                best = (changed, edited, entry)
                break
        _, current, entry = best
        changes.append(entry)
        boxes.append(tuple(entry["box"]))
    return current, changes

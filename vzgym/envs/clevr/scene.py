"""CLEVR-like scene graphs: sampling, camera geometry, CLEVR JSON and textual facts.

World coordinates follow CLEVR: ``x``/``y`` span the ground plane (objects live in
roughly ``[-3, 3]``), ``z`` points up and the ground is ``z = 0``.  The camera sits
in front of the scene (towards ``-y``), looks slightly down at the origin and is
jittered per scene; one directional key light, also jittered, casts the shadows.

Everything random is drawn from the ``numpy.random.Generator`` passed in, so the
same seed always gives the same scene.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SHAPES: tuple[str, ...] = ("cube", "sphere", "cylinder")
#: The eight CLEVR colours with the RGB values of CLEVR's ``properties.json``.
COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
MATERIALS: tuple[str, ...] = ("rubber", "metal")
SIZES: tuple[str, ...] = ("small", "large")

#: Bounding radius on the ground (CLEVR's values) per size.
SIZE_RADIUS: dict[str, float] = {"small": 0.35, "large": 0.7}
#: Minimum free gap between two objects' bounding circles (CLEVR's ``min_dist``).
MIN_GAP = 0.25
#: Objects are placed with ``x, y`` uniform in ``[-PLACE_RANGE, PLACE_RANGE]``.
PLACE_RANGE = 3.0
#: Pixel margin every object's projected bounding box must keep from the border.
VIEW_MARGIN_PX = 4.0
#: An object must keep at least this fraction of its projected disc unoccluded.
MIN_VISIBLE_FRACTION = 0.75
#: Margin (world units) used for the ``relationships`` of the CLEVR JSON.
RELATION_EPS = 0.2
#: Stricter margin for relation *facts*, so a viewer would agree with them.
FACT_RELATION_EPS = 0.5
#: Object-placement attempts before a scene is restarted, and scene restarts.
MAX_PLACE_TRIES = 60
MAX_SCENE_TRIES = 200
#: Horizontal field of view of the camera (degrees), as in CLEVR's Blender camera.
FOV_DEG = 49.9


@dataclass
class SceneObject:
    """One object of a scene.

    Attributes:
        id: stable id of the object within a scene and its edits (not its list index).
        shape: one of :data:`SHAPES`.
        color: one of the keys of :data:`COLORS`.
        material: one of :data:`MATERIALS`.
        size: one of :data:`SIZES`.
        x: ground-plane x coordinate (world units, about ``[-3, 3]``).
        y: ground-plane y coordinate (world units, about ``[-3, 3]``).
        rotation: rotation about the vertical axis, in degrees ``[0, 360)``.
    """

    id: int
    shape: str
    color: str
    material: str
    size: str
    x: float
    y: float
    rotation: float

    @property
    def radius(self) -> float:
        """Bounding radius of the object's footprint on the ground."""
        return SIZE_RADIUS[self.size]

    @property
    def height(self) -> float:
        """Height of the object above the ground (cubes are ``r * sqrt(2)`` tall)."""
        r = self.radius
        return r * math.sqrt(2.0) if self.shape == "cube" else 2.0 * r

    def attrs(self) -> dict[str, Any]:
        """Return all attributes (without ``id``) as a plain dict, for change logs."""
        d = asdict(self)
        d.pop("id")
        return d

    def describe(self) -> str:
        """Return ``"large red metal cube"``."""
        return f"{self.size} {self.color} {self.material} {self.shape}"


@dataclass
class Scene:
    """A scene graph: objects plus the camera and light used to render it.

    Attributes:
        objects: the objects, in placement order.
        camera: JSON-able camera parameters (``location``, ``look_at``, ``fov_deg``,
            ``azimuth_deg``, ``elevation_deg``, ``distance``).
        light: JSON-able key-light parameters (``direction`` is the unit vector from
            the scene towards the light; ``azimuth_deg``, ``elevation_deg``,
            ``intensity``, ``ambient``, ``ground_brightness``).
        width: image width in pixels.
        height: image height in pixels.
    """

    objects: list[SceneObject]
    camera: dict[str, Any]
    light: dict[str, Any]
    width: int = 480
    height: int = 320
    _cam_cache: Any = field(default=None, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ helpers
    def copy(self) -> Scene:
        """Return a deep copy (objects, camera and light are not shared)."""
        new = Scene(
            objects=[copy.copy(o) for o in self.objects],
            camera=copy.deepcopy(self.camera),
            light=copy.deepcopy(self.light),
            width=self.width,
            height=self.height,
        )
        new._cam_cache = self._cam_cache  # validated against the camera dict on use
        return new

    def get(self, obj_id: int) -> SceneObject:
        """Return the object with id ``obj_id`` (``KeyError`` if absent)."""
        for o in self.objects:
            if o.id == obj_id:
                return o
        raise KeyError(f"no object with id {obj_id} in scene")

    def cam(self) -> Camera:
        """Return the (cached) :class:`Camera` for this scene's camera dict."""
        key = (tuple(self.camera["location"]), tuple(self.camera["look_at"]),
               self.camera["fov_deg"], self.width, self.height)
        if self._cam_cache is None or self._cam_cache[0] != key:
            self._cam_cache = (key, Camera.from_scene(self))
        return self._cam_cache[1]

    def describe(self, obj_id: int) -> str:
        """Return the full description of object ``obj_id``: ``"large red metal cube"``."""
        return self.get(obj_id).describe()

    # ------------------------------------------------------------------ CLEVR JSON
    def to_clevr_json(
        self, image_filename: str = "", image_index: int = 0, split: str = "vzgym"
    ) -> dict[str, Any]:
        """Return the scene in CLEVR's scene-JSON schema.

        Keys: ``split``, ``image_index``, ``image_filename``, ``objects`` (each with
        ``shape``, ``color``, ``material``, ``size``, ``3d_coords``, ``rotation``,
        ``pixel_coords`` and the extra ``id``), ``relationships`` (``left``, ``right``,
        ``front``, ``behind``: for object ``i`` the sorted indices of the objects that
        are in that relation to ``i``, as in CLEVR), ``directions`` (unit vectors as
        seen from the camera), plus the extras ``ids``, ``camera``, ``light``,
        ``width`` and ``height``.
        """
        cam = self.cam()
        objs = []
        for o in self.objects:
            z = o.height / 2.0
            px, py, depth = cam.project_point((o.x, o.y, z))
            objs.append(
                {
                    "id": o.id,
                    "shape": o.shape,
                    "color": o.color,
                    "material": o.material,
                    "size": o.size,
                    "3d_coords": [round(o.x, 6), round(o.y, 6), round(z, 6)],
                    "rotation": round(o.rotation, 6),
                    "pixel_coords": [int(round(px)), int(round(py)), round(depth, 6)],
                }
            )
        return {
            "split": split,
            "image_index": int(image_index),
            "image_filename": image_filename,
            "objects": objs,
            "ids": [o.id for o in self.objects],
            "relationships": relationships(self, RELATION_EPS),
            "directions": {k: [round(float(c), 6) for c in v] for k, v in directions(self).items()},
            "camera": copy.deepcopy(self.camera),
            "light": copy.deepcopy(self.light),
            "width": self.width,
            "height": self.height,
        }


# ---------------------------------------------------------------------- camera
class Camera:
    """Pinhole camera: world points to pixel coordinates (and depth along the view axis)."""

    def __init__(
        self, location: np.ndarray, look_at: np.ndarray, fov_deg: float, width: int, height: int
    ) -> None:
        self.location = np.asarray(location, dtype=np.float64)
        fwd = np.asarray(look_at, dtype=np.float64) - self.location
        self.forward = fwd / np.linalg.norm(fwd)
        right = np.cross(self.forward, np.array([0.0, 0.0, 1.0]))
        self.right = right / np.linalg.norm(right)
        self.up = np.cross(self.right, self.forward)
        self.width = width
        self.height = height
        self.focal = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
        self.cx = width / 2.0
        self.cy = height / 2.0
        # rows: right, up, forward -> camera coordinates
        self.rot = np.stack([self.right, self.up, self.forward])
        #: cache of projected object boxes (see ``_screen_box``)
        self.box_cache: dict[tuple, tuple[float, ...]] = {}

    @classmethod
    def from_scene(cls, scene: Scene) -> Camera:
        """Build the camera of ``scene`` (at the scene's image size)."""
        c = scene.camera
        return cls(np.array(c["location"]), np.array(c["look_at"]), c["fov_deg"],
                   scene.width, scene.height)

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """Return ``(N, 3)`` camera coordinates (right, up, forward) of world points."""
        return (np.asarray(pts, dtype=np.float64) - self.location) @ self.rot.T

    def project(self, pts: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """Project ``(N, 3)`` world points to ``(N, 3)`` rows ``(px, py, depth)``.

        ``scale`` multiplies pixel coordinates (for supersampled rendering).
        """
        pc = self.to_camera(pts)
        z = np.maximum(pc[:, 2], 1e-6)
        out = np.empty_like(pc)
        f = self.focal * scale
        out[:, 0] = self.cx * scale + f * pc[:, 0] / z
        out[:, 1] = self.cy * scale - f * pc[:, 1] / z
        out[:, 2] = pc[:, 2]
        return out

    def project_point(self, p: tuple[float, float, float]) -> tuple[float, float, float]:
        """Project one world point; return ``(px, py, depth)`` as Python floats."""
        r = self.project(np.array([p], dtype=np.float64))[0]
        return float(r[0]), float(r[1]), float(r[2])


def directions(scene: Scene) -> dict[str, np.ndarray]:
    """Return CLEVR's ground-plane ``directions`` as seen from the scene's camera."""
    cam = scene.cam()
    behind = np.array([cam.forward[0], cam.forward[1], 0.0])
    behind /= np.linalg.norm(behind)
    right = np.array([cam.right[0], cam.right[1], 0.0])
    right /= np.linalg.norm(right)
    up = np.array([0.0, 0.0, 1.0])
    return {
        "behind": behind,
        "front": -behind,
        "left": -right,
        "right": right,
        "above": up,
        "below": -up,
    }


def relationships(scene: Scene, eps: float = RELATION_EPS) -> dict[str, list[list[int]]]:
    """Return CLEVR relationships: ``rel[name][i]`` = indices ``j`` that are ``name`` of ``i``."""
    dirs = directions(scene)
    out: dict[str, list[list[int]]] = {}
    for name in ("left", "right", "front", "behind"):
        d = dirs[name]
        rows = []
        for o1 in scene.objects:
            rows.append(
                [
                    j
                    for j, o2 in enumerate(scene.objects)
                    if o2 is not o1 and (o2.x - o1.x) * d[0] + (o2.y - o1.y) * d[1] > eps
                ]
            )
        out[name] = rows
    return out


# ---------------------------------------------------------------------- sampling
def _sample_camera(rng: np.random.Generator, zoom: float = 1.0) -> dict[str, Any]:
    """Jittered CLEVR-like camera: in front of the scene, looking down at it.

    ``zoom`` narrows the field of view (``tan(fov/2)`` divided by it): objects look
    ``zoom`` times larger.  The random draws do not depend on it.
    """
    azimuth = -90.0 + float(rng.uniform(-12.0, 12.0))
    elevation = float(rng.uniform(30.0, 36.0))
    distance = float(rng.uniform(10.6, 11.6))
    look_at = [float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0.0, 0.5)), 0.0]
    az, el = math.radians(azimuth), math.radians(elevation)
    loc = [
        look_at[0] + distance * math.cos(el) * math.cos(az),
        look_at[1] + distance * math.cos(el) * math.sin(az),
        look_at[2] + distance * math.sin(el),
    ]
    return {
        "location": loc,
        "look_at": look_at,
        "fov_deg": FOV_DEG if zoom == 1.0 else _zoomed_fov(zoom),
        "azimuth_deg": azimuth,
        "elevation_deg": elevation,
        "distance": distance,
    }


def check_zoom(zoom: Any) -> float:
    """``zoom`` as a float, or :class:`ValueError` unless it is a number from 1 to 8."""
    if isinstance(zoom, bool) or not isinstance(zoom, (int, float)) or not 1 <= zoom <= 8:
        raise ValueError(f"zoom must be a number from 1 to 8, got {zoom!r}")
    return float(zoom)


def _zoomed_fov(zoom: float) -> float:
    """The field of view (degrees) that shows objects ``zoom`` times larger than FOV_DEG."""
    return math.degrees(2.0 * math.atan(math.tan(math.radians(FOV_DEG) / 2.0) / zoom))


def _sample_light(rng: np.random.Generator, camera: dict[str, Any]) -> dict[str, Any]:
    """Jittered key light from the camera's right, above; shadows fall back-left."""
    azimuth = camera["azimuth_deg"] + float(rng.uniform(30.0, 75.0))
    elevation = float(rng.uniform(40.0, 58.0))
    az, el = math.radians(azimuth), math.radians(elevation)
    direction = [math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)]
    return {
        "direction": direction,
        "azimuth_deg": azimuth,
        "elevation_deg": elevation,
        "intensity": float(rng.uniform(0.9, 1.1)),
        "ambient": float(rng.uniform(0.32, 0.4)),
        "ground_brightness": float(rng.uniform(0.92, 1.05)),
    }


def _bounds_points(o: SceneObject) -> np.ndarray:
    """Eight points bounding the object (its footprint circle's box, bottom and top).

    The height is that of the tallest shape of the object's size, so a shape change
    (as in a ``replace`` edit) can never push an object out of view.
    """
    r = o.radius
    h = 2.0 * r
    return np.array(
        [(o.x + dx, o.y + dy, z) for z in (0.0, h)
         for dx, dy in ((-r, -r), (r, -r), (r, r), (-r, r))]
    )


def _silhouette_points(o: SceneObject, cam: Camera) -> np.ndarray:
    """World points whose projections bound the object's silhouette."""
    r, h = o.radius, o.height
    if o.shape == "sphere":
        c = np.array([o.x, o.y, r])
        return np.stack([c + r * cam.right, c - r * cam.right, c + r * cam.up, c - r * cam.up])
    if o.shape == "cube":
        s = r / math.sqrt(2.0)
        th = math.radians(o.rotation)
        cs, sn = math.cos(th) * s, math.sin(th) * s
        xy = [(o.x + dx * cs - dy * sn, o.y + dx * sn + dy * cs)
              for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    else:
        ang = np.linspace(0.0, 2 * math.pi, 12, endpoint=False)
        xy = list(zip((o.x + r * np.cos(ang)).tolist(), (o.y + r * np.sin(ang)).tolist(),
                      strict=True))
    return np.array([(x, y, z) for z in (0.0, h) for x, y in xy])


def _screen_box(scene: Scene, o: SceneObject) -> tuple[float, ...]:
    """Cached projections of an object: ``(xmin, ymin, xmax, ymax, min_depth)`` of its
    conservative bounding prism, its occlusion disc ``(cx, cy, radius, depth)`` and the
    bounding box ``(x0, y0, x1, y1)`` of its silhouette."""
    key = (o.x, o.y, o.size, o.shape, o.rotation)
    cam = scene.cam()
    cache = cam.box_cache
    hit = cache.get(key)
    if hit is not None:
        return hit
    sil = _silhouette_points(o, cam)
    p = cam.project(np.concatenate([_bounds_points(o), [[o.x, o.y, o.height / 2]], sil]))
    b = p[:8]
    xmin, xmax = float(b[:, 0].min()), float(b[:, 0].max())
    ymin, ymax = float(b[:, 1].min()), float(b[:, 1].max())
    q = p[9:]
    sx0, sx1 = float(q[:, 0].min()), float(q[:, 0].max())
    sy0, sy1 = float(q[:, 1].min()), float(q[:, 1].max())
    rad = math.sqrt(0.9 * (sx1 - sx0) * (sy1 - sy0) / math.pi)  # equal-area disc
    val = (xmin, ymin, xmax, ymax, float(b[:, 2].min()), (sx0 + sx1) / 2, (sy0 + sy1) / 2,
           rad, float(p[8, 2]), sx0, sy0, sx1, sy1)
    if len(cache) > 4096:
        cache.clear()
    cache[key] = val
    return val


def screen_disc(scene: Scene, o: SceneObject) -> tuple[float, float, float, float]:
    """Approximate the object's image footprint as a disc: ``(cx, cy, radius, depth)``."""
    b = _screen_box(scene, o)
    return b[5], b[6], b[7], b[8]


def object_bbox(scene: Scene, obj_id: int) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` (clipped to the image) of object ``obj_id``'s silhouette.

    Only the object itself, not its shadow; occluders in front are not accounted for.
    """
    xmin, ymin, xmax, ymax = _screen_box(scene, scene.get(obj_id))[9:13]
    return (
        max(0, int(math.floor(xmin))),
        max(0, int(math.floor(ymin))),
        min(scene.width, int(math.ceil(xmax))),
        min(scene.height, int(math.ceil(ymax))),
    )


def in_view(scene: Scene, o: SceneObject, margin: float = VIEW_MARGIN_PX) -> bool:
    """Return True if the object's projected bounding box lies inside the image."""
    xmin, ymin, xmax, ymax, dmin = _screen_box(scene, o)[:5]
    return (
        xmin >= margin
        and ymin >= margin
        and xmax <= scene.width - margin
        and ymax <= scene.height - margin
        and dmin > 0.5
    )


def overlaps(a: SceneObject, b: SceneObject, gap: float = MIN_GAP) -> bool:
    """Return True if two objects' footprints are closer than ``gap``."""
    return math.hypot(a.x - b.x, a.y - b.y) < a.radius + b.radius + gap


def _disc_overlap(d: float, r1: float, r2: float) -> float:
    """Area of the intersection of two discs whose centres are ``d`` apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return math.pi * min(r1, r2) ** 2
    a1 = r1 * r1 * math.acos(max(-1.0, min(1.0, (d * d + r1 * r1 - r2 * r2) / (2 * d * r1))))
    a2 = r2 * r2 * math.acos(max(-1.0, min(1.0, (d * d + r2 * r2 - r1 * r1) / (2 * d * r2))))
    a3 = 0.5 * math.sqrt(max(0.0, (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)))
    return a1 + a2 - a3


def _visible_fractions(scene: Scene, objs: list[SceneObject]) -> list[float]:
    discs = [screen_disc(scene, o) for o in objs]
    out = []
    for i, (cx, cy, r, depth) in enumerate(discs):
        covered = 0.0
        for j, (ox, oy, orad, od) in enumerate(discs):
            if j != i and od < depth:
                covered += _disc_overlap(math.hypot(cx - ox, cy - oy), r, orad)
        out.append(max(0.0, 1.0 - covered / (math.pi * r * r)))
    return out


def visible_fraction(scene: Scene, o: SceneObject) -> float:
    """Rough fraction of ``o``'s projected disc not covered by nearer objects."""
    objs = [b for b in scene.objects if b.id != o.id] + [o]
    return _visible_fractions(scene, objs)[-1]


def placement_ok(scene: Scene, o: SceneObject, ignore_ids: tuple[int, ...] = ()) -> bool:
    """Check a candidate object against the scene.

    It must not overlap any other object (ids in ``ignore_ids`` and ``o.id`` are
    skipped), must be in view, must stay mostly unoccluded itself and must not hide
    most of another object.
    """
    others = [b for b in scene.objects if b.id != o.id and b.id not in ignore_ids]
    if any(overlaps(o, b) for b in others):
        return False
    if not in_view(scene, o):
        return False
    return min(_visible_fractions(scene, others + [o])) >= MIN_VISIBLE_FRACTION


def random_object(
    rng: np.random.Generator, obj_id: int, **fixed: Any
) -> SceneObject:
    """Draw a random object (attributes in ``fixed`` are kept as given)."""
    attrs = {
        "shape": SHAPES[int(rng.integers(len(SHAPES)))],
        "color": list(COLORS)[int(rng.integers(len(COLORS)))],
        "material": MATERIALS[int(rng.integers(len(MATERIALS)))],
        "size": SIZES[int(rng.integers(len(SIZES)))],
        "x": float(rng.uniform(-PLACE_RANGE, PLACE_RANGE)),
        "y": float(rng.uniform(-PLACE_RANGE, PLACE_RANGE)),
        "rotation": float(rng.uniform(0.0, 360.0)),
    }
    attrs.update(fixed)
    return SceneObject(id=obj_id, **attrs)


def random_position(rng: np.random.Generator) -> tuple[float, float]:
    """Draw a ground position uniformly in ``[-PLACE_RANGE, PLACE_RANGE]^2``."""
    return float(rng.uniform(-PLACE_RANGE, PLACE_RANGE)), float(rng.uniform(-PLACE_RANGE,
                                                                            PLACE_RANGE))


def sample_scene(
    rng: np.random.Generator,
    *,
    num_objects: tuple[int, int] | int = (3, 10),
    width: int = 480,
    height: int = 320,
    zoom: float = 1.0,
) -> Scene:
    """Sample a random CLEVR-like scene.

    Args:
        rng: the only source of randomness (same seed, same scene).
        num_objects: an exact count or an inclusive ``(low, high)`` range.
        width: image width in pixels.
        height: image height in pixels.
        zoom: ``>= 1``; the camera shows objects ``zoom`` times larger and objects are
            placed on a ground area ``zoom`` times smaller (so they stay in view).
            Made for scenes of few objects (a small student sees them); ``1`` draws
            exactly the default scenes.

    Objects get ids ``0 .. n-1``; they do not overlap (bounding circles at least
    :data:`MIN_GAP` apart), lie inside the image and are mostly unoccluded.  If an
    object cannot be placed after :data:`MAX_PLACE_TRIES` tries the whole scene is
    re-drawn (deterministically, from the same ``rng``).
    """
    if isinstance(num_objects, (int, np.integer)):
        lo = hi = int(num_objects)
    else:
        lo, hi = (int(v) for v in num_objects)
    if lo < 1 or hi < lo:
        raise ValueError(f"num_objects must be >= 1 and low <= high, got {num_objects!r}")
    if hi > 16:
        raise ValueError(f"at most 16 objects fit in a scene, got {num_objects!r}")
    zoom = check_zoom(zoom)
    n = int(rng.integers(lo, hi + 1))
    for _ in range(MAX_SCENE_TRIES):
        camera = _sample_camera(rng, zoom)
        light = _sample_light(rng, camera)
        scene = Scene(objects=[], camera=camera, light=light, width=width, height=height)
        ok = True
        for i in range(n):
            for _try in range(MAX_PLACE_TRIES):
                cand = random_object(rng, i)
                cand.x, cand.y = cand.x / zoom, cand.y / zoom
                if placement_ok(scene, cand):
                    scene.objects.append(cand)
                    break
            else:
                ok = False
                break
        if ok:
            return scene
    raise RuntimeError(f"could not place {n} objects after {MAX_SCENE_TRIES} scene tries")


# ---------------------------------------------------------------------- facts
def _plural(shape: str, n: int) -> str:
    return shape if n == 1 else shape + "s"


def _count_fact(n: int, noun: str) -> str:
    return f"there is 1 {noun}" if n == 1 else f"there are {n} {noun}"


def _unique_names(scene: Scene) -> dict[int, str]:
    """Shortest unambiguous name per object id (``"red cube"`` ...), if any."""
    objs = scene.objects
    names: dict[int, str] = {}
    templates = (
        lambda o: f"{o.color} {o.shape}",
        lambda o: f"{o.size} {o.color} {o.shape}",
        lambda o: f"{o.color} {o.material} {o.shape}",
        lambda o: f"{o.size} {o.color} {o.material} {o.shape}",
    )
    for o in objs:
        for t in templates:
            name = t(o)
            if sum(1 for b in objs if t(b) == name) == 1:
                names[o.id] = name
                break
    return names


def scene_facts(scene: Scene) -> list[str]:
    """Short true statements about the scene, usable as clues (sorted, no duplicates).

    Kinds of facts:

    * existence: ``"there is a large red metal cube"``, ``"there is a red cube"``;
    * counts: ``"there are 5 objects"``, ``"there are 2 spheres"``,
      ``"there is 1 red object"``, ``"there are 3 metal objects"``,
      ``"there are 4 large objects"``;
    * relations between uniquely named objects, using a margin of
      :data:`FACT_RELATION_EPS` world units as seen from the camera:
      ``"the red cube is left of the blue sphere"`` (also ``right of``,
      ``in front of``, ``behind``).
    """
    facts: set[str] = set()
    objs = scene.objects
    for o in objs:
        facts.add(f"there is a {o.describe()}")
        facts.add(f"there is a {o.color} {o.shape}")
    facts.add(_count_fact(len(objs), "objects" if len(objs) != 1 else "object"))
    shape_c = Counter(o.shape for o in objs)
    for s in SHAPES:
        if shape_c[s]:
            facts.add(_count_fact(shape_c[s], _plural(s, shape_c[s])))
    for attr, values in (("color", COLORS), ("material", MATERIALS), ("size", SIZES)):
        c = Counter(getattr(o, attr) for o in objs)
        for v in values:
            if c[v]:
                facts.add(_count_fact(c[v], f"{v} {_plural('object', c[v])}"))
    names = _unique_names(scene)
    dirs = directions(scene)
    phrases = {"left": "left of", "right": "right of", "front": "in front of",
               "behind": "behind"}
    for a in objs:
        if a.id not in names:
            continue
        for b in objs:
            if b is a or b.id not in names:
                continue
            for rel, phrase in phrases.items():
                d = dirs[rel]
                if (a.x - b.x) * d[0] + (a.y - b.y) * d[1] > FACT_RELATION_EPS:
                    facts.add(f"the {names[a.id]} is {phrase} the {names[b.id]}")
    return sorted(facts)


#: The kinds of :func:`scene_facts`, in the order :func:`fact_kind` tells them apart.
FACT_KINDS = ("relation", "count", "object", "described_object")


def fact_kind(fact: str) -> str:
    """Which template of :func:`scene_facts` made ``fact`` (one of :data:`FACT_KINDS`).

    ``"the red cube is left of ..."`` → relation; ``"there are 3 cubes"``,
    ``"there is 1 red object"`` → count; ``"there is a red cube"`` → object;
    ``"there is a large red metal cube"`` → described_object.
    """
    if fact.startswith("the "):
        return "relation"
    if fact.startswith("there are ") or fact.startswith("there is 1 "):
        return "count"
    return "described_object" if len(fact.split()) > 5 else "object"


def common_facts(a: Scene, b: Scene) -> list[str]:
    """Facts (from :func:`scene_facts`) true in both scenes, sorted."""
    return sorted(set(scene_facts(a)) & set(scene_facts(b)))

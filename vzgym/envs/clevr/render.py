"""Fast deterministic rasteriser for CLEVR-like scenes (numpy + PIL, no ray tracing).

The scene is drawn with the painter's algorithm at ``SUPERSAMPLE`` times the output
resolution and box-filtered down:

1. the ground: a soft gradient lit by the key light (computed at low resolution and
   upsampled), darkened by blurred shadows that are the convex hulls of every
   object's silhouette projected onto ``z = 0`` along the light direction, plus a
   small contact shadow under each object;
2. the objects, far to near: cubes as their visible faces with one Lambert (+
   Blinn specular and reflected environment for metal) term per face, cylinders
   as shaded vertical strips of their side plus the top ellipse, spheres
   as cached pre-shaded sprites tinted by colour.

Metal is darker in its diffuse part with strong specular highlights and a reflected
environment term; rubber is matte.  All arithmetic is deterministic, so the same
scene always gives the same pixels.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from vzgym.envs.clevr.scene import COLORS, Camera, Scene, SceneObject

#: Render at this many times the output size, then box-filter down (anti-aliasing).
SUPERSAMPLE = 2
#: Segments used for circles (cylinders, sphere shadows).
CIRCLE_SEGMENTS = 48
#: Ground albedo (0..255 grey level before lighting).
GROUND_LEVEL = 170.0
#: Darkening of the ground inside cast shadows (0..1).
SHADOW_STRENGTH = 0.42

_UNIT_CIRCLE = np.stack(
    [
        np.cos(np.linspace(0, 2 * math.pi, CIRCLE_SEGMENTS, endpoint=False)),
        np.sin(np.linspace(0, 2 * math.pi, CIRCLE_SEGMENTS, endpoint=False)),
    ],
    axis=1,
)

# Cube: corner (sx, sy, sz) signs and faces (corner indices, outward normal).
_CUBE_CORNERS = np.array(
    [[sx, sy, sz] for sz in (0, 1) for sy in (-1, 1) for sx in (-1, 1)], dtype=np.float64
)
_CUBE_FACES = (
    ((4, 5, 7, 6), (0.0, 0.0, 1.0)),  # top
    # side faces are ordered bottom0, bottom1, top1, top0
    ((0, 1, 5, 4), (0.0, -1.0, 0.0)),  # -y
    ((3, 2, 6, 7), (0.0, 1.0, 0.0)),  # +y
    ((2, 0, 4, 6), (-1.0, 0.0, 0.0)),  # -x
    ((1, 3, 7, 5), (1.0, 0.0, 0.0)),  # +x
)
#: Metal side faces are drawn as this many horizontal bands with a reflection
#: gradient (dark ground reflection at the bottom, brighter towards the top).
METAL_BANDS = 6

_MATERIAL = {
    # ambient, diffuse, specular, shininess, environment reflection
    "rubber": (1.0, 0.95, 0.06, 8.0, 0.0),
    "metal": (0.45, 0.35, 1.0, 40.0, 0.6),
}


def _env_rgb(sky: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Reflected environment colour for sky fraction ``sky`` (0 = ground, 1 = sky).

    The reflections are tinted by the object's colour, as on CLEVR's metal.
    """
    ground = 0.2 * base + 12.0
    sky_c = 0.65 * base + 70.0
    return ground + sky[..., None] * (sky_c - ground)


def _sky_fraction(refl_up: np.ndarray) -> np.ndarray:
    """Soft horizon: how much of a reflected ray sees the bright sky."""
    return 0.5 + 0.5 * np.tanh(4.0 * (refl_up - 0.05))


def _quantise(v: np.ndarray) -> tuple[int, int, int]:
    """Quantise a unit vector to multiples of 1/50 (cache keys of sphere sprites)."""
    return int(round(v[0] * 50)), int(round(v[1] * 50)), int(round(v[2] * 50))


class _Lighting:
    """Per-scene lighting terms shared by all objects."""

    def __init__(self, scene: Scene, cam: Camera) -> None:
        light = scene.light
        self.L = np.asarray(light["direction"], dtype=np.float64)
        self.L /= np.linalg.norm(self.L)
        self.intensity = float(light.get("intensity", 1.0))
        self.ambient = float(light.get("ambient", 0.35))
        self.ground = float(light.get("ground_brightness", 1.0))
        self.cam = cam
        # sphere sprites are shaded in the camera frame (x right, y up, z to the
        # viewer), with quantised inputs so that sprites are shared across scenes
        basis = np.stack([cam.right, cam.up, -cam.forward])
        self.sphere_lq = _quantise(basis @ self.L)
        self.sphere_vq = _quantise(basis @ np.array([0.0, 0.0, 1.0]))
        self.sphere_amb = round(self.ambient * 50) / 50
        self.sphere_int = round(self.intensity * 50) / 50

    def shade(self, base: tuple[int, int, int], material: str, normals: np.ndarray,
              points: np.ndarray, extra: np.ndarray | float = 1.0, spec_scale: float = 1.0,
              env_scale: np.ndarray | float = 1.0) -> list[tuple[int, int, int]]:
        """Flat-shaded colours of surface patches (``(N, 3)`` normals at ``(N, 3)`` points)."""
        amb_k, dif_k, spec_k, shin, env_k = _MATERIAL[material]
        view = self.cam.location - points
        view /= np.sqrt((view * view).sum(axis=1, keepdims=True))
        ndl = np.clip(normals @ self.L, 0.0, None)
        h = self.L + view
        h /= np.sqrt((h * h).sum(axis=1, keepdims=True))
        if env_k:
            # vertical facets: use the horizontal half vector, which gives the
            # vertical highlight stripe real metal cylinders and cubes show
            vert = np.abs(normals[:, 2]) < 0.5
            h = np.where(vert[:, None], h * np.array([1.0, 1.0, 0.0]), h)
            h /= np.sqrt((h * h).sum(axis=1, keepdims=True))
        ndh = np.clip((normals * h).sum(axis=1), 0.0, None)
        spec = spec_k * spec_scale * ndh**shin * self.intensity
        if env_k:
            # a broad lobe too, so flat facets of metal still vary strongly
            spec = spec + 0.25 * spec_scale * ndh**5 * self.intensity
        diff = (self.ambient * amb_k + dif_k * ndl * self.intensity) * extra
        b = np.asarray(base, dtype=np.float64)
        rgb = diff[:, None] * b + 255.0 * spec[:, None]
        if env_k:
            # reflected environment: bright "sky" above, the grey ground below
            ndv = (normals * view).sum(axis=1)
            refl_z = 2.0 * ndv * normals[:, 2] - view[:, 2]
            env = env_k * _env_rgb(_sky_fraction(refl_z), b)
            rgb += env * np.reshape(env_scale, (-1, 1))
        out = np.clip(rgb, 0.0, 255.0).astype(np.int64).tolist()
        return [(c[0], c[1], c[2]) for c in out]


# ---------------------------------------------------------------------- ground
@lru_cache(maxsize=64)
def _ground_small(cam_key: tuple, light_key: tuple, w: int, h: int,
                  out_size: tuple[int, int]) -> Image.Image:
    """Ground shading (greyscale) for one camera/light, computed at ``w x h`` and
    bilinearly upsampled to ``out_size`` (cached: original and edit share it)."""
    location, look_at, fov, width, height = cam_key
    cam = Camera(np.array(location), np.array(look_at), fov, width, height)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px = (xs + 0.5) * width / w
    py = (ys + 0.5) * height / h
    dx = (px - cam.cx) / cam.focal
    dy = -(py - cam.cy) / cam.focal
    rays = (dx[..., None] * cam.right + dy[..., None] * cam.up + cam.forward)
    rz = np.minimum(rays[..., 2], -1e-3)
    t = -cam.location[2] / rz
    gx = cam.location[0] + t * rays[..., 0]
    gy = cam.location[1] + t * rays[..., 1]
    ldir = np.array(light_key[:3])
    ambient, brightness = light_key[3], light_key[4]
    # a broad "area light" spot centred towards the light, plus distance falloff
    spot_c = ldir[:2] / max(1e-3, ldir[2]) * 2.0
    d2 = (gx - spot_c[0]) ** 2 + (gy - spot_c[1]) ** 2
    dist = np.sqrt(gx**2 + gy**2)
    lum = (0.62 + 0.38 * np.exp(-d2 / 90.0)) * (1.0 - 0.25 * np.clip(dist / 16.0, 0, 1))
    lum *= brightness * (0.85 + 0.4 * (ambient - 0.3))
    # darken towards the top (far away) a little, like CLEVR's falloff
    lum *= 0.9 + 0.1 * (py / height)
    arr = np.clip(lum * GROUND_LEVEL, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "L").resize(out_size, Image.BILINEAR)


# ---------------------------------------------------------------------- geometry
def _cube_corners(o: SceneObject) -> np.ndarray:
    s = o.radius / math.sqrt(2.0)
    th = math.radians(o.rotation)
    c, sn = math.cos(th), math.sin(th)
    local = _CUBE_CORNERS * np.array([s, s, 2 * s])  # z in {0, 2s}: height r * sqrt(2)
    x = local[:, 0] * c - local[:, 1] * sn + o.x
    y = local[:, 0] * sn + local[:, 1] * c + o.y
    return np.stack([x, y, local[:, 2]], axis=1)


def _cylinder_rings(o: SceneObject) -> tuple[np.ndarray, np.ndarray]:
    r = o.radius
    xy = _UNIT_CIRCLE * r + np.array([o.x, o.y])
    bottom = np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)
    top = np.concatenate([xy, np.full((len(xy), 1), o.height)], axis=1)
    return bottom, top


def _shadow_polys(o: SceneObject, L: np.ndarray) -> list[np.ndarray]:
    """Ground polygons (``(k, 3)`` arrays, ``z = 0``) whose union is the cast shadow.

    Shadows are projected along the light direction ``L`` onto ``z = 0``.  For the
    extruded shapes the union of the footprint, the shadow of the top face and the
    region swept between them is exactly the convex hull, without computing one.
    """
    sx, sy = -L[0] / L[2], -L[1] / L[2]  # ground offset per unit of height
    if o.shape == "sphere":
        # the terminator circle (perpendicular to L) projects to the shadow ellipse
        r = o.radius
        a = np.array([L[1], -L[0], 0.0])
        a /= max(1e-9, float(np.hypot(L[0], L[1])))
        b = np.array([L[1] * a[2] - L[2] * a[1], L[2] * a[0] - L[0] * a[2],
                      L[0] * a[1] - L[1] * a[0]])
        ang = _UNIT_CIRCLE[::2]
        pts = np.array([o.x, o.y, r]) + r * (ang[:, :1] * a + ang[:, 1:] * b)
        t = pts[:, 2:3]
        pts = pts + t * np.array([sx, sy, -1.0])
        return [pts]
    h = o.height
    d = np.array([sx * h, sy * h, 0.0])
    if o.shape == "cube":
        foot = _cube_corners(o)[:4][[0, 1, 3, 2]]
    else:
        foot = _cylinder_rings(o)[0][::2]
    top = foot + d
    polys = [foot, top]
    if o.shape == "cube":
        for i in range(4):
            j = (i + 1) % 4
            polys.append(np.stack([foot[i], foot[j], top[j], top[i]]))
    else:
        dl = float(np.hypot(d[0], d[1]))
        if dl > 1e-9:
            perp = np.array([-d[1], d[0], 0.0]) / dl * o.radius
            c = np.array([o.x, o.y, 0.0])
            polys.append(np.stack([c + perp, c - perp, c - perp + d, c + perp + d]))
    return polys


# ---------------------------------------------------------------------- sphere sprite
_SPRITE_RES = 96


@lru_cache(maxsize=256)
def _sphere_maps(material: str, lq: tuple[int, int, int], vq: tuple[int, int, int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unit-sphere shading maps at ``_SPRITE_RES``: diffuse, specular, env, alpha.

    ``lq``/``vq`` are the light direction and world "up" in sprite coordinates
    (x right, y up, z towards the viewer), quantised to 1/50.
    """
    n = _SPRITE_RES
    c = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    x, y = np.meshgrid(c, -c)
    rr = x * x + y * y
    # analytic coverage for a smooth (anti-aliased) rim
    px_r = 2.0 / n
    alpha = np.clip((1.0 - np.sqrt(rr)) / px_r + 0.5, 0.0, 1.0)
    z = np.sqrt(np.clip(1.0 - rr, 0.0, 1.0))
    L = np.array(lq, dtype=np.float64) / 50.0
    L /= np.linalg.norm(L)
    up = np.array(vq, dtype=np.float64) / 50.0
    up /= np.linalg.norm(up)
    amb_k, dif_k, spec_k, shin, env_k = _MATERIAL[material]
    ndl = np.clip(x * L[0] + y * L[1] + z * L[2], 0.0, None)
    h = L + np.array([0.0, 0.0, 1.0])
    h /= np.linalg.norm(h)
    ndh = np.clip(x * h[0] + y * h[1] + z * h[2], 0.0, None)
    spec = spec_k * ndh**shin
    env = np.zeros_like(x)
    if env_k:
        # reflection of the view ray; its "up" component picks sky vs ground
        rx, ry, rz = 2 * z * x, 2 * z * y, 2 * z * z - 1.0
        ref_up = rx * up[0] + ry * up[1] + rz * up[2]
        env = _sky_fraction(ref_up)
        spec = spec + 0.25 * ndh**5
    return ndl, spec, env, alpha


@lru_cache(maxsize=256)
def _sphere_base(material: str, color: str, lq: tuple[int, int, int], vq: tuple[int, int, int],
                 ambient: float, intensity: float) -> tuple[Image.Image, Image.Image]:
    """Tinted sphere sprite and alpha mask at ``_SPRITE_RES`` pixels."""
    ndl, spec, env, alpha = _sphere_maps(material, lq, vq)
    amb_k, dif_k, _, _, env_k = _MATERIAL[material]
    base = np.array(COLORS[color], dtype=np.float64)
    diff = ambient * amb_k + dif_k * ndl * intensity
    rgb = diff[..., None] * base + 255.0 * (spec * intensity)[..., None]
    if env_k:
        rgb += env_k * _env_rgb(env, base)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    mask = Image.fromarray((alpha * 255).astype(np.uint8), "L")
    return img, mask


@lru_cache(maxsize=256)
def _sphere_sprite(material: str, color: str, diameter: int, lq: tuple[int, int, int],
                   vq: tuple[int, int, int], ambient: float, intensity: float
                   ) -> tuple[Image.Image, Image.Image]:
    """RGB sprite and alpha mask of a shaded sphere ``diameter`` pixels wide."""
    img, mask = _sphere_base(material, color, lq, vq, ambient, intensity)
    size = (diameter, diameter)
    return img.resize(size, Image.BILINEAR), mask.resize(size, Image.BILINEAR)


# ---------------------------------------------------------------------- drawing
_Polys = list[tuple[list[tuple[float, float]], tuple[int, int, int]]]

_CUBE_FACE_IDX = [list(idx) for idx, _ in _CUBE_FACES]
_CUBE_FACE_N = np.array([n for _, n in _CUBE_FACES])
#: top faces catch a little extra light; vertical faces a touch less
_CUBE_FACE_EXTRA = np.where(_CUBE_FACE_N[:, 2] > 0, 1.06, 0.97)


def _cube_polys(o: SceneObject, cam: Camera, lit: _Lighting, ss: int) -> _Polys:
    corners = _cube_corners(o)
    proj = cam.project(corners, ss)[:, :2].tolist()
    th = math.radians(o.rotation)
    c, s = math.cos(th), math.sin(th)
    n = _CUBE_FACE_N
    normals = np.stack([n[:, 0] * c - n[:, 1] * s, n[:, 0] * s + n[:, 1] * c, n[:, 2]], axis=1)
    centres = corners[_CUBE_FACE_IDX].mean(axis=1)
    vis = ((cam.location - centres) * normals).sum(axis=1) > 0
    base = COLORS[o.color]
    faces = [idx for idx, v in zip(_CUBE_FACE_IDX, vis.tolist(), strict=True) if v]
    if o.material != "metal":
        cols = lit.shade(base, o.material, normals[vis], centres[vis], _CUBE_FACE_EXTRA[vis],
                         spec_scale=0.35)
        return [([tuple(proj[i]) for i in idx], col) for idx, col in zip(faces, cols,
                                                                         strict=True)]
    # metal: the top face flat, each side face as bands with a reflection gradient
    polys: _Polys = []
    nb = METAL_BANDS
    fr = (np.arange(nb) + 0.5) / nb
    for idx, nrm in zip(faces, normals[vis], strict=True):
        if nrm[2] > 0.5:
            col = lit.shade(base, o.material, nrm[None], corners[idx].mean(axis=0)[None], 1.06,
                            spec_scale=0.35)[0]
            polys.append(([tuple(proj[i]) for i in idx], col))
            continue
        b0, b1, t1, t0 = corners[idx]
        pts = b0 + (b1 - b0) * 0.5 + ((t0 - b0)[None] * fr[:, None])
        cols = lit.shade(base, o.material, np.repeat(nrm[None], nb, axis=0), pts, 0.97,
                         spec_scale=0.12, env_scale=0.2 + 1.5 * fr)
        pb0, pb1, pt1, pt0 = (np.array(proj[i]) for i in idx)
        for k, col in enumerate(cols):
            f0, f1 = k / nb, (k + 1) / nb
            quad = [pb0 + (pt0 - pb0) * f0, pb1 + (pt1 - pb1) * f0,
                    pb1 + (pt1 - pb1) * f1, pb0 + (pt0 - pb0) * f1]
            polys.append(([(float(q[0]), float(q[1])) for q in quad], col))
    return polys


_CYL_MID = np.roll(_UNIT_CIRCLE, -1, axis=0) + _UNIT_CIRCLE
_CYL_MID /= np.sqrt((_CYL_MID**2).sum(axis=1, keepdims=True))
_CYL_NORMALS = np.concatenate([_CYL_MID, np.zeros((len(_CYL_MID), 1))], axis=1)


def _cylinder_polys(o: SceneObject, cam: Camera, lit: _Lighting, ss: int) -> _Polys:
    bottom, top = _cylinder_rings(o)
    k = len(bottom)
    proj = cam.project(np.concatenate([bottom, top]), ss)[:, :2].tolist()
    pb, pt = proj[:k], proj[k:]
    base = COLORS[o.color]
    r = o.radius
    mid = _CYL_MID * (r * math.cos(math.pi / k))
    to_cam = cam.location[:2] - np.array([o.x, o.y]) - mid
    # back-face test with a small tolerance so the silhouette has no gaps
    vis = (to_cam * _CYL_MID).sum(axis=1) > -0.02
    idx = np.nonzero(vis)[0].tolist()
    points = np.concatenate(
        [mid[vis] + np.array([o.x, o.y]), np.full((len(idx), 1), o.height / 2)], axis=1)
    cols = lit.shade(base, o.material, _CYL_NORMALS[vis], points)
    polys: _Polys = []
    for i, col in zip(idx, cols, strict=True):
        j = (i + 1) % k
        polys.append(([tuple(pb[i]), tuple(pb[j]), tuple(pt[j]), tuple(pt[i])], col))
    top_col = lit.shade(base, o.material, np.array([[0.0, 0.0, 1.0]]),
                        np.array([[o.x, o.y, o.height]]), 1.04)[0]
    polys.append(([tuple(p) for p in pt], top_col))
    return polys


def _draw_sphere(img: Image.Image, o: SceneObject, cam: Camera, lit: _Lighting,
                 ss: int) -> None:
    r = o.radius
    centre = np.array([[o.x, o.y, r]])
    cx, cy, depth = cam.project(centre, ss)[0].tolist()
    dist = float(np.linalg.norm(cam.location - centre[0]))
    rad_px = cam.focal * ss * r / math.sqrt(max(1e-6, dist * dist - r * r))
    diameter = max(2, int(round(2 * rad_px)))
    sprite, mask = _sphere_sprite(o.material, o.color, diameter, lit.sphere_lq, lit.sphere_vq,
                                  lit.sphere_amb, lit.sphere_int)
    x0 = int(round(cx - diameter / 2))
    y0 = int(round(cy - diameter / 2))
    img.paste(sprite, (x0, y0), mask)


def _ground_with_shadows(scene: Scene, cam: Camera, lit: _Lighting) -> Image.Image:
    """Output-resolution RGB ground with soft cast and contact shadows."""
    w, h = scene.width, scene.height
    cam_key = (tuple(scene.camera["location"]), tuple(scene.camera["look_at"]),
               float(scene.camera["fov_deg"]), w, h)
    light_key = (*(float(v) for v in lit.L), lit.ambient, lit.ground)
    sw, sh = w // 2, h // 2
    shadow = Image.new("L", (sw, sh), 0)
    sdraw = ImageDraw.Draw(shadow)
    s_scale = sw / w
    L = lit.L
    cast_fill = int(255 * SHADOW_STRENGTH)
    contact_fill = int(255 * min(0.85, SHADOW_STRENGTH + 0.3))
    for o in scene.objects:
        polys = _shadow_polys(o, L)
        p = cam.project(np.concatenate(polys), s_scale)[:, :2].tolist()
        start = 0
        for poly in polys:
            sdraw.polygon([tuple(q) for q in p[start:start + len(poly)]], fill=cast_fill)
            start += len(poly)
    for o in scene.objects:
        # contact shadow: a darker core right under the object
        foot = _cylinder_rings(o)[0][::3]
        foot[:, :2] = (foot[:, :2] - [o.x, o.y]) * 0.9 + [o.x, o.y]
        p = cam.project(foot, s_scale)[:, :2].tolist()
        sdraw.polygon([(a, b) for a, b in p], fill=contact_fill)
    shadow = shadow.filter(ImageFilter.BoxBlur(1.5))
    g = _ground_small(cam_key, light_key, 60, 40, (sw, sh))
    g = ImageChops.subtract(g, ImageChops.multiply(g, shadow))
    return g.resize((w, h), Image.BILINEAR).convert("RGB")


def render_scene(scene: Scene) -> Image.Image:
    """Render ``scene`` to an RGB ``width x height`` PIL image (deterministic)."""
    ss = SUPERSAMPLE
    w, h = scene.width, scene.height
    cam = scene.cam()
    lit = _Lighting(scene, cam)
    canvas = _ground_with_shadows(scene, cam, lit)
    if ss > 1:
        # nearest upsampling + box reduce leaves the (smooth) ground unchanged
        canvas = canvas.resize((w * ss, h * ss), Image.NEAREST)
    draw = ImageDraw.Draw(canvas)
    loc = cam.location
    order = sorted(
        scene.objects,
        key=lambda o: (-(math.hypot(o.x - loc[0], o.y - loc[1]) - 0.5 * o.radius), o.id),
    )
    for o in order:
        if o.shape == "sphere":
            _draw_sphere(canvas, o, cam, lit, ss)
            continue
        polys = _cube_polys(o, cam, lit, ss) if o.shape == "cube" else _cylinder_polys(
            o, cam, lit, ss)
        for poly, col in polys:
            draw.polygon(poly, fill=col, outline=col)
    if ss > 1:
        canvas = canvas.reduce(ss)
    return canvas

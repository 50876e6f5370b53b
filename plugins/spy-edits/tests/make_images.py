"""Make the self-made test images in ``tests/images/`` (run once; the output is committed).

Every picture is drawn here from a fixed seed — nothing is downloaded: photo-like
procedural scenes (sky gradients, noisy hills, a sun, houses, trees, a still life,
a textured wall, a room) softened with a blur and camera-like noise, saved as PNG,
JPEG and WebP (each well under 60 KB).  Three files test skipping: a JPEG cut off
half-way, a ``.png`` holding text, and a plain ``.txt`` note.

    python plugins/spy-edits/tests/make_images.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent / "images"
W, H = 240, 180


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, H)[:, None, None]
    img = (1 - t) * np.array(top) + t * np.array(bottom)
    return np.broadcast_to(img, (H, W, 3)).astype(np.float64)


def _finish(img: np.ndarray | Image.Image, rng: np.random.Generator, blur: float = 0.8):
    pil = img if isinstance(img, Image.Image) else Image.fromarray(_u8(img))
    pil = pil.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(pil).astype(np.float64) + rng.normal(0, 3.0, (H, W, 3))
    return Image.fromarray(_u8(arr))


def _u8(arr: np.ndarray) -> np.ndarray:
    return np.clip(arr, 0, 255).astype(np.uint8)


def _smooth_noise(rng: np.random.Generator, scale: int) -> np.ndarray:
    coarse = rng.random((H // scale + 2, W // scale + 2))
    big = Image.fromarray(_u8(coarse * 255)).resize((W, H), Image.BICUBIC)
    return np.asarray(big).astype(np.float64) / 255.0


def landscape(rng: np.random.Generator) -> Image.Image:
    """Sky, sun, two ranges of hills and a tree."""
    img = _gradient((90, 150, 230), (200, 220, 245))
    ys, xs = np.mgrid[0:H, 0:W]
    sun = (xs - 185) ** 2 + (ys - 40) ** 2 < 18**2
    img[sun] = (250, 220, 90)
    for base, amp, color in ((95, 25, (90, 120, 80)), (125, 15, (60, 140, 50))):
        ridge = base + amp * np.sin(xs[0] / 31.0 + rng.random() * 6) * _smooth_noise(rng, 40)[0]
        mask = ys > ridge[None, :]
        tex = 0.8 + 0.4 * _smooth_noise(rng, 6)[..., None]
        img = np.where(mask[..., None], np.array(color) * tex, img)
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([52, 120, 58, 150], fill=(90, 60, 30))
    draw.ellipse([36, 92, 74, 128], fill=(30, 100, 40))
    return _finish(pil, rng)


def street(rng: np.random.Generator) -> Image.Image:
    """Houses with windows and roofs along a road."""
    img = _gradient((150, 190, 235), (230, 235, 240))
    img[130:] = (95, 95, 100)
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    x = 6
    colors = [(200, 80, 60), (230, 200, 120), (120, 160, 200), (180, 180, 170)]
    for k in range(4):
        w = int(rng.integers(44, 60))
        top = int(rng.integers(60, 90))
        draw.rectangle([x, top, x + w, 130], fill=colors[k])
        draw.polygon([(x - 3, top), (x + w // 2, top - 22), (x + w + 3, top)], fill=(110, 50, 40))
        for wy in range(top + 8, 118, 16):
            for wx in range(x + 6, x + w - 10, 14):
                draw.rectangle([wx, wy, wx + 8, wy + 9], fill=(40, 60, 90))
        draw.rectangle([x + w // 2 - 5, 112, x + w // 2 + 5, 130], fill=(70, 40, 20))
        x += w + 6
    for lx in range(0, W, 30):
        draw.rectangle([lx, 152, lx + 14, 155], fill=(240, 240, 230))
    return _finish(pil, rng, blur=0.6)


def still_life(rng: np.random.Generator) -> Image.Image:
    """A table with a vase, fruit and a cup against a wall."""
    img = _gradient((170, 150, 120), (120, 100, 80))
    img[110:] = np.array((140, 90, 50)) * (0.85 + 0.3 * _smooth_noise(rng, 5)[110:, :, None])
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    draw.ellipse([30, 40, 80, 125], fill=(40, 80, 160))
    draw.rectangle([47, 25, 63, 50], fill=(40, 80, 160))
    draw.ellipse([95, 95, 125, 125], fill=(220, 40, 40))
    draw.ellipse([118, 100, 143, 125], fill=(240, 170, 30))
    draw.ellipse([135, 92, 160, 120], fill=(120, 190, 40))
    draw.rectangle([180, 85, 210, 125], fill=(240, 240, 235))
    draw.arc([200, 92, 222, 115], -90, 90, fill=(240, 240, 235), width=4)
    return _finish(pil, rng, blur=1.0)


def wall(rng: np.random.Generator) -> Image.Image:
    """A brick wall with a poster and a plant."""
    img = np.zeros((H, W, 3))
    tone = _smooth_noise(rng, 8)
    for row in range(0, H, 14):
        shift = 0 if (row // 14) % 2 else 16
        for col in range(-32, W, 32):
            c = np.array((150, 70, 50)) * (0.8 + 0.4 * rng.random())
            img[row : row + 12, max(col + shift, 0) : max(col + shift + 30, 0)] = c
    img[img.sum(axis=2) == 0] = (200, 195, 185)
    img = img * (0.85 + 0.3 * tone[..., None])
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([130, 30, 200, 110], fill=(30, 40, 120))
    draw.ellipse([145, 45, 185, 85], fill=(250, 210, 60))
    draw.polygon([(30, 180), (40, 140), (70, 140), (80, 180)], fill=(160, 90, 40))
    for dx, dy in ((-14, -20), (0, -30), (14, -22), (-6, -38), (8, -40)):
        draw.ellipse([55 + dx - 10, 140 + dy - 8, 55 + dx + 10, 140 + dy + 8], fill=(40, 130, 50))
    return _finish(pil, rng)


def beach(rng: np.random.Generator) -> Image.Image:
    """Sea, sand, an umbrella and a ball."""
    img = _gradient((120, 180, 240), (180, 215, 245))
    waves = 0.9 + 0.2 * _smooth_noise(rng, 4)
    img[70:115] = np.array((30, 110, 170)) * waves[70:115, :, None]
    img[115:] = np.array((225, 200, 150)) * (0.9 + 0.2 * _smooth_noise(rng, 3))[115:, :, None]
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([148, 95, 151, 160], fill=(80, 60, 40))
    draw.pieslice([110, 70, 190, 130], 180, 360, fill=(230, 60, 90))
    draw.ellipse([50, 135, 75, 160], fill=(250, 250, 250))
    draw.pieslice([50, 135, 75, 160], 0, 120, fill=(40, 90, 220))
    draw.ellipse([20, 20, 44, 44], fill=(255, 240, 150))
    return _finish(pil, rng)


def room(rng: np.random.Generator) -> Image.Image:
    """A room: floor, window with a view, a sofa and a lamp."""
    img = _gradient((225, 220, 200), (200, 195, 180))
    img[125:] = np.array((120, 80, 50)) * (0.8 + 0.4 * _smooth_noise(rng, 12))[125:, :, None]
    pil = Image.fromarray(_u8(img))
    draw = ImageDraw.Draw(pil)
    draw.rectangle([20, 25, 90, 90], fill=(250, 250, 250))
    draw.rectangle([25, 30, 85, 85], fill=(130, 190, 240))
    draw.rectangle([25, 65, 85, 85], fill=(70, 150, 70))
    draw.rounded_rectangle([110, 95, 215, 140], 8, fill=(60, 110, 90))
    draw.rounded_rectangle([115, 80, 210, 105], 8, fill=(70, 125, 100))
    draw.line([(228, 60), (228, 140)], fill=(40, 40, 40), width=3)
    draw.polygon([(215, 60), (241, 60), (234, 40), (222, 40)], fill=(250, 230, 150))
    return _finish(pil, rng)


SCENES = {
    "landscape.jpg": landscape,
    "street.png": street,
    "still_life.webp": still_life,
    "wall.jpg": wall,
    "beach.webp": beach,
    "room.png": room,
}


def main() -> None:
    """Write the scenes and the three files that must be skipped."""
    OUT.mkdir(exist_ok=True)
    for seed, (name, scene) in enumerate(SCENES.items()):
        image = scene(np.random.default_rng(1000 + seed))
        path = OUT / name
        if name.endswith(".jpg"):
            image.save(path, quality=85)
        elif name.endswith(".webp"):
            image.save(path, quality=85, method=6)
        else:
            image.quantize(48, dither=Image.Dither.NONE).convert("RGB").save(path, optimize=True)
    whole = (OUT / "landscape.jpg").read_bytes()
    (OUT / "zz_truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (OUT / "zz_not_really.png").write_text("this is text, not a PNG\n")
    (OUT / "notes.txt").write_text("not an image: spy-edits ignores files of other types\n")


if __name__ == "__main__":
    main()

"""The worker's PNG encoder: same pixels as cairo's, deterministic, transparency kept exact."""

from __future__ import annotations

import io
import zlib

import cairocffi as cairo
import numpy as np
import pytest
from PIL import Image

from vzgym.render import RenderStatus, SVGRenderer
from vzgym.render._png import encode_surface, png_rgb


def _surface(w: int, h: int, paint) -> cairo.ImageSurface:
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, w, h)
    paint(cairo.Context(surface))
    surface.flush()
    return surface


def _opaque(ctx: cairo.Context) -> None:
    ctx.set_source_rgb(1, 1, 1)
    ctx.paint()
    ctx.set_source_rgba(0.8, 0.1, 0.3, 0.6)  # translucent ink on an opaque page
    ctx.arc(20, 15, 11.3, 0, 6.3)
    ctx.fill()
    ctx.set_source_rgb(0.1, 0.5, 0.9)
    ctx.rectangle(2.5, 3.25, 30, 7.5)  # fractional edges: antialiased pixels
    ctx.fill()


def _translucent(ctx: cairo.Context) -> None:
    ctx.set_source_rgba(0.2, 0.7, 0.4, 0.5)
    ctx.arc(20, 15, 11.3, 0, 6.3)
    ctx.fill()


def _cairo_png(surface: cairo.ImageSurface) -> bytes:
    out = io.BytesIO()
    surface.write_to_png(out)
    return out.getvalue()


def _pixels(png: bytes) -> tuple[str, bytes]:
    with Image.open(io.BytesIO(png)) as im:
        return im.mode, im.tobytes()


def test_opaque_surface_is_rgb_with_cairos_exact_pixels():
    surface = _surface(41, 29, _opaque)
    png, transparent = encode_surface(surface, Image)
    assert not transparent
    assert png != _cairo_png(surface)  # our encoder, not cairo's...
    assert _pixels(png) == _pixels(_cairo_png(surface))  # ...with cairo's RGB pixels
    assert _pixels(png)[0] == "RGB"
    assert encode_surface(_surface(41, 29, _opaque), Image)[0] == png  # deterministic


def test_surface_with_transparency_keeps_cairos_bytes():
    surface = _surface(41, 29, _translucent)
    png, transparent = encode_surface(surface, Image)
    assert png == _cairo_png(surface) and not transparent
    assert _pixels(png)[0] == "RGBA"

    def corner(ctx: cairo.Context) -> None:  # first pixel opaque, the rest transparent
        ctx.rectangle(0, 0, 3, 3)
        ctx.fill()

    surface = _surface(41, 29, corner)
    png, transparent = encode_surface(surface, Image)
    assert png == _cairo_png(surface) and _pixels(png)[0] == "RGBA" and not transparent
    blank = _surface(7, 5, lambda ctx: None)
    png, transparent = encode_surface(blank, Image)
    assert transparent and png == _cairo_png(blank)


def test_png_rgb_structure_and_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    png = png_rgb(5, 3, rgb.tobytes())
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert int.from_bytes(png[16:20], "big") == 5 and int.from_bytes(png[20:24], "big") == 3
    with Image.open(io.BytesIO(png)) as im:
        im.verify()  # every chunk CRC checked
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), rgb)
    # IDAT holds one filter byte (0) per row before the row's pixels
    idat_len = int.from_bytes(png[33:37], "big")
    raw = zlib.decompress(png[41 : 41 + idat_len])
    assert len(raw) == 3 * (1 + 5 * 3) and raw[0] == raw[16] == raw[32] == 0
    with pytest.raises(ValueError, match="need 45 bytes"):
        png_rgb(5, 3, bytes(44))


def test_sandbox_renders_opaque_svg_fast_path_deterministically():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40">'
           '<rect width="60" height="40" fill="#fafafa"/>'
           '<circle cx="30" cy="20" r="13.3" fill="teal" opacity="0.7"/></svg>')  # fmt: skip
    with SVGRenderer(workers=1) as a, SVGRenderer(workers=1) as b:
        ra, rb = a.render(svg), b.render(svg)
        transparent = a.render(svg.replace('fill="#fafafa"', 'fill="none"'))
    assert ra.ok and ra.png == rb.png and _pixels(ra.png)[0] == "RGB"
    assert transparent.status is RenderStatus.OK and _pixels(transparent.png)[0] == "RGBA"

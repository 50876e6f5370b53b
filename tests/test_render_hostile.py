"""Hostile SVG corpus through the real sandbox: right status, in time, nothing read.

Proof of "no network": a loopback HTTP server (127.0.0.1 only) answers every request with
a red image and counts hits; it must see none. Proof of "no file read": secret files
(a red PNG, a red SVG, a CSS making everything red, a text) sit in a temp dir; every
rendered PNG must contain no red pixel -- and a positive control shows the detector sees
red when the same image *is* inlined.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import io
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from vzgym.render import RenderLimits, RenderStatus, SVGRenderer

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
GREEN = '<rect x="0" y="0" width="8" height="8" fill="#00ff00"/>'  # keeps renders non-empty
RED_SVG = f'<svg {NS} width="64" height="64"><rect id="r" width="64" height="64" fill="red"/></svg>'
HANG = 3.0  # timeout used for the hostile batch


def png_bytes(w: int, h: int, rgba: tuple[int, int, int, int]) -> bytes:
    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    raw = zlib.compress(b"".join(b"\0" + bytes(rgba) * w for _ in range(h)))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


RED_PNG = png_bytes(64, 64, (255, 0, 0, 255))


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def _serve(self) -> None:
        type(self).hits.append(self.path)
        body, ctype = (RED_SVG.encode(), "image/svg+xml")
        if self.path.endswith(".png"):
            body, ctype = RED_PNG, "image/png"
        elif self.path.endswith(".css"):
            body, ctype = b"rect { fill: red }", "text/css"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _serve

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    _Counter.hits = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("secrets")
    (d / "secret.png").write_bytes(RED_PNG)
    (d / "secret.svg").write_text(RED_SVG)
    (d / "secret.css").write_text("rect { fill: red }")
    (d / "secret.txt").write_text("TOP SECRET " * 20)
    return d


def red_pixels(png: bytes) -> int:
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
    return int(((a[..., 3] > 0) & (a[..., 0] > 150) & (a[..., 1] < 100) & (a[..., 2] < 100)).sum())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hostile_cases(port: int, d: Path) -> dict[str, tuple[str | bytes, set[RenderStatus]]]:
    """name -> (svg, accepted statuses). Every OK/EMPTY render is checked for red."""
    url = f"http://127.0.0.1:{port}"
    ok = {RenderStatus.OK}
    err = {RenderStatus.RENDER_ERROR}
    big = {RenderStatus.TOO_LARGE}

    def doc(body: str, pre: str = "", attrs: str = 'width="64" height="64"') -> str:
        return f"{pre}<svg {NS} {attrs}>{GREEN}{body}</svg>"

    nested = doc(f'<image width="64" height="64" xlink:href="file://{d}/secret.png"/>')
    laughs = '<!DOCTYPE svg [<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ) + "]>"
    path = "M0 0 " + "L1 1 " * 1_100_000
    dash = "M0 0 " + " ".join(f"L{(i * 37) % 500} {(i * 91) % 500}" for i in range(4000))
    return {
        # XML entities / DTDs
        "xxe_file": (doc("<text y='20'>&x;</text>",
                         f'<!DOCTYPE svg [<!ENTITY x SYSTEM "file://{d}/secret.txt">]>'), err),
        "xxe_http": (doc("<text y='20'>&x;</text>",
                         f'<!DOCTYPE svg [<!ENTITY x SYSTEM "{url}/xxe">]>'), err),
        "xxe_parameter": (doc("", f'<!DOCTYPE svg [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>'),
                          err),
        "external_dtd": (doc("", f'<!DOCTYPE svg SYSTEM "{url}/svg.dtd">'), ok),
        "billion_laughs": (doc("<text y='20'>&i;</text>", laughs), err),
        # external references: rendered as absent
        "image_http": (doc(f'<image width="64" height="64" xlink:href="{url}/a.png"/>'), ok),
        "image_https": (doc(f'<image width="64" height="64" href="https://127.0.0.1:{port}/b.png"/>'),
                        ok),
        "image_file_url": (doc(f'<image width="64" height="64" href="file://{d}/secret.png"/>'),
                           ok),
        "image_abs_path": (doc(f'<image width="64" height="64" href="{d}/secret.png"/>'), ok),
        "image_svg_file": (doc(f'<image width="64" height="64" href="{d}/secret.svg"/>'), ok),
        "image_xml_base": (doc(f'<image xml:base="{d}/" width="64" height="64" '
                               'href="secret.png"/>'), ok),
        "use_file": (doc(f'<use xlink:href="file://{d}/secret.svg#r"/>'), ok),
        "use_http": (doc(f'<use href="{url}/u.svg#r"/>'), ok),
        "css_import_file": (doc(f"<style>@import url(file://{d}/secret.css);</style><rect "
                                'x="10" y="10" width="40" height="40" fill="#00ff00"/>'), ok),
        "css_import_http": (doc(f'<style>@import "{url}/s.css";</style><rect x="10" y="10" '
                                'width="40" height="40" fill="#00ff00"/>'), ok),
        "fill_url_http": (doc(f'<rect width="64" height="64" fill="url({url}/g.svg#grad)"/>'),
                          ok),
        # cairosvg's <tref> raises on the missing (refused) target: refused, not rendered
        "tref_http": (doc(f'<text y="30"><tref xlink:href="{url}/t.svg#t"/></text>'), ok | err),
        "pattern_href_file": (doc(f'<pattern id="p" href="file://{d}/secret.svg"/>'
                                  '<rect width="64" height="64" fill="url(#p)"/>'), ok),
        "data_svg_pointing_at_file": (
            doc(f'<image width="64" height="64" href="data:image/svg+xml;base64,'
                f'{b64(nested.encode())}"/>'), ok),
        "data_svg_pointing_at_http": (
            doc('<image width="64" height="64" href="data:image/svg+xml;base64,'
                + b64(doc(f'<image width="64" height="64" href="{url}/n.png"/>').encode())
                + '"/>'), ok),
        "font_face_http": (doc(f"<style>@font-face {{ font-family: X; src: url({url}/f.ttf) }}"
                               "</style><text y='30' font-family='X'>hi</text>"), ok),
        "xinclude_file": (doc(f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                              f'href="file://{d}/secret.svg"/>'), ok),
        "huge_inline_png": (doc('<image width="64" height="64" href="data:image/png;base64,'
                                + b64(png_bytes(5000, 5000, (255, 0, 0, 255))) + '"/>'), ok),
        "script_and_foreign_object": (doc(f'<script href="{url}/x.js"/><foreignObject>'
                                          f'<iframe xmlns="http://www.w3.org/1999/xhtml" '
                                          f'src="{url}/f.html"/></foreignObject>'), ok),
        # amplification, size and structure bombs
        "use_bomb": (doc("<defs><rect id='l0' width='1' height='1'/>" + "".join(
            f"<g id='l{i}'>" + f"<use href='#l{i - 1}'/>" * 10 + "</g>" for i in range(1, 10))
            + "</defs><use href='#l9'/>"), big),
        "use_cycle": (doc('<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>'), big),
        "canvas_50000": (doc("", attrs='width="50000" height="50000"'), big),
        "viewbox_only_huge": (doc("", attrs='viewBox="0 0 1e9 1e9"'), big),
        "path_5mb": (doc(f'<path d="{path}"/>'), big),
        "deep_nesting": (doc("<g>" * 100_000 + "</g>" * 100_000), big),
        "gzip_bomb": (gzip.compress(b"<svg " + b" " * 30_000_000 + b"/>", 9), big),
        # C code that never returns: killed at the timeout, or, when it exhausts the
        # worker's memory limit first (on a loaded machine), a crashed worker: both end
        # the render and the worker is replaced
        "dash_bomb_c_code": (doc(f'<path d="{dash}" stroke="black" stroke-dasharray="0.01" '
                                 'fill="none"/>', attrs='width="500" height="500"'),
                             {RenderStatus.TIMEOUT, RenderStatus.RENDER_ERROR}),
        # malformed
        "broken_xml": ("<svg><g><rect></svg>", err),
        "unclosed": (f"<svg {NS} width='5' height='5'><rect", err),
        "nan_size": (doc("", attrs='width="NaN" height="10"'), {RenderStatus.BAD_SIZE}),
        "negative_size": (doc("", attrs='width="-10" height="10"'), {RenderStatus.BAD_SIZE}),
        "bad_viewbox": (doc("", attrs='viewBox="0 0 0 10"'), {RenderStatus.BAD_SIZE}),
        "html_not_svg": ("<html><body><p>hello</p></body></html>", {RenderStatus.NOT_SVG}),
        "prose_not_svg": ("Sure! Here is a drawing of a cat.", {RenderStatus.NOT_SVG}),
        "binary_junk": (bytes(range(256)) * 10, {RenderStatus.NOT_SVG}),
        "empty": ("   \n", {RenderStatus.EMPTY}),
        "transparent": (f'<svg {NS} width="9" height="9"><rect width="9" height="9" '
                        'fill="none"/></svg>', {RenderStatus.EMPTY}),
        "not_a_string": (12345, {RenderStatus.NOT_SVG}),  # type: ignore[dict-item]
    }


def test_hostile_corpus(server, secrets):
    cases = hostile_cases(server, secrets)
    names = list(cases)
    limits = RenderLimits(timeout=HANG)
    # Workers other code started earlier (e.g. the process-wide shared_renderer a game
    # used in an earlier test) are not this renderer's to stop.
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    t0 = time.monotonic()
    with SVGRenderer(limits, workers=2) as r:
        results = r.render_batch([cases[n][0] for n in names])
        pids = r.worker_pids()
        assert len(pids) == 2
    wall = time.monotonic() - t0
    assert not [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not set(pids) & before
    assert _Counter.hits == [], f"HTTP server was hit: {_Counter.hits}"
    failures = []
    for name, res in zip(names, results, strict=True):
        accepted = cases[name][1]
        if res.status not in accepted:
            failures.append(f"{name}: {res.status.value} ({res.message[:120]})")
        if res.seconds > HANG + 3.0:  # slack for a loaded 2-core machine
            failures.append(f"{name}: took {res.seconds:.2f}s")
        if res.png is not None:
            n = red_pixels(res.png)
            if n:
                failures.append(f"{name}: {n} red pixels: a secret was read")
            if res.status is RenderStatus.OK:
                im = Image.open(io.BytesIO(res.png)).convert("RGBA")
                assert im.getpixel((2, 2))[:3] == (0, 255, 0), name  # really rendered
    assert not failures, "\n".join(failures)
    by_name = dict(zip(names, results, strict=True))
    assert "refused" in by_name["image_http"].message
    assert "refused" in by_name["xxe_file"].message
    dash_bomb = by_name["dash_bomb_c_code"]
    assert dash_bomb.status is RenderStatus.TIMEOUT or "worker crashed" in dash_bomb.message or (
        "memory" in dash_bomb.message
    )
    assert wall < 2 * HANG + 5


def test_detector_positive_control(server, secrets):
    """The same red image, inlined as data: (allowed), *is* visible: the check works."""
    svg = (f'<svg {NS} width="64" height="64"><image width="64" height="64" '
           f'href="data:image/png;base64,{b64((secrets / "secret.png").read_bytes())}"/></svg>')
    with SVGRenderer(workers=1) as r:
        res = r.render(svg)
    assert res.status is RenderStatus.OK
    assert red_pixels(res.png) == 64 * 64
    assert _Counter.hits == []


def test_memory_bomb_ends_as_render_error():
    """A 30000x30000 inline PNG (3.6 GB as ARGB) under a 1 GiB RLIMIT_AS."""
    def chunk(t: bytes, dd: bytes) -> bytes:
        return struct.pack(">I", len(dd)) + t + dd + struct.pack(">I", zlib.crc32(t + dd))

    w = h = 30_000
    raw = zlib.compress(b"".join(b"\0" + bytes((w + 7) // 8) for _ in range(h)), 9)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    svg = (f'<svg {NS} width="64" height="64"><image width="64" height="64" '
           f'href="data:image/png;base64,{b64(png)}"/></svg>')
    limits = RenderLimits(max_image_pixels=10**10, max_memory=1 << 30, timeout=20)
    with SVGRenderer(limits, workers=1) as r:
        res = r.render(svg)
        again = r.render(f'<svg {NS} width="4" height="4">{GREEN}</svg>')  # worker survives
    assert res.status is RenderStatus.RENDER_ERROR and "memory" in res.message
    assert again.ok
    # Default limits: the same image is simply absent.
    with SVGRenderer(workers=1) as r:
        assert r.render(svg).status is RenderStatus.EMPTY


def _doc(body: str) -> str:
    return f'<svg {NS} width="64" height="64">{GREEN}{body}</svg>'


def test_a_huge_font_does_not_break_text_for_later_renders():
    # cairo/FreeType errors at ~65536 px text used to break every new font size on that
    # worker for good; the worker is now replaced after such an error
    def text(size: float) -> str:
        return _doc(f"<text x='10' y='40' font-size='{size}'>Hi</text>")

    with SVGRenderer(RenderLimits(timeout=10), workers=1) as r:
        first = r.worker_pids()
        poison = r.render(text(65536))
        assert poison.status is RenderStatus.RENDER_ERROR and "FREETYPE" in poison.message.upper()
        later = r.render_batch([text(33), text(14.5), text(8), text(17)])
        assert [x.status for x in later] == [RenderStatus.OK] * 4
        assert r.worker_pids() and r.worker_pids() != first


def test_gzip_and_disguised_data_and_big_gif_frames_are_refused():
    bomb = gzip.compress(b"<svg" + b" " * 20_000_000, compresslevel=9)
    header_trick = gzip.compress(b"x")[:3] + b"\x08" + gzip.compress(b"x")[4:10] + b"<svg\0"
    gif = (  # a 1x1 GIF whose frame sits at (12999, 12999): Pillow makes it 13000 x 13000
        b"GIF89a" + struct.pack("<HH", 1, 1) + bytes([0x80, 0, 0]) + b"\xff\x00\x00\x00\x00\x00"
        + b"," + struct.pack("<HHHHB", 12999, 12999, 1, 1, 0) + bytes([2, 2, 0x44, 0x01, 0]) + b";"
    )  # fmt: skip
    imt = b" <!--\n" + b"\x00" * 64  # not SVG markup, not an allowed raster format
    cases = [
        _doc(f'<image width="64" height="64" href="data:image/svg+xml;base64,'
             f'{base64.b64encode(bomb).decode()}"/>'),
        _doc(f'<image width="64" height="64" href="data:image/svg+xml;base64,'
             f'{base64.b64encode(header_trick).decode()}"/>'),
        _doc(f'<image width="64" height="64" href="data:image/gif;base64,'
             f'{base64.b64encode(gif).decode()}"/>'),
        _doc(f'<image width="64" height="64" href="data:image/png;base64,'
             f'{base64.b64encode(imt).decode()}"/>'),
    ]  # fmt: skip
    with SVGRenderer(RenderLimits(timeout=10), workers=1) as r:
        start = time.monotonic()
        out = r.render_batch(cases)
        assert time.monotonic() - start < 5
    assert out[0].status is RenderStatus.OK and "refused 1 reference" in out[0].message
    assert out[1].status is RenderStatus.OK and "refused 1 reference" in out[1].message
    assert out[2].status is RenderStatus.RENDER_ERROR and "DecompressionBomb" in out[2].message
    assert out[3].status is RenderStatus.OK and "refused 1 reference" in out[3].message


def test_messages_and_xml_base_do_not_leak_paths(tmp_path):
    svg = _doc(f'<image xml:base="{tmp_path}/" href="probe.png" width="8" height="8"/>')
    with SVGRenderer(workers=1) as r:
        res = r.render(svg)
    assert res.status is RenderStatus.OK
    assert str(tmp_path) not in res.message and "probe" not in res.message


def test_bom_str_with_a_legacy_encoding_declaration_renders():
    svg = "\ufeff<?xml version='1.0' encoding='latin-1'?>" + _doc("<text y='30'>caf\u00e9</text>")
    with SVGRenderer(workers=1) as r:
        assert r.render(svg).status is RenderStatus.OK


def test_worker_gets_no_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-FAKE-SECRET")
    with SVGRenderer(workers=1) as r:
        assert r.render(_doc("")).status is RenderStatus.OK
        (pid,) = r.worker_pids()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"sk-FAKE-SECRET" not in environ and b"FONTCONFIG_FILE" in environ


def test_parent_refuses_a_payload_that_is_not_the_promised_png():
    from vzgym.render.sandbox import _png_matches

    limits = RenderLimits()
    good = png_bytes(64, 32, (0, 255, 0, 255))
    assert _png_matches(good, 64, 32, limits)
    assert not _png_matches(good, 64, 64, limits)  # size differs from the header
    assert not _png_matches(b"GIF89a" + good[6:], 64, 32, limits)
    assert not _png_matches(good + b"\0" * (limits.max_area * 5), 64, 32, limits)

"""Pure-Python pre-checks and the refusing fetcher (no worker processes)."""

from __future__ import annotations

import base64
import gzip
import struct
import zlib

import pytest

from vzgym.render import RenderLimits, RenderStatus
from vzgym.render.fetch import EMPTY_SVG, RefusingFetcher, decode_data_uri
from vzgym.render.limits import (
    PrecheckError,
    parse_length,
    parse_viewbox,
    precheck_input,
    precheck_svg,
    resolve_size,
)

L = RenderLimits()
NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def status_of(fn, *args) -> RenderStatus:
    with pytest.raises(PrecheckError) as ei:
        fn(*args)
    return ei.value.status


@pytest.mark.parametrize(
    "value, expected",
    [
        ("10", (10.0, False)),
        (" 10px ", (10.0, False)),
        ("1in", (96.0, False)),
        ("72pt", (96.0, False)),
        ("2.54cm", (96.0, False)),
        ("25.4mm", (96.0, False)),
        ("1pc", (16.0, False)),
        ("2em", (32.0, False)),
        ("1e2", (100.0, False)),
        ("50%", (50.0, True)),
        ("10PX", (10.0, False)),
        (None, None),
        ("", None),
        ("auto", None),
    ],
)
def test_parse_length(value, expected):
    assert parse_length(value) == (pytest.approx(expected) if expected else expected)


@pytest.mark.parametrize("value", ["abc", "10 px 3", "NaN", "inf", "1e999", "10furlongs", "--3"])
def test_parse_length_bad(value):
    assert status_of(parse_length, value) is RenderStatus.BAD_SIZE


def test_parse_viewbox():
    assert parse_viewbox("0 0 100 50") == (0, 0, 100, 50)
    assert parse_viewbox("-5,-5, 10 ,10") == (-5, -5, 10, 10)
    assert parse_viewbox(None) is None
    for bad in ("0 0 100", "0 0 0 10", "0 0 -1 10", "a b c d", "0 0 nan 1", "0 0 1 1 1"):
        assert status_of(parse_viewbox, bad) is RenderStatus.BAD_SIZE


@pytest.mark.parametrize(
    "w, h, vb, limits, expected",
    [
        ("100", "50", None, L, (100, 50)),
        (None, None, None, L, (512, 512)),
        (None, None, "0 0 300 200", L, (300, 200)),
        ("600", None, "0 0 300 200", L, (600, 400)),
        (None, "100", "0 0 300 200", L, (150, 100)),
        ("100%", "100%", "0 0 300 200", L, (300, 200)),  # like cairosvg
        ("50%", None, None, L, (256, 512)),
        ("10", None, None, L, (10, 512)),
        ("0.3", "0.3", None, L, (1, 1)),
        ("1in", "1in", None, L, (96, 96)),
        ("4000", "2000", None, RenderLimits(output_width=400), (400, 200)),
        ("50000", "50000", None, RenderLimits(output_width=512), (512, 512)),
        (None, None, None, RenderLimits(default_size=(64, 32)), (64, 32)),
    ],
)
def test_resolve_size(w, h, vb, limits, expected):
    assert resolve_size(w, h, vb, limits) == expected


@pytest.mark.parametrize(
    "w, h, vb, expected",
    [
        ("50000", "50000", None, RenderStatus.TOO_LARGE),
        ("2049", "10", None, RenderStatus.TOO_LARGE),
        ("1e300", "1e300", None, RenderStatus.TOO_LARGE),
        (None, None, "0 0 1e9 1e9", RenderStatus.TOO_LARGE),
        ("0", "10", None, RenderStatus.BAD_SIZE),
        ("-5", "10", None, RenderStatus.BAD_SIZE),
        ("NaN", "10", None, RenderStatus.BAD_SIZE),
        ("wide", "10", None, RenderStatus.BAD_SIZE),
        ("10", "10", "0 0 0 0", RenderStatus.BAD_SIZE),
    ],
)
def test_resolve_size_refusals(w, h, vb, expected):
    assert status_of(resolve_size, w, h, vb, L) is expected


def test_max_area():
    limits = RenderLimits(max_side=2048, max_area=1000 * 1000)
    assert resolve_size("1000", "1000", None, limits) == (1000, 1000)
    assert status_of(resolve_size, "2000", "1000", None, limits) is RenderStatus.TOO_LARGE


def test_precheck_input():
    assert precheck_input("<svg/>", L) == b"<svg/>"
    assert precheck_input(b"<svg/>", L) == b"<svg/>"
    assert status_of(precheck_input, "", L) is RenderStatus.EMPTY
    assert status_of(precheck_input, " \n\t ", L) is RenderStatus.EMPTY
    assert status_of(precheck_input, None, L) is RenderStatus.NOT_SVG
    assert status_of(precheck_input, 42, L) is RenderStatus.NOT_SVG
    assert status_of(precheck_input, "x" * 1_000_001, L) is RenderStatus.TOO_LARGE
    assert status_of(precheck_input, "é" * 600_000, L) is RenderStatus.TOO_LARGE  # 1.2 MB UTF-8
    # A str is already decoded: a legacy encoding declaration is rewritten to UTF-8.
    out = precheck_input('<?xml version="1.0" encoding="ISO-8859-1"?><svg>é</svg>', L)
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_precheck_svg_statuses():
    ok = precheck_svg(f'<svg {NS} width="10" height="20"><rect/></svg>'.encode(), L)
    assert (ok.width, ok.height, ok.nodes, ok.depth) == (10, 20, 2, 2)
    cases = {
        b"hello": RenderStatus.NOT_SVG,
        b"<html><body><svg/></body></html>": RenderStatus.NOT_SVG,
        b'<svg xmlns="http://example.com/not-svg"/>': RenderStatus.NOT_SVG,
        b"<svg><g></svg>": RenderStatus.RENDER_ERROR,
        b"<svg>&nbsp;</svg>": RenderStatus.RENDER_ERROR,
        b'<!DOCTYPE svg [<!ENTITY a "x">]><svg>&a;</svg>': RenderStatus.RENDER_ERROR,
        b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>':
            RenderStatus.RENDER_ERROR,
        b'<svg width="abc"/>': RenderStatus.BAD_SIZE,
        b'<svg width="50000" height="50000"/>': RenderStatus.TOO_LARGE,
    }
    for data, expected in cases.items():
        assert status_of(precheck_svg, data, L) is expected, data
    # A plain DOCTYPE with an external DTD is accepted (and never fetched).
    dtd = (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
           b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg width="1" height="1"/>')
    assert precheck_svg(dtd, L).width == 1


def use_bomb(levels: int, fan: int) -> bytes:
    body = '<rect id="l0" width="1" height="1"/>'
    for i in range(1, levels + 1):
        body += f'<g id="l{i}">' + f'<use xlink:href="#l{i - 1}"/>' * fan + "</g>"
    tail = f'</defs><use href="#l{levels}"/></svg>'
    return f'<svg {NS} width="9" height="9"><defs>{body}{tail}'.encode()


def test_use_amplification_is_too_large():
    assert precheck_svg(use_bomb(3, 10), L).nodes > 1000  # 10^3 leaves: fine
    with pytest.raises(PrecheckError) as ei:
        precheck_svg(use_bomb(9, 10), L)
    assert ei.value.status is RenderStatus.TOO_LARGE and "use" in ei.value.message
    lifted = RenderLimits(max_nodes=10**12)
    assert precheck_svg(use_bomb(9, 10), lifted).nodes > 10**9


def test_use_cycles_and_depth():
    cyc = f'<svg {NS} width="9" height="9"><g id="a"><use href="#b"/></g><g id="b">' \
          f'<use xlink:href="#a"/></g></svg>'
    assert status_of(precheck_svg, cyc.encode(), L) is RenderStatus.TOO_LARGE
    deep = f'<svg {NS} width="9" height="9">' + "<g>" * 100_000 + "</g>" * 100_000 + "</svg>"
    assert len(deep) < L.max_bytes
    assert status_of(precheck_svg, deep.encode(), L) is RenderStatus.TOO_LARGE
    chain = "".join(f'<g id="c{i}"><use href="#c{i + 1}"/></g>' for i in range(400))
    chained = f'<svg {NS} width="9" height="9"><defs>{chain}<rect id="c400"/></defs></svg>'
    assert status_of(precheck_svg, chained.encode(), L) is RenderStatus.TOO_LARGE
    shallow = f'<svg {NS} width="9" height="9">' + "<g>" * 200 + "</g>" * 200 + "</svg>"
    assert precheck_svg(shallow.encode(), L).depth == 201


def test_gzip():
    svg = f'<svg {NS} width="7" height="7"/>'.encode()
    assert precheck_svg(gzip.compress(svg), L).width == 7
    bomb = gzip.compress(b"<svg " + b" " * 50_000_000 + b"/>", 9)
    assert len(bomb) < 100_000
    assert status_of(precheck_svg, bomb, L) is RenderStatus.TOO_LARGE
    assert status_of(precheck_svg, b"\x1f\x8bnot gzip", L) is RenderStatus.RENDER_ERROR


def tiny_png(w: int, h: int) -> bytes:
    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    raw = zlib.compress(b"".join(b"\0" + b"\0" * ((w + 7) // 8) for _ in range(h)))
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_decode_data_uri():
    assert decode_data_uri("data:,a%20b", 100) == ("text/plain", b"a b")
    assert decode_data_uri("data:image/png;base64,aGVsbG8=", 100) == ("image/png", b"hello")
    assert decode_data_uri("data:image/png;base64,aGVsbG8", 100) == ("image/png", b"hello")
    assert decode_data_uri("data:;base64,aGVs bG8=", 100)[1] == b"hello"
    assert decode_data_uri("data:image/png;base64,aGVsbG8=", 3) is None
    assert decode_data_uri("http://x/", 100) is None


def test_fetcher_refuses_everything_but_inline_images():
    f = RefusingFetcher(max_bytes=1_000_000, max_image_pixels=100 * 100)
    for url in ("http://127.0.0.1:1/a.png", "https://example.com/a.png", "file:///etc/passwd",
                "ftp://x/y", "file:///tmp/relative.png", "gopher://x"):
        assert f(url, "image/*") == b""
        assert f(url, "image/svg+xml") == EMPTY_SVG
        assert f(url, "text/css") == b""
    png = tiny_png(10, 10)
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    assert f(uri, "image/*") == png
    big = "data:image/png;base64," + base64.b64encode(tiny_png(101, 100)).decode()
    assert f(big, "image/*") == b""  # over max_image_pixels: absent
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert f("data:image/svg+xml;base64," + base64.b64encode(svg).decode(), "image/*") == svg
    eps = "data:application/postscript;base64," + base64.b64encode(b"%!PS-Adobe-3.0 EPSF").decode()
    assert f(eps, "image/*") == b""  # Pillow would hand EPS to Ghostscript
    assert f("data:text/css,rect{fill:red}", "text/css") == b""
    assert len(f.refused) == 3 * 6 + 3


def test_limits_validation():
    for kw in ({"max_bytes": 0}, {"timeout": 0}, {"timeout": float("inf")},
               {"default_size": (0, 5)}, {"output_width": 0}, {"max_memory": 1000}):
        with pytest.raises(ValueError):
            RenderLimits(**kw)
    d = RenderLimits(output_width=64).to_dict()
    assert RenderLimits.from_dict(d) == RenderLimits(output_width=64)

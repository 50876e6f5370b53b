"""The worker pool: order, concurrency, timeouts, crashes, clean-up, fonts, CLI."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest
from click.testing import CliRunner
from PIL import Image

import vzgym.render.sandbox as sandbox_mod
from vzgym.render import (
    RenderLimits,
    RenderResult,
    RenderStatus,
    SVGRenderer,
    render_svg,
    shared_renderer,
)
from vzgym.render.command import render_command

NS = 'xmlns="http://www.w3.org/2000/svg"'


def rect_svg(w: int, h: int, color: str = "blue") -> str:
    rect = f'<rect width="{w}" height="{h}" fill="{color}"/>'
    return f'<svg {NS} width="{w}" height="{h}">{rect}</svg>'


def dash_bomb(segments: int = 4000) -> str:
    d = "M0 0 " + " ".join(f"L{(i * 37) % 500} {(i * 91) % 500}" for i in range(segments))
    return (f'<svg {NS} width="500" height="500"><path d="{d}" stroke="black" '
            'stroke-dasharray="0.01" fill="none"/></svg>')


def children() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def gone(pids: list[int], within: float = 5.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module", autouse=True)
def no_leftover_processes():
    # only what this module starts must be gone: earlier modules may leave their own
    # long-lived helpers (the shared render worker, the math-verify worker) running
    before = {p.pid for p in children()}
    yield
    shared_renderer().close()
    assert gone([p.pid for p in children() if p.pid not in before], within=3.0)


@pytest.fixture(scope="module")
def pool():
    with SVGRenderer(RenderLimits(timeout=1.0), workers=2) as r:
        yield r


def test_public_api_shape():
    res = RenderResult(RenderStatus.OK, b"x", "m")
    assert res.ok and res.width == 0 and res.seconds == 0.0
    assert not RenderResult(RenderStatus.EMPTY, None, "").ok
    assert RenderStatus("too_large") is RenderStatus.TOO_LARGE and RenderStatus.OK == "ok"
    lim = RenderLimits()
    assert (lim.max_bytes, lim.max_side, lim.max_area, lim.timeout, lim.default_size,
            lim.output_width) == (1_000_000, 2048, 2048 * 2048, 5.0, (512, 512), None)
    code = "import sys, vzgym.render; print('cairosvg' in sys.modules, 'cairocffi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_batch_keeps_order_and_uses_both_workers(pool):
    sizes = [(5 + i, 3 + (i * 7) % 20) for i in range(60)]
    svgs: list[object] = [rect_svg(w, h) for w, h in sizes]
    svgs[7] = ""
    svgs[13] = "not an svg"
    svgs[21] = b"<svg><g></svg>"
    cpu0 = {p: psutil.Process(p).cpu_times().user for p in pool.worker_pids()} \
        if pool.worker_pids() else {}
    results = pool.render_batch(svgs)
    assert len(results) == len(svgs)
    for i, ((w, h), res) in enumerate(zip(sizes, results, strict=True)):
        if i == 7:
            assert res.status is RenderStatus.EMPTY
        elif i == 13:
            assert res.status is RenderStatus.NOT_SVG
        elif i == 21:
            assert res.status is RenderStatus.RENDER_ERROR
        else:
            assert res.ok, res.message
            assert (res.width, res.height) == (w, h)
            assert Image.open(io.BytesIO(res.png)).size == (w, h)
    pids = pool.worker_pids()
    assert len(pids) == 2
    busy = [psutil.Process(p).cpu_times().user - cpu0.get(p, 0.0) for p in pids]
    assert all(b > 0 for b in busy), busy
    assert pool.render_batch([]) == []


def test_timeout_kills_and_replaces_only_that_worker(pool):
    pool.render_batch([rect_svg(4, 4)] * 4)  # both warm
    before = set(pool.worker_pids())
    t0 = time.monotonic()
    results = pool.render_batch([dash_bomb()] + [rect_svg(6, 6)] * 20)
    elapsed = time.monotonic() - t0
    assert results[0].status is RenderStatus.TIMEOUT
    assert 1.0 <= results[0].seconds < 2.0
    assert all(r.ok for r in results[1:])
    assert elapsed < 3.0
    after = set(pool.worker_pids())
    assert len(after) == 2 and len(before & after) == 1  # one killed and replaced
    assert gone(list(before - after), within=1.0)
    assert all(r.ok for r in pool.render_batch([rect_svg(3, 3)] * 4))


def test_two_bombs_in_one_batch(pool):
    results = pool.render_batch([dash_bomb(), rect_svg(2, 2), dash_bomb(), rect_svg(3, 3)])
    assert [r.status for r in results] == [RenderStatus.TIMEOUT, RenderStatus.OK,
                                           RenderStatus.TIMEOUT, RenderStatus.OK]
    assert len(pool.worker_pids()) == 2


def test_crashed_worker_gives_render_error_and_is_replaced():
    with SVGRenderer(RenderLimits(timeout=10), workers=1) as r:
        r.render(rect_svg(2, 2))
        (pid,) = r.worker_pids()
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()
        res = r.render(dash_bomb())
        assert res.status is RenderStatus.RENDER_ERROR and "crashed" in res.message
        assert res.seconds < 3
        assert r.render(rect_svg(2, 2)).ok
        assert r.worker_pids() != [pid]


def test_close_context_manager_and_finalizer():
    with SVGRenderer(workers=2) as r:
        r.render_batch([rect_svg(3, 3)] * 4)
        pids = r.worker_pids()
        assert len(pids) == 2
    assert gone(pids, within=2.0)
    with pytest.raises(RuntimeError):
        r.render(rect_svg(1, 1))
    r.close()  # idempotent

    r2 = SVGRenderer(workers=1)
    r2.render(rect_svg(2, 2))
    pids2 = r2.worker_pids()
    del r2
    gc.collect()
    assert gone(pids2, within=2.0)


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_worker_outlives_its_parent(how, tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        from vzgym.render import SVGRenderer
        r = SVGRenderer(workers=2)
        r.render_batch(['<svg width="2" height="2"/>'] * 4)
        print(*r.worker_pids(), flush=True)
        if {how!r} == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)  # no atexit, no finaliser
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2, proc.stderr
    assert gone(pids, within=3.0)


def test_startup_failure_is_reported_not_hung(monkeypatch):
    monkeypatch.setattr(sandbox_mod, "_BOOTSTRAP", "import sys; sys.exit(3)")
    with SVGRenderer(workers=2) as r:
        results = r.render_batch([rect_svg(2, 2)] * 3)
    assert all(x.status is RenderStatus.RENDER_ERROR for x in results)
    assert "start-up" in results[0].message


def test_output_width_and_default_size(pool):
    res = pool.render(f'<svg {NS} viewBox="0 0 400 200"><rect width="400" height="200"/></svg>')
    assert (res.width, res.height) == (400, 200)
    with SVGRenderer(RenderLimits(output_width=100, default_size=(64, 48)), workers=1) as r:
        a, b = r.render_batch([
            f'<svg {NS} viewBox="0 0 400 200"><rect width="400" height="200"/></svg>',
            f'<svg {NS}><rect width="10" height="10"/></svg>',
        ])
    assert (a.width, a.height) == (100, 50) and Image.open(io.BytesIO(a.png)).size == (100, 50)
    assert (b.width, b.height) == (100, 75)


TEXT = ('<svg xmlns="http://www.w3.org/2000/svg" width="240" height="60">'
        '<rect width="240" height="60" fill="white"/>'
        '<text x="8" y="40" font-size="28" font-family="{family}">Vision Zero 42</text></svg>')
# sha256 of the decoded RGB pixels of TEXT with family=sans-serif, DejaVu Sans 2.37,
# libcairo 1.16.0 (the pixels, not the PNG bytes: those also depend on the zlib build).
GOLDEN_CAIRO = "1.16.0"
GOLDEN_PIXELS_SHA256 = "621faa6f9a283eead6ed0f117e3cd35bf465b51b2eba22d9e44a9cf5f81faccb"


def test_fonts_are_pinned_and_deterministic():
    svgs = [TEXT.format(family=f) for f in ("sans-serif", "serif", "monospace", "Comic Sans MS")]
    with SVGRenderer(workers=1) as a:
        ra = a.render_batch(svgs)
    with SVGRenderer(workers=2) as b:  # a fresh pool
        rb = b.render_batch(svgs)
    assert all(r.ok for r in ra + rb)
    assert [r.png for r in ra] == [r.png for r in rb]  # same bytes across pools
    assert len({r.png for r in ra}) == 1  # every family maps to the one pinned font
    im = Image.open(io.BytesIO(ra[0].png))
    assert im.mode == "RGB"  # opaque: written without an alpha channel
    assert im.convert("L").getextrema()[0] < 50  # text was really drawn
    import cairocffi

    digest = hashlib.sha256(im.tobytes()).hexdigest()
    if cairocffi.cairo_version_string() == GOLDEN_CAIRO:
        assert digest == GOLDEN_PIXELS_SHA256, digest



def test_render_svg_one_shot():
    res = render_svg(rect_svg(5, 4))
    assert res.ok and (res.width, res.height) == (5, 4)
    res = render_svg(rect_svg(50, 50), RenderLimits(max_side=10))
    assert res.status is RenderStatus.TOO_LARGE
    assert render_svg(rect_svg(5, 4)).ok  # the per-call limits did not stick
    assert len(shared_renderer().worker_pids()) == 1


def test_cli_render_command(tmp_path):
    src = tmp_path / "in.svg"
    src.write_text(rect_svg(12, 8, "red"))
    out = tmp_path / "out.png"
    res = CliRunner().invoke(render_command, [str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok:")
    assert Image.open(out).size == (12, 8)
    res = CliRunner().invoke(render_command, [str(src), "-o", str(out), "--width", "24"])
    assert res.exit_code == 0 and Image.open(out).size == (24, 16)

    big = tmp_path / "big.svg"
    big.write_text(rect_svg(50_000, 50_000))
    res = CliRunner().invoke(render_command, [str(big), "-o", str(tmp_path / "b.png")])
    assert res.exit_code == 1 and res.output.startswith("too_large:")
    assert not (tmp_path / "b.png").exists()
    res = CliRunner().invoke(render_command, [str(tmp_path / "missing.svg")])
    assert res.exit_code == 2
    assert render_command.name == "render"

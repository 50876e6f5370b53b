"""Chart pairs per second per core at 480x320, PNG encoding included (target >= 50).

Three ways to make the same pairs, measured in this run:

* ``sandbox``: what ``spy-charts`` does: both SVGs in one ``render_batch`` call of
  a one-worker :class:`vzgym.render.SVGRenderer` (cairosvg in a killable,
  resource-limited subprocess), PNGs decoded to PIL images;
* ``sandbox-stacked``: both charts stacked in one SVG of 480x640, one render,
  the PNG decoded and cut in two (one sandbox call per pair);
* ``in-process``: the baseline: ``cairosvg.svg2png`` in this process, no sandbox.

"Per core" is pairs per CPU-second: the CPU time of this process plus that of the
render worker (read with psutil), so the figure does not depend on how busy the
machine's other cores are.  Wall-clock rates are printed too.

Run: ``python plugins/spy-charts/benchmarks/bench_chart_pairs.py [--pairs N]``.
"""

from __future__ import annotations

import argparse
import io
import os
import time

import numpy as np
import psutil
from PIL import Image
from vzgym.render import SVGRenderer

from vzgym_spy_charts.data import sample_chart
from vzgym_spy_charts.edits import edit_chart
from vzgym_spy_charts.pair import make_chart_pair
from vzgym_spy_charts.svg import chart_svg

W, H = 480, 320
TARGET = 50.0


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        t = psutil.Process(pid).cpu_times()
        total += t.user + t.system
    return total


def _measure(make_one, n: int, worker_pids) -> tuple[float, float]:
    """Return (pairs per CPU-second, pairs per wall-second)."""
    pids = [os.getpid(), *worker_pids()]
    c0, t0 = _cpu(pids), time.perf_counter()
    for i in range(n):
        make_one(i)
    c1, t1 = _cpu(pids), time.perf_counter()
    return n / (c1 - c0), n / (t1 - t0)


def _decode(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as img:
        return img.convert("RGB")


def _stacked_svg(a: str, b: str) -> str:
    inner_a = a.replace('<svg xmlns="http://www.w3.org/2000/svg"', "<svg", 1)
    inner_b = b.replace('<svg xmlns="http://www.w3.org/2000/svg"', f'<svg y="{H}"', 1)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{2 * H}">'
        f"{inner_a}{inner_b}</svg>"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200)
    args = ap.parse_args()
    n = args.pairs

    def charts(i: int):
        rng = np.random.default_rng(i)
        chart = sample_chart(rng)
        edited, _, _ = edit_chart(rng, chart)
        return chart_svg(chart, W, H), chart_svg(edited, W, H)

    with SVGRenderer(workers=1) as renderer:
        make_chart_pair(np.random.default_rng(0), renderer=renderer)  # start the worker

        def sandbox(i: int) -> None:
            make_chart_pair(np.random.default_rng(i), width=W, height=H, renderer=renderer).images()

        def stacked(i: int) -> None:
            a, b = charts(i)
            (res,) = renderer.render_batch([_stacked_svg(a, b)])
            assert res.ok, res.message
            img = _decode(res.png)
            img.crop((0, 0, W, H)), img.crop((0, H, W, 2 * H))

        results = {
            "sandbox": _measure(sandbox, n, renderer.worker_pids),
            "sandbox-stacked": _measure(stacked, n, renderer.worker_pids),
        }

    import cairosvg

    def in_process(i: int) -> None:
        for svg in charts(i):
            _decode(cairosvg.svg2png(bytestring=svg.encode()))

    in_process(0)
    results["in-process"] = _measure(in_process, n, list)
    base = results["in-process"][0]
    load = os.getloadavg()[0]
    print(
        f"chart pairs at {W}x{H}, PNG encoding and decoding included ({n} pairs each; "
        f"load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(f"{'path':18s} {'pairs/CPU-s':>12s} {'pairs/wall-s':>13s} {'vs in-process':>14s}")
    for name, (per_cpu, per_wall) in results.items():
        print(f"{name:18s} {per_cpu:12.1f} {per_wall:13.1f} {per_cpu / base:13.2f}x")
    verdict = "meets" if results["sandbox"][0] >= TARGET else "MISSES"
    print(
        f"spy-charts path (sandbox): {results['sandbox'][0]:.1f} pairs/CPU-s, "
        f"{verdict} the target of {TARGET:.0f}"
    )


if __name__ == "__main__":
    main()

"""Sandboxed render throughput vs plain in-process cairosvg, and the timeout path.

Usage::

    python benchmarks/bench_render.py [--n 200] [--repeat 3] [--workers N]
        [--corpus ../shared/corpora/resvg-tests]

1. Throughput: the same ``--n`` SVGs (every k-th file of the sorted resvg-tests corpus,
   or generated MM-Zero-like SVGs if the corpus is absent) rendered by plain in-process
   ``cairosvg.svg2png`` (one core) and by ``SVGRenderer.render_batch`` (warm pool);
   best of ``--repeat``. Prints the ratio sandbox/plain (target <= 1.25), the cold
   time including worker start-up, and the workers' CPU time / wall time (cores used).
2. Timeout path: an exponential ``<use>`` bomb with ``max_nodes`` lifted so that it
   really reaches cairosvg (which needs ~13 s for it), a dash-stroking bomb that spins in
   C, and the same ``<use>`` bomb under default limits (refused by the pre-check): time
   until the result, and until the replacement worker is ready again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vzgym.render import RenderLimits, RenderStatus, SVGRenderer  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "resvg-tests"


def generated(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        shapes = "".join(
            f'<circle cx="{(i * 7 + k * 31) % 256}" cy="{(k * 53) % 256}" r="{5 + k % 20}" '
            f'fill="#{(i * 40 + k * 9) % 0xFFFFFF:06x}" opacity="0.7"/>'
            for k in range(30)
        )
        out.append(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" '
            f'viewBox="0 0 256 256"><rect width="256" height="256" fill="#eee"/>{shapes}'
            f'<text x="10" y="240" font-size="20">item {i}</text></svg>'.encode()
        )
    return out


def corpus_sample(corpus: Path, n: int) -> list[bytes]:
    files = sorted(corpus.rglob("*.svg"))
    if len(files) < n:
        return []
    step = len(files) / n
    return [files[int(i * step)].read_bytes() for i in range(n)]


def use_bomb(levels: int = 9, fan: int = 10) -> str:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100" height="100"><defs><rect id="l0" width="1" height="1"/>'
    ]
    for i in range(1, levels + 1):
        uses = "".join(f'<use xlink:href="#l{i - 1}"/>' for _ in range(fan))
        parts.append(f'<g id="l{i}">{uses}</g>')
    parts.append(f'</defs><use xlink:href="#l{levels}"/></svg>')
    return "".join(parts)


def dash_bomb(segments: int = 4000) -> str:
    d = "M0 0 " + " ".join(f"L{(i * 37) % 500} {(i * 91) % 500}" for i in range(segments))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500">'
        f'<path d="{d}" stroke="black" stroke-dasharray="0.01" fill="none"/></svg>'
    )


def plain_pass(svgs: list[bytes]) -> tuple[float, int, float]:
    """Return (wall seconds, number ok, CPU seconds) of rendering in this process."""
    import cairosvg

    ok = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for s in svgs:
        try:
            cairosvg.svg2png(bytestring=s)
            ok += 1
        except Exception:
            pass
    return time.perf_counter() - t0, ok, time.process_time() - c0


def worker_cpu(r: SVGRenderer) -> float:
    import psutil

    total = 0.0
    for pid in r.worker_pids():
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def wait_ready(r: SVGRenderer) -> float:
    t0 = time.perf_counter()
    r.render_batch(['<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>']
                   * r.n_workers)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = ap.parse_args()

    svgs = corpus_sample(args.corpus, args.n)
    source = f"every k-th of {args.corpus.name}"
    if not svgs:
        svgs, source = generated(args.n), "generated"
    print(f"== throughput: {len(svgs)} SVGs ({source}), {sum(map(len, svgs)) / 1e3:.0f} kB")

    plain_pass(svgs[:5])  # import + warm caches outside the timing
    t0 = time.perf_counter()
    with SVGRenderer(workers=args.workers) as r:
        cold_res = r.render_batch(svgs)
        cold = time.perf_counter() - t0
        n_workers = r.n_workers
        # Interleave plain and sandbox passes so background load hits both alike.
        plain_ts, warm, ratios, cores, cpu_ratios = [], [], [], [], []
        for _ in range(args.repeat):
            pt, n_plain_ok, pcpu = plain_pass(svgs)
            cpu0, pc0 = worker_cpu(r), time.process_time()
            t1 = time.perf_counter()
            res = r.render_batch(svgs)
            st = time.perf_counter() - t1
            wcpu = worker_cpu(r) - cpu0
            cores.append(wcpu / st)
            cpu_ratios.append((wcpu + time.process_time() - pc0) / pcpu)
            plain_ts.append(pt)
            warm.append(st)
            ratios.append(st / pt)
    plain_t, warm_t = min(plain_ts), min(warm)
    n_ok = sum(x.status is RenderStatus.OK for x in res)
    print(f"plain cairosvg.svg2png, in-process: {plain_t:.3f} s  "
          f"({len(svgs) / plain_t:.0f}/s, {n_plain_ok} ok)")
    print(f"sandbox ({n_workers} workers), cold incl. start-up: {cold:.3f} s "
          f"({sum(x.ok for x in cold_res)} ok)")
    print(f"sandbox ({n_workers} workers), warm: {warm_t:.3f} s ({len(svgs) / warm_t:.0f}/s, "
          f"{n_ok} ok)")
    print(f"worker CPU / wall during warm passes: {max(cores):.2f} cores (best pass)")
    print(f"RATIO sandbox/plain (warm, best/best): {warm_t / plain_t:.3f}  (target <= 1.25); "
          f"paired passes: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"RATIO sandbox/plain (cold, incl. worker start-up): {cold / plain_t:.3f}")
    print(f"CPU-time ratio (workers + caller) / plain, load-independent overhead: "
          f"{min(cpu_ratios):.3f} best, {sorted(cpu_ratios)[len(cpu_ratios) // 2]:.3f} median")

    with SVGRenderer(workers=1) as r1:
        r1.render_batch(svgs[:2])
        t1 = time.perf_counter()
        r1.render_batch(svgs)
        one = time.perf_counter() - t1
    print(f"sandbox (1 worker), warm: {one:.3f} s -> per-SVG overhead vs plain "
          f"{(one - plain_t) / len(svgs) * 1e3:+.2f} ms (ratio {one / plain_t:.3f})")

    print("== timeout path")
    for name, svg, limits in (
        ("<use> bomb 10^9, max_nodes lifted", use_bomb(), RenderLimits(max_nodes=10**12)),
        ("dash bomb (C code)", dash_bomb(), RenderLimits()),
        ("<use> bomb 10^9, default limits", use_bomb(), RenderLimits()),
    ):
        with SVGRenderer(limits, workers=1) as r:
            wait_ready(r)
            pid0 = r.worker_pids()
            t0 = time.perf_counter()
            res = r.render(svg)
            t_res = time.perf_counter() - t0
            t_ready = wait_ready(r)
            pid1 = r.worker_pids()
        print(f"{name}: {res.status.value} after {t_res:.3f} s (timeout {limits.timeout:g} s, "
              f"kill latency {t_res - limits.timeout:+.3f} s); replacement ready "
              f"{t_ready:.3f} s later; worker replaced: {pid0 != pid1}")


if __name__ == "__main__":
    main()

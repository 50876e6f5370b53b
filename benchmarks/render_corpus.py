"""Render the whole resvg-tests corpus through the sandbox; print counts per status.

Usage::

    python benchmarks/render_corpus.py [--corpus ../shared/corpora/resvg-tests]
        [--workers N] [--timeout S] [--show STATUS ...] [--compare-plain]

Prints the number of files per status, the wall time, renders/s, the slowest files and
that no worker process is left afterwards (exit code 1 if one is). With
``--compare-plain`` it also renders every file with plain in-process
``cairosvg.svg2png`` (default, non-unsafe settings; in a child process with a timeout
so a hang cannot stop the run) and counts how many ok/failed verdicts differ.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vzgym.render import RenderLimits, RenderStatus, SVGRenderer  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "resvg-tests"


def _children() -> list[int]:
    try:
        import psutil

        return [p.pid for p in psutil.Process().children(recursive=True)]
    except ImportError:  # /proc fallback
        me = str(os.getpid())
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] == me:
                            out.append(int(d))
                except OSError:
                    pass
        return out


def _plain_worker(paths: list[str], q: object) -> None:
    import cairosvg

    for p in paths:
        try:
            cairosvg.svg2png(bytestring=Path(p).read_bytes())
            q.put((p, True))  # type: ignore[attr-defined]
        except Exception:
            q.put((p, False))  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=RenderLimits().timeout)
    ap.add_argument("--show", nargs="*", default=[], help="statuses whose files to list")
    ap.add_argument("--compare-plain", action="store_true")
    args = ap.parse_args()

    files = sorted(args.corpus.rglob("*.svg"))
    if not files:
        print(f"no SVG files under {args.corpus}", file=sys.stderr)
        return 2
    data = [f.read_bytes() for f in files]
    limits = RenderLimits(timeout=args.timeout)
    t0 = time.perf_counter()
    with SVGRenderer(limits, workers=args.workers) as r:
        n_workers = r.n_workers
        results = r.render_batch(data)
    wall = time.perf_counter() - t0
    left = _children()

    counts = collections.Counter(res.status.value for res in results)
    print(f"corpus: {args.corpus} ({len(files)} SVGs), workers={n_workers}, "
          f"timeout={args.timeout:g}s")
    for status in RenderStatus:
        print(f"  {status.value:<13}{counts.get(status.value, 0):>6}")
    print(f"wall time: {wall:.2f} s ({len(files) / wall:.1f} SVG/s, incl. worker start-up)")
    slow = sorted(zip(results, files, strict=True), key=lambda rf: -rf[0].seconds)[:5]
    print("slowest: " + ", ".join(f"{f.relative_to(args.corpus)} {res.seconds:.2f}s"
                                  for res, f in slow))
    for status in args.show:
        for res, f in zip(results, files, strict=True):
            if res.status.value == status:
                print(f"  [{status}] {f.relative_to(args.corpus)}: {res.message[:150]}")

    if args.compare_plain:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        plain: dict[str, bool] = {}
        todo = [str(f) for f in files]
        while todo:
            q = ctx.Queue()
            p = ctx.Process(target=_plain_worker, args=(todo, q))
            p.start()
            while True:
                try:
                    path, ok = q.get(timeout=args.timeout * 2)
                    plain[path] = ok
                    if len(plain) == len(files) or path == todo[-1]:
                        break
                except Exception:  # hang or crash: count as failure, skip it
                    done = set(plain)
                    nxt = next(t for t in todo if t not in done)
                    plain[nxt] = False
                    break
            p.kill()
            p.join()
            todo = [t for t in todo if t not in plain]
        diff = [(f, res) for f, res in zip(files, results, strict=True)
                if plain[str(f)] != (res.status in (RenderStatus.OK, RenderStatus.EMPTY))]
        print(f"plain cairosvg ok: {sum(plain.values())}/{len(files)}; verdicts differing "
              f"from the sandbox (ok|empty vs not): {len(diff)}")
        for f, res in diff[:40]:
            print(f"  {f.relative_to(args.corpus)}: plain={'ok' if plain[str(f)] else 'error'} "
                  f"sandbox={res.status.value} {res.message[:100]}")

    print(f"workers left after close(): {len(left)}" + (f" {left}" if left else ""))
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: CLEVR-like spy image pairs per second on one core.

A pair = sample a scene, edit it, render original + modified (480x320).  PNG
encoding of both images is timed separately.  Target: >= 50 pairs/s per core.

Run:  python benchmarks/bench_clevr_pairs.py [--pairs N] [--seed S] [--kind KIND]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vzgym.envs.clevr import EDIT_KINDS, make_pair  # noqa: E402

TARGET_PAIRS_PER_S = 50.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", default="replace", choices=EDIT_KINDS)
    ap.add_argument("--num-changes", type=int, default=2)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=320)
    args = ap.parse_args()
    # pin to one core where possible, so "per core" is honest
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass

    rng = np.random.default_rng(args.seed)
    for _ in range(5):  # warm-up (imports, first caches)
        make_pair(rng, edit_kind=args.kind, num_changes=args.num_changes,
                  width=args.width, height=args.height)

    rng = np.random.default_rng(args.seed + 1)
    pairs = []
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.pairs):
        pairs.append(make_pair(rng, edit_kind=args.kind, num_changes=args.num_changes,
                               width=args.width, height=args.height))
    wall_pairs = time.perf_counter() - t0
    t_pairs = time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    n_bytes = 0
    for p in pairs:
        a, b = p.png_bytes()
        n_bytes += len(a) + len(b)
    wall_png = time.perf_counter() - t0
    t_png = time.process_time() - c0

    n = args.pairs
    pps = n / t_pairs
    pps_png = n / (t_pairs + t_png)
    objs = np.mean([len(p.original.objects) for p in pairs])
    print(f"clevr pair benchmark: {n} pairs, {args.width}x{args.height}, kind={args.kind}, "
          f"num_changes={args.num_changes}, mean objects={objs:.1f}, 1 process")
    print("  (times are CPU seconds of this single-threaded process, i.e. per core; wall "
          f"clock: {1e3 * wall_pairs / n:.2f} + {1e3 * wall_png / n:.2f} ms/pair)")
    print(f"  scene+edit+render (2 images): {1e3 * t_pairs / n:7.2f} ms/pair "
          f"-> {pps:7.1f} pairs/s/core")
    print(f"  PNG encode (2 images)       : {1e3 * t_png / n:7.2f} ms/pair "
          f"({n_bytes / n / 2 / 1024:.0f} KiB/image)")
    print(f"  incl. PNG encode            : {1e3 * (t_pairs + t_png) / n:7.2f} ms/pair "
          f"-> {pps_png:7.1f} pairs/s/core")
    print(f"  target {TARGET_PAIRS_PER_S:.0f} pairs/s/core: ratio {pps / TARGET_PAIRS_PER_S:.2f}x "
          f"(render only), {pps_png / TARGET_PAIRS_PER_S:.2f}x (incl. PNG)")


if __name__ == "__main__":
    main()

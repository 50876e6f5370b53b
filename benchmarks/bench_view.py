"""Benchmark: ``vzgym view`` on a 10,000-turn run — report build time and page load in Chromium.

Synthesizes a run dir of real spy-clevr games (scripted bots, the real rollout
runner and trajectory writer, real CLEVR images): ``STEPS`` folders
``rollouts/step_XXXXXX`` of 23 games x 4 copies (1,012 turns each), plus an
``advantages.json`` per step (reward minus its group/role/phase mean, as
group normalisation would give).  Then measures, in the same run:

* build: ``build_report(run)`` against a baseline of reading every Parquet shard
  with pyarrow (the least any report must do).  Target: <= 10 s per 10,000 turns.
* page load: Debian's Chromium (Playwright) opening the report until the first
  page of games is drawn and the ``load`` event fired, against a baseline of
  opening a blank page.  Target: < 2 s.  Also times switching to the GRPO-groups
  tab and a text search over all turns.

Run:  python benchmarks/bench_view.py [--steps 10] [--keep DIR]
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vzgym.agents.base import SamplingParams  # noqa: E402
from vzgym.rollout import RolloutConfig, run_rollouts  # noqa: E402
from vzgym.rollout.seating import build_policy_map  # noqa: E402
from vzgym.rollout.writer import read_trajectories  # noqa: E402
from vzgym.view.report import build_report  # noqa: E402

BUILD_TARGET_S_PER_10K = 10.0
LOAD_TARGET_S = 2.0
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def synthesize(run: Path, steps: int) -> int:
    """Write ``steps`` rollout folders of real scripted spy games; return the turn count."""
    turns = 0
    for step in range(steps):
        out = run / "rollouts" / f"step_{step:06d}"
        policies = build_policy_map("spy-clevr", "scripted", {}, (), {})
        config = RolloutConfig(
            "spy-clevr", {}, games=23, group=4, seed=1000 * step,
            sampling=SamplingParams(1.0, 1.0, 64, 1, step),
        )  # fmt: skip
        summary = run_rollouts(config, policies, str(out), progress=False)
        (out / "DONE.json").write_text(json.dumps(summary.to_dict(), default=str))
        table = read_trajectories(out).to_pylist()
        turns += len(table)
        groups: dict[tuple, list[float]] = defaultdict(list)
        for r in table:
            groups[(r["group_id"], r["role"], r["phase"])].append(r["reward"])
        rows = [
            [r["episode_id"], r["turn"], r["agent"],
             r["reward"] - statistics.fmean(groups[(r["group_id"], r["role"], r["phase"])])]
            for r in table
        ]  # fmt: skip
        (out / "advantages.json").write_text(
            json.dumps({"columns": ["episode_id", "turn", "agent", "advantage"], "rows": rows})
        )
    return turns


def time_build(run: Path, repeats: int) -> tuple[float, float, int]:
    """Best build time, best baseline (read all shards) time, turns in the report."""
    shards = sorted(run.glob("rollouts/step_*"))
    build, base, n = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for folder in shards:
            read_trajectories(folder)
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        stats = build_report(run)
        build.append(time.perf_counter() - t0)
        n = stats.turns
        if stats.problems:
            print("problems:", stats.problems)
    return min(build), min(base), n


def time_page(report: Path, repeats: int) -> dict[str, float]:
    """Best times (s) in Chromium: blank page, report load, groups tab, a search."""
    from playwright.sync_api import sync_playwright

    blank = report.parent / "blank.html"
    blank.write_text("<!doctype html><title>blank</title><body data-ready=1>blank</body>")
    times: dict[str, list[float]] = defaultdict(list)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for _ in range(repeats):
            for name, path in (("blank", blank), ("load", report)):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                t0 = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load")
                page.wait_for_selector("body[data-ready='1']")
                times[name].append(time.perf_counter() - t0)
                if name == "load":
                    assert page.locator("section.game").count() > 0
                    t0 = time.perf_counter()
                    page.click("button[data-tab='groups']")
                    page.wait_for_selector("section.group")
                    times["groups tab"].append(time.perf_counter() - t0)
                    before = page.inner_text(".pager .count")
                    t0 = time.perf_counter()
                    page.fill("#f-q", "red cube")
                    page.wait_for_function(
                        "b => document.querySelector('.pager .count').innerText !== b",
                        arg=before,
                        timeout=10000,
                    )
                    times["search (incl. 200 ms debounce)"].append(time.perf_counter() - t0)
                page.close()
        browser.close()
    return {k: min(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10, help="rollout folders of 1,012 turns")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="write the run here and keep it")
    args = ap.parse_args()
    tmp = None
    if args.keep is None:
        tmp = tempfile.mkdtemp(prefix="bench-view-")
        run = Path(tmp) / "run"
    else:
        run = args.keep
        shutil.rmtree(run, ignore_errors=True)
    try:
        t0 = time.perf_counter()
        turns = synthesize(run, args.steps)
        print(f"synthesized {turns} turns in {time.perf_counter() - t0:.1f} s ({run})")
        build, base, n = time_build(run, args.repeats)
        report = run / "view.html"
        size_mb = report.stat().st_size / 1e6
        per_10k = build * 10_000 / max(n, 1)
        print(
            f"build: {build:.2f} s for {n} turns = {per_10k:.2f} s per 10,000 turns "
            f"(target <= {BUILD_TARGET_S_PER_10K:.0f} s); report {size_mb:.1f} MB"
        )
        print(
            f"  baseline (read the Parquet shards only): {base:.2f} s; "
            f"build / baseline = {build / base:.1f}x"
        )
        page = time_page(report, args.repeats)
        ratio = page["load"] / page["blank"]
        print(
            f"page load: {page['load']:.2f} s (target < {LOAD_TARGET_S:.0f} s); "
            f"blank page {page['blank']:.2f} s; load / blank = {ratio:.1f}x"
        )
        for key in ("groups tab", "search (incl. 200 ms debounce)"):
            print(f"  {key}: {page[key]:.2f} s")
        ok = per_10k <= BUILD_TARGET_S_PER_10K and page["load"] < LOAD_TARGET_S
        print("PASS" if ok else "FAIL: a target was missed")
        if not ok:
            sys.exit(1)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

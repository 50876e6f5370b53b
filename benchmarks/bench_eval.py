"""Eval throughput: ``vzgym eval`` (tiny vs tiny, seats swapped) against a plain batched
rollout of the same number of spy games with the same model, one run.

The eval plays every seed once per seating (two runners, A and B in separate
model calls) and commits records and trajectories per batch; the rollout plays
all games in one runner with one policy.  Prints games/s of both and the ratio
(target: eval >= 0.5x the rollout's games/s: the seat swap and the bookkeeping
may cost at most half).  Model loading is outside both timings.  Each mode runs
``repeats`` times, interleaved; the best time of each is kept.

Run: python benchmarks/bench_eval.py [games] [max_new_tokens] [repeats]
"""

from __future__ import annotations

import sys
import tempfile
import time

from vzgym.agents.base import SamplingParams
from vzgym.agents.hf_policy import HFPolicy
from vzgym.eval import EVAL_SEED_BASE, EvalConfig, run_eval
from vzgym.rollout import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy, TrajectoryWriter


def main() -> None:
    """Measure and print both throughputs and their ratio."""
    games = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    tokens = int(sys.argv[2]) if len(sys.argv) > 2 else 24
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    policy = HFPolicy()
    sampling = SamplingParams(max_new_tokens=tokens, seed=0)
    best_eval = best_roll = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            cfg = EvalConfig("spy-clevr", policy, policy, games=games, sampling=sampling,
                             out_dir=out, labels=("a", "b"))  # fmt: skip
            summary = run_eval(cfg).summary
            best_eval = min(best_eval, time.perf_counter() - started)
            assert summary["games_recorded"] == games, summary["games_recorded"]
        with tempfile.TemporaryDirectory() as out:
            config = RolloutConfig("spy-clevr", games=games, group=1, seed=EVAL_SEED_BASE,
                                   sampling=sampling)  # fmt: skip
            started = time.perf_counter()
            with TrajectoryWriter(out) as writer:
                RolloutRunner(config, PolicyMap(SeatPolicy("tiny", policy)), writer).run()
            best_roll = min(best_roll, time.perf_counter() - started)
    eval_rate, roll_rate = games / best_eval, games / best_roll
    ratio = eval_rate / roll_rate
    print(f"eval    (tiny vs tiny, {games} games, seats swapped): {eval_rate:.2f} games/s")
    print(f"rollout (tiny, {games} games, one policy):            {roll_rate:.2f} games/s")
    print(f"eval / rollout throughput: {ratio:.2f}x (target >= 0.5x) "
          f"{'OK' if ratio >= 0.5 else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()

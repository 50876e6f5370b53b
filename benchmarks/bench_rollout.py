"""Batched vs sequential spy rollouts with the built-in tiny model, same seeds, one run.

* 32 spy games played at once (one model call per tick for every pending prompt)
  vs the same 32 games played one after another (one call per turn): prints both
  wall times and the speed-up (target >= 5x).
* Time outside the model per agent turn (env, parsing, rewards, writing Parquet
  and PNGs; images made once per group): prints ms/turn (target <= 5 ms) and its
  share of wall time.

Run: python benchmarks/bench_rollout.py [games] [max_new_tokens]
(set VZGYM_BENCH_MODEL=DIR to measure another local model instead of the tiny one)
"""

from __future__ import annotations

import sys
import tempfile
import time

from vzgym.agents.base import SamplingParams
from vzgym.agents.hf_policy import HFPolicy
from vzgym.rollout import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy, TrajectoryWriter


def run(policy: HFPolicy, games: int, group: int, seed: int, tokens: int, out: str | None):
    config = RolloutConfig(
        "spy-clevr",
        games=games,
        group=group,
        seed=seed,
        sampling=SamplingParams(max_new_tokens=tokens, seed=seed),
    )
    writer = TrajectoryWriter(out) if out else None
    start = time.perf_counter()
    summary, _ = RolloutRunner(config, PolicyMap(SeatPolicy("tiny", policy)), writer).run()
    if writer is not None:
        writer.close()
    return time.perf_counter() - start, summary


def main(games: int = 32, tokens: int = 32) -> None:
    import os

    policy = HFPolicy(os.environ.get("VZGYM_BENCH_MODEL"))  # default: the built-in tiny model
    run(policy, 1, 1, 999, tokens, None)  # warm-up
    with tempfile.TemporaryDirectory() as out:
        batched_s, batched = run(policy, games, 1, 0, tokens, out)
    sequential_s = 0.0
    seq_turns = 0
    for game in range(games):
        seconds, summary = run(policy, 1, 1, game, tokens, None)
        sequential_s += seconds
        seq_turns += summary.turns
    print(f"spy-clevr, {games} games x 4 players, 2 clue rounds, max_new_tokens={tokens}")
    print(
        f"batched:    {batched_s:7.2f} s  ({batched.model_calls} model calls, "
        f"{batched.turns} turns, {batched.tokens_per_second:.0f} tok/s)"
    )
    print(f"sequential: {sequential_s:7.2f} s  ({seq_turns} turns)")
    print(f"speed-up batched vs sequential: {sequential_s / batched_s:.1f}x (target >= 5x)")
    outside = batched.overhead_ms_per_turn
    share = (batched.wall_seconds - batched.model_seconds) / batched.wall_seconds
    print(
        f"outside the model: {outside:.2f} ms/turn (target <= 5 ms), "
        f"{100 * share:.1f}% of wall time (env, parsing, rewards, Parquet + PNG writing)"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)

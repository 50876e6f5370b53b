"""Batched vs sequential spy rollouts with the built-in tiny model, same seeds, one run.

* 32 spy games played at once (one model call per tick for every pending prompt)
  vs the same 32 games played one after another (one call per turn; the voters of
  one game share a call): prints both wall times and the speed-up (target >= 5x).
  Both modes do the same work, writing Parquet + PNG trajectories included.
* Time outside the model per agent turn (env, parsing, rewards, writing Parquet
  and PNGs; images made once per group): prints ms/turn (target <= 5 ms) and its
  share of wall time.
* An Amdahl check of the 5x target on this machine: the model time the batched
  run could spend at most to be 5x faster (sequential / 5 minus its time outside
  the model) against the cost of the batched run's prefill forward passes alone
  (the same batches, one forward each, no sampling, no decoding).  When the
  prefill alone exceeds the budget no amount of decoding or sampling
  optimisation reaches 5x on this hardware.  The same forward passes without
  the system message every prompt of a batch shares give a lower bound on a
  prefix cache's prefill (it would still attend to the cached prefix).

Each mode runs ``repeats`` times, interleaved; the best time of each is kept.

Side by side with vLLM (``--vllm``): the same batched games, same seeds, played with the
``tiny`` model through transformers and through vLLM's CPU build (a worker in
``.venv-vllm``), interleaved in one run, best of ``repeats`` each: wall time, generated
tokens/s, and the vLLM/hf speed-up (target >= 3x).  Engine start-up is not timed.

Run: python benchmarks/bench_rollout.py [--vllm] [games] [max_new_tokens] [repeats]
(set VZGYM_BENCH_POLICY to a policy spec to measure another model or backend,
e.g. ``hf:/models/Qwen2.5-VL-3B-Instruct`` or, on a GPU, ``vllm:/models/...``;
VZGYM_BENCH_MODEL=DIR is short for ``hf:DIR``.  The prefill check runs for
``hf``/``tiny`` policies only.)
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from typing import Any

import torch

from vzgym.agents.base import SamplingParams
from vzgym.agents.hf_policy import HFPolicy
from vzgym.agents.spec import make_policy
from vzgym.rollout import PolicyMap, RolloutConfig, RolloutRunner, SeatPolicy, TrajectoryWriter


def run(policy: Any, games: int, seed: int, tokens: int, writer: TrajectoryWriter | None):
    """Play ``games`` spy games at once; return (wall seconds, summary)."""
    config = RolloutConfig(
        "spy-clevr",
        games=games,
        group=1,
        seed=seed,
        sampling=SamplingParams(max_new_tokens=tokens, seed=seed),
    )
    start = time.perf_counter()
    summary, _ = RolloutRunner(config, PolicyMap(SeatPolicy("tiny", policy)), writer).run()
    return time.perf_counter() - start, summary


class RecordingPolicy:
    """Wraps a policy; keeps every batch it answered and, for HF models, the decode steps.

    ``calls[k]`` holds the observations of call ``k``, its completions and the
    seconds of each model forward pass after the first (the decode steps).
    """

    def __init__(self, policy: Any):
        self.policy = policy
        self.name = policy.name
        self.calls: list[dict[str, Any]] = []
        self._forwards: list[float] = []
        model = getattr(policy, "model", None)
        if model is not None:
            started: list[float] = []
            model.register_forward_pre_hook(lambda *_: started.append(time.perf_counter()))
            model.register_forward_hook(
                lambda *_: self._forwards.append(time.perf_counter() - started.pop())
            )

    def generate(self, observations: Any, sampling: SamplingParams | None = None) -> Any:
        """Answer the batch with the wrapped policy and record it."""
        self._forwards.clear()
        results = self.policy.generate(observations, sampling)
        self.calls.append(
            {
                "observations": list(observations),
                "completions": results,
                "decode_steps": list(self._forwards[1:]),
            }
        )
        return results


def decode_floor_seconds(calls: list[dict[str, Any]]) -> float:
    """A lower bound on decoding the calls' completions with their measured step cost.

    An engine that drops finished rows pays at least the per-row part of every
    step; a full-batch step times the mean completion length (minus the token
    the prefill yields) bounds that from below.
    """
    total = 0.0
    for call in calls:
        steps = call["decode_steps"]
        lengths = [len(c.token_ids) for comps in call["completions"] for c in comps]
        if steps and lengths:
            mean_len = sum(lengths) / len(lengths)
            total += (sum(steps) / len(steps)) * max(0.0, mean_len - 1)
    return total


@torch.no_grad()
def prefill_seconds(policy: HFPolicy, batches: list[list[Any]]) -> float:
    """Seconds of a forward pass over each batch's prompts (best of 2; no processing)."""
    total = 0.0
    with policy._threads():  # the same thread count generate uses
        for observations in batches:
            inputs = policy.prompt_inputs(observations)
            best = float("inf")
            for _ in range(2):  # best of two, like the rollout timings
                start = time.perf_counter()
                policy.model(**inputs, logits_to_keep=1)
                best = min(best, time.perf_counter() - start)
            total += best
    return total


def without_shared_system(observations: list[Any]) -> list[Any]:
    """The batch without its leading system message, when every prompt has the same one."""
    firsts = [obs.messages[0] if obs.messages else None for obs in observations]
    if not firsts or firsts[0] is None or firsts[0].get("role") != "system":
        return observations
    if any(first != firsts[0] for first in firsts):
        return observations
    return [dataclasses.replace(obs, messages=obs.messages[1:]) for obs in observations]


def main(games: int = 32, tokens: int = 32, repeats: int = 2) -> None:
    """Run both modes ``repeats`` times each (best time kept) and print the figures."""
    spec = os.environ.get("VZGYM_BENCH_POLICY") or (
        f"hf:{os.environ['VZGYM_BENCH_MODEL']}" if os.environ.get("VZGYM_BENCH_MODEL") else "tiny"
    )
    policy = make_policy(spec)
    recorder = RecordingPolicy(policy)
    run(policy, 1, 999, tokens, None)  # warm-up
    batched_s = sequential_s = float("inf")
    with tempfile.TemporaryDirectory() as out:
        for rep in range(max(1, repeats)):  # interleaved, so drifts in machine load hit both
            recorder.calls.clear()
            writer = TrajectoryWriter(os.path.join(out, f"batched-{rep}"))
            seconds, summary = run(recorder, games, 0, tokens, writer)
            writer.close()
            if seconds < batched_s:
                batched_s, batched = seconds, summary
            writer = TrajectoryWriter(os.path.join(out, f"sequential-{rep}"))
            total = 0.0
            seq_turns = seq_calls = 0
            for game in range(games):
                seconds, summary = run(policy, 1, game, tokens, writer)
                total += seconds
                seq_turns += summary.turns
                seq_calls += summary.model_calls
            writer.close()
            sequential_s = min(sequential_s, total)
    print(
        f"policy {spec}: spy-clevr, {games} games x 4 players, 2 clue rounds, "
        f"max_new_tokens={tokens}"
    )
    print(
        f"batched:    {batched_s:7.2f} s  ({batched.model_calls} model calls, "
        f"{batched.turns} turns, {batched.tokens_per_second:.0f} tok/s)"
    )
    print(f"sequential: {sequential_s:7.2f} s  ({seq_calls} model calls, {seq_turns} turns)")
    print(f"speed-up batched vs sequential: {sequential_s / batched_s:.1f}x (target >= 5x)")
    outside_s = batched.wall_seconds - batched.model_seconds
    print(
        f"outside the model: {batched.overhead_ms_per_turn:.2f} ms/turn (target <= 5 ms), "
        f"{100 * outside_s / batched.wall_seconds:.1f}% of wall time "
        "(env, parsing, rewards, Parquet + PNG writing)"
    )
    budget = sequential_s / 5 - outside_s
    if not isinstance(policy, HFPolicy):
        return
    batches = [call["observations"] for call in recorder.calls]
    prefill_s = prefill_seconds(policy, batches)
    suffix_s = prefill_seconds(policy, [without_shared_system(b) for b in batches])
    decode_s = decode_floor_seconds(recorder.calls)
    print(
        f"5x check: the batched model calls may take at most {budget:.2f} s "
        f"(sequential / 5 - time outside the model); they took {batched.model_seconds:.2f} s, "
        f"of which the prefill forward passes alone cost {prefill_s:.2f} s"
    )
    print(
        f"  the same passes without the system message all prompts share (a lower bound "
        f"for prefill with a prefix cache): {suffix_s:.2f} s"
    )
    floor = min(prefill_s, suffix_s) + decode_s
    print(
        f"  decoding the same completions, lower bound (mean length x measured step cost): "
        f"{decode_s:.2f} s; floor prefill + decode: {floor:.2f} s "
        f"= best possible speed-up {sequential_s / (outside_s + floor):.1f}x"
    )
    if floor > budget:
        print("  -> the model floor alone exceeds the budget: 5x is out of reach on this machine")


def compare_vllm(games: int = 32, tokens: int = 32, repeats: int = 2) -> None:
    """Batched rollouts of the same games and seeds: transformers vs vLLM (CPU build)."""
    from vzgym.agents.tiny_model import default_model_dir

    model_dir = default_model_dir()
    hf = make_policy(f"hf:{model_dir}")
    start = time.perf_counter()
    vllm = make_policy(f"vllm:{model_dir}")
    startup = time.perf_counter() - start
    best: dict[str, tuple[float, Any]] = {}
    try:
        for policy in (hf, vllm):
            run(policy, 1, 999, tokens, None)  # warm-up
        for _ in range(max(1, repeats)):  # interleaved, so drifts in machine load hit both
            for name, policy in (("hf", hf), ("vllm", vllm)):
                seconds, summary = run(policy, games, 0, tokens, None)
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, summary)
    finally:
        vllm.close()
    print(
        f"spy-clevr, {games} games x 4 players (same seeds), max_new_tokens={tokens}, "
        f"best of {repeats}; vLLM engine start-up {startup:.0f} s (not timed below)"
    )
    for name, (seconds, summary) in best.items():
        print(
            f"  {name:5s} batched: {seconds:7.2f} s wall, {summary.model_seconds:6.2f} s in "
            f"the model, {summary.model_calls} calls, {summary.generated_tokens} tokens, "
            f"{summary.tokens_per_second:.0f} tok/s"
        )
    speed = best["hf"][0] / best["vllm"][0]
    tok = best["vllm"][1].tokens_per_second / max(best["hf"][1].tokens_per_second, 1e-9)
    print(f"vLLM vs hf: {speed:.2f}x wall, {tok:.2f}x tok/s in the model (target >= 3x)")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--vllm":
        compare_vllm(*[int(a) for a in args[1:]])
    else:
        main(*[int(a) for a in args])

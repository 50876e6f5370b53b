"""Spy-episode env overhead per step with scripted bots, image generation excluded.

Prints env time per step (reset + step, parsing and rewards included; bots'
thinking excluded) and its ratio to the 1 ms target, and steps per second.
Run: python benchmarks/bench_spy_steps.py [episodes]
"""

from __future__ import annotations

import sys
import time

import vzgym
from vzgym.agents.scripted import ScriptedSpyPolicy

TARGET_MS = 1.0


def main(episodes: int = 300) -> None:
    env = vzgym.make("spy-clevr")
    env.reset(seed=0)
    pair = env._pair  # made once: image generation is measured in bench_clevr_pairs.py
    bot = ScriptedSpyPolicy()
    env_s = bot_s = 0.0
    steps = 0
    for seed in range(episodes):
        t = time.perf_counter()
        obs, _ = env.reset(seed=seed, options={"pair": pair})
        env_s += time.perf_counter() - t
        while obs:
            t = time.perf_counter()
            actions = {a: bot.act(o) for a, o in obs.items()}
            bot_s += time.perf_counter() - t
            t = time.perf_counter()
            obs, *_ = env.step(actions)
            env_s += time.perf_counter() - t
            steps += 1
    per_step_ms = 1000 * env_s / steps
    print(f"episodes={episodes} steps={steps} (4 players, 2 clue rounds + 1 vote step)")
    print(
        f"env overhead per step: {per_step_ms:.3f} ms  (target <= {TARGET_MS} ms, "
        f"ratio {per_step_ms / TARGET_MS:.2f}x of target)"
    )
    print(f"env steps per second: {steps / env_s:,.0f}")
    print(f"scripted bots per step: {1000 * bot_s / steps:.3f} ms (not counted above)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)

"""Local GRPO trainer on the tiny model: step time, peak memory, rollout vs update share.

Runs the default ``vzgym train --env ENV`` configuration for a few steps in a temp
folder and prints, per step, the rollout and update seconds, and at the end the
mean step time, the update/rollout ratio (the rollout is the baseline measured in
the same run) and the process's peak resident memory.
Run: python benchmarks/bench_train.py [env] [steps]
"""

from __future__ import annotations

import sys
import tempfile
import time

from vzgym.config import load_config
from vzgym.trainers.local import LocalGRPOTrainer


def main(env: str = "spy-clevr", steps: int = 4) -> None:
    config = load_config(
        None,
        [
            f"env.id={env}",
            f"trainer.steps={steps}",
            "logging.progress=false",
            "trainer.checkpoint_every=0",
        ],
    )
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        trainer = LocalGRPOTrainer(config, run_dir)
        setup = time.perf_counter() - start
        history = trainer.train()
    t = config.trainer
    print(
        f"{env}: {steps} steps x {t.games_per_step} games x {t.group_size} copies, "
        f"max_new_tokens={config.sampling.max_new_tokens}, setup {setup:.1f}s"
    )
    for i, h in enumerate(history):
        print(
            f"  step {i} [{h['phase']}]: rollout {h['rollout_seconds']:.2f}s, update "
            f"{h['update_seconds']:.2f}s, {h['samples']} samples, {h['tokens']} tokens"
        )
    roll = sum(h["rollout_seconds"] for h in history) / len(history)
    upd = sum(h["update_seconds"] for h in history) / len(history)
    print(
        f"mean step {roll + upd:.2f}s: rollout {100 * roll / (roll + upd):.0f}% / "
        f"update {100 * upd / (roll + upd):.0f}% (update/rollout ratio {upd / roll:.2f})"
    )
    print(f"peak RSS {history[-1]['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "spy-clevr",
        int(sys.argv[2]) if len(sys.argv) > 2 else 4,
    )

"""Local GRPO trainer on the tiny model: step time, peak memory, rollout vs update share.

Runs the default ``vzgym train --env ENV`` configuration for a few steps in a temp
folder and prints, per step, the rollout and update seconds, and at the end the
mean step time, the update/rollout ratio (the rollout is the baseline measured in
the same run) and the process's peak resident memory.
With ``--vllm`` the same run is made twice, the rollouts sampled by transformers
(``sampling.backend=hf``) and by vLLM's CPU build in ``.venv-vllm``
(``sampling.backend=vllm``, weights synced after every update), and the mean step
times and their ratio are printed (target: vLLM >= 2x faster end to end).  Engine
start-up is reported apart (it is paid once per run).
Run: python benchmarks/bench_train.py [--vllm] [env] [steps]
"""

from __future__ import annotations

import sys
import tempfile
import time

from vzgym.config import load_config
from vzgym.trainers.local import LocalGRPOTrainer


def main(env: str = "spy-clevr", steps: int = 4, backend: str = "hf") -> float:
    """Train ``steps`` steps with the rollout ``backend``; print and return the mean step time."""
    config = load_config(
        None,
        [
            f"env.id={env}",
            f"trainer.steps={steps}",
            "logging.progress=false",
            "trainer.checkpoint_every=0",
            f"sampling.backend={backend}",
        ],
    )
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        trainer = LocalGRPOTrainer(config, run_dir)
        setup = time.perf_counter() - start
        history = trainer.train()
    t = config.trainer
    print(
        f"[{backend}] {env}: {steps} steps x {t.games_per_step} games x {t.group_size} copies, "
        f"max_new_tokens={config.sampling.max_new_tokens}, setup {setup:.1f}s"
    )
    for i, h in enumerate(history):
        print(
            f"  step {i} [{h['phase']}]: rollout {h['rollout_seconds']:.2f}s, update "
            f"{h['update_seconds']:.2f}s, {h['samples']} samples, {h['tokens']} tokens"
            + (f", weight sync {h['train/weight_sync_seconds']:.2f}s" if backend == "vllm" else "")
        )
    roll = sum(h["rollout_seconds"] for h in history) / len(history)
    upd = sum(h["update_seconds"] for h in history) / len(history)
    print(
        f"mean step {roll + upd:.2f}s: rollout {100 * roll / (roll + upd):.0f}% / "
        f"update {100 * upd / (roll + upd):.0f}% (update/rollout ratio {upd / roll:.2f})"
    )
    print(f"peak RSS {history[-1]['peak_rss_mb']:.0f} MB (this process)")
    return roll + upd


if __name__ == "__main__":
    args = sys.argv[1:]
    vs_vllm = bool(args) and args[0] == "--vllm"
    args = args[1:] if vs_vllm else args
    env_id = args[0] if args else "spy-clevr"
    n_steps = int(args[1]) if len(args) > 1 else 4
    hf_step = main(env_id, n_steps, "hf")
    if vs_vllm:
        vllm_step = main(env_id, n_steps, "vllm")
        print(
            f"mean step: hf {hf_step:.2f}s, vllm {vllm_step:.2f}s -> "
            f"{hf_step / vllm_step:.2f}x (target >= 2x)"
        )

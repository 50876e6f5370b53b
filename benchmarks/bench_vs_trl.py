"""vzgym's local GRPO trainer side by side with TRL's ``GRPOTrainer``, in one run.

Same model (vzgym's tiny Qwen2.5-VL, random weights), same single-turn task
(``toy-color``: name the square's colour by letter; reward 0.5 for a letter, 1.0 for
the right one), same samples per step (``games`` prompts x ``group`` completions),
learning rate, steps, completion length, temperature, clipping (0.2 / 0.28), no KL,
and ``updates`` optimizer steps on each generated batch (vzgym: micro batches of
``samples / updates``; TRL: ``steps_per_generation``).  Each side runs in its own
child process (so peak memory is its own) and reports time per step, its peak
resident memory and the mean reward of the batches of the last ``tail`` steps;
every figure is repeated over ``seeds`` training seeds (mean and 95 % interval).

TRL lives only in the benchmark's own virtualenv (``bash benchmarks/setup_trl_venv.sh``
makes ``.venv-trl``); run this script with that venv's python:

    .venv-trl/bin/python benchmarks/bench_vs_trl.py --steps 40 --seeds 0 1 2

Targets (issue 14): vzgym's step time <= TRL's and its final reward >= TRL's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_vzgym(args: argparse.Namespace) -> dict:
    """vzgym's local trainer on toy-color; per-step seconds and batch rewards."""
    from vzgym.config import load_config
    from vzgym.trainers.local import LocalGRPOTrainer

    sets = [
        "env.id=toy-color",
        f"trainer.steps={args.steps}",
        f"trainer.lr={args.lr}",
        f"trainer.games_per_step={args.games}",
        f"trainer.group_size={args.group}",
        f"trainer.micro_batch_size={args.games * args.group // args.updates}",
        f"trainer.seed={args.seed}",
        f"sampling.max_new_tokens={args.max_new_tokens}",
        "sampling.temperature=1.0",
        "trainer.checkpoint_every=0",
        "logging.progress=false",
    ]
    config = load_config(None, sets)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = LocalGRPOTrainer(config, run_dir)
        steps = []
        for step in range(args.steps):
            t0 = time.perf_counter()
            metrics = trainer.train_step(step)
            trainer.scheduler.step()
            steps.append(
                {
                    "seconds": time.perf_counter() - t0,
                    "reward": metrics["reward_mean"],
                    "rollout_s": metrics["rollout_seconds"],
                    "update_s": metrics["update_seconds"],
                }
            )
    return {"steps": steps, "peak_mb": _peak_mb()}


def _toy_dataset(n: int, seed: int) -> list[dict]:
    import vzgym

    env = vzgym.make("toy-color")
    rows = []
    for i in range(n):
        obs, _ = env.reset(seed=seed * 1_000_003 + i)
        o = obs["player"]
        text = next(p["text"] for p in o.messages[0]["content"] if p.get("type") == "text")
        rows.append(
            {
                "prompt": [
                    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}
                ],
                "image": o.images()[0],
                "letter": o.private["letter"],
            }
        )
    return rows


def run_trl(args: argparse.Namespace) -> dict:
    """TRL's GRPOTrainer on the same task, model and settings."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from vzgym.agents.tiny_model import default_model_dir, load_model_and_processor
    from vzgym.envs.toy import toy_reward

    torch.set_num_threads(1)  # as vzgym's HF policy does for models under 100M parameters
    model, processor = load_model_and_processor(default_model_dir(), device="cpu")
    processor.tokenizer.padding_side = "left"
    data = Dataset.from_list(_toy_dataset(args.steps * args.games, args.seed))

    def reward(completions, letter, **_):
        out = []
        for comp, right in zip(completions, letter, strict=True):
            text = comp if isinstance(comp, str) else comp[-1]["content"]
            if isinstance(text, list):
                text = "".join(p.get("text", "") for p in text)
            out.append(toy_reward(text, right, "AB"))
        return out

    steps: list[dict] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            steps.append({"seconds": time.perf_counter() - self.t0})

        def on_log(self, _args, state, control, logs=None, **k):
            if logs and "reward" in logs and steps:
                steps[-1]["reward"] = float(logs["reward"])

    with tempfile.TemporaryDirectory() as out:
        config = GRPOConfig(
            output_dir=out,
            learning_rate=args.lr,
            max_steps=args.steps * args.updates,
            per_device_train_batch_size=args.games * args.group // args.updates,
            steps_per_generation=args.updates,
            gradient_accumulation_steps=1,
            num_generations=args.group,
            max_completion_length=args.max_new_tokens,
            temperature=1.0,
            top_p=1.0,
            beta=0.0,
            epsilon=0.2,
            epsilon_high=0.28,
            num_iterations=1,
            loss_type="dapo",
            scale_rewards="group",
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            seed=args.seed,
            use_cpu=True,
            bf16=False,
            lr_scheduler_type="constant",
            warmup_steps=0,
            weight_decay=0.0,
            max_grad_norm=1.0,
            dataloader_num_workers=0,
            disable_tqdm=True,
            shuffle_dataset=False,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=reward,
            args=config,
            train_dataset=data,
            processing_class=processor,
            callbacks=[Timer()],
        )
        trainer.train()
    # one rollout step = ``updates`` optimizer steps on one generated batch
    u = args.updates
    grouped = []
    for i in range(0, len(steps), u):
        part = steps[i : i + u]
        rewards = [p["reward"] for p in part if "reward" in p]
        row = {"seconds": sum(p["seconds"] for p in part)}
        if rewards:
            row["reward"] = rewards[0]
        grouped.append(row)
    return {"steps": grouped, "peak_mb": _peak_mb()}


def _child(side: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", side]
    for key in ("steps", "games", "group", "lr", "max_new_tokens", "seed", "tail", "updates"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _summary(result: dict, tail: int) -> dict:
    steps = result["steps"]
    timed = [s["seconds"] for s in steps[1:]] or [s["seconds"] for s in steps]  # skip warm-up
    rewards = [s["reward"] for s in steps[-tail:] if "reward" in s]
    extra = {}
    for key in ("rollout_s", "update_s"):
        vals = [s[key] for s in steps[1:] if key in s]
        if vals:
            extra[key] = sum(vals) / len(vals)
    return {
        **extra,
        "step_s": sum(timed) / len(timed),
        "peak_mb": result["peak_mb"],
        "final_reward": sum(rewards) / len(rewards) if rewards else float("nan"),
        "first_reward": steps[0].get("reward", float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--games", type=int, default=8)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-new-tokens", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--updates", type=int, default=8, help="optimizer steps per generated batch (both sides)"
    )
    parser.add_argument("--tail", type=int, default=5, help="steps averaged for final reward")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--child", choices=["vzgym", "trl"])
    args = parser.parse_args()
    if args.child:
        result = run_vzgym(args) if args.child == "vzgym" else run_trl(args)
        print(json.dumps(result))
        return

    from vzgym.core.intervals import mean_interval

    print(
        f"toy-color, tiny model, {args.steps} steps x {args.games} prompts x {args.group} "
        f"completions, {args.updates} updates per batch, lr {args.lr}, "
        f"max_new_tokens {args.max_new_tokens}, seeds {args.seeds}"
    )
    table: dict[str, list[dict]] = {"vzgym": [], "trl": []}
    for seed in args.seeds:
        args.seed = seed
        for side in ("vzgym", "trl"):
            summary = _summary(_child(side, args), args.tail)
            table[side].append(summary)
            print(
                f"  seed {seed} {side:5s}: "
                + json.dumps({k: round(v, 3) for k, v in summary.items()}),
                flush=True,
            )  # noqa: E501
    for key, label in (("step_s", "time per step (s)"), ("peak_mb", "peak RSS (MB)"),
                       ("final_reward", f"reward, mean of last {args.tail} steps")):  # fmt: skip
        cells = []
        for side in ("vzgym", "trl"):
            mean, lo, hi = mean_interval([r[key] for r in table[side]])
            cells.append(f"{side} {mean:.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"{label}: " + " | ".join(cells))
    ratio = [v["step_s"] / t["step_s"] for v, t in zip(table["vzgym"], table["trl"], strict=True)]
    mean, lo, hi = mean_interval(ratio)
    print(f"step time vzgym/TRL: {mean:.2f} [{lo:.2f}, {hi:.2f}] (target <= 1)")


if __name__ == "__main__":
    main()

"""The local GRPO trainer (vzgym's embedded default): rollouts and updates in one process.

One training step:

1. **Rollout** ``games_per_step`` games × ``group_size`` same-seed copies with the
   current model (:class:`vzgym.rollout.RolloutRunner`), written to
   ``RUN/rollouts/step_XXXXXX/`` and marked complete with ``DONE.json``.
2. **Samples**: the turns of trainable seats in the *active stage* only (Iterative-SPO
   for games that declare two stages: e.g. clue or decision, never both), read back from
   disk with their exact sampled token ids and logprobs.
3. **Advantages** per stage with the configured estimators (default: the estimator
   each stage of the game declares, e.g. RAE for clues; elsewhere group-norm).
4. **Update**: token-level clipped surrogate (asymmetric clip, optional dual-clip),
   optional k3 KL to a frozen reference, token-mean or sequence-mean
   (``trainer.loss_agg``) over each optimizer minibatch; the step's samples are
   shuffled (seeded by seed and step) and split into ``trainer.optimizer_steps``
   minibatches (0: one per ``micro_batch_size × grad_accum`` samples); AdamW,
   gradient clipping.  The forward pass sees the same images the rollout saw
   (reloaded from the PNGs).
5. **Log** ``RUN/metrics.jsonl``; **checkpoint** every ``checkpoint_every`` steps.

Resume (``resume=True``) loads the newest complete checkpoint, cuts the metrics
back to its step, reuses complete rollouts of later steps (they were sampled
already and are trained exactly once in the resumed lineage) and deletes
incomplete ones.  A checkpoint or a finished rollout that fails its manifest
(sizes + sha256) is set aside: resume falls back to the newest intact checkpoint
and replays a damaged rollout with the same seeds, saying so on stderr and in
``metrics.jsonl`` (an ``"event"`` line).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import resource
import shutil
import sys
import time
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vzgym.core.policy import SamplingParams
from vzgym.registration import check_env_options
from vzgym.rundir import already_holds_message, holds_run
from vzgym.rundir import lock_run_dir as _lock_run_dir
from vzgym.trainers.checkpoint import (
    ResumePoint,
    load_newest_intact,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from vzgym.trainers.integrity import mark_rollout_done, read_rollout_done
from vzgym.trainers.losses import clipped_surrogate, k3_kl
from vzgym.trainers.metrics import MetricsLogger
from vzgym.trainers.samples import TrainSample, load_samples


def resolve_model_path(spec: str) -> Path:
    """Turn ``tiny`` / ``tiny:vN`` / ``hf:PATH`` / ``PATH`` into a local model directory."""
    if spec.partition(":")[0] == "tiny":
        from vzgym.agents.tiny_model import tiny_model_dir

        return tiny_model_dir(spec)
    if spec.startswith("hf:"):
        spec = spec[3:]
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"model {spec!r} is not a local model directory (nothing is downloaded here); "
            "use 'tiny' for the built-in model or a folder with config.json"
        )
    return path


def warmup_steps(tcfg: Any) -> int:
    """Warm-up steps: ``warmup_steps``, or ``round(warmup_ratio × steps)`` when that is 0."""
    if tcfg.warmup_steps > 0:
        return int(tcfg.warmup_steps)
    return int(round(float(getattr(tcfg, "warmup_ratio", 0.0)) * tcfg.steps))


def lr_factor(schedule: str, warmup_steps: int, total_steps: int) -> Any:
    """The learning-rate multiplier per training step: warm-up, then constant/linear/cosine."""

    def factor(step: int) -> float:
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        if schedule == "linear":
            return 1.0 - progress
        if schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0

    return factor


def _device(name: str) -> torch.device:
    if name in ("auto", "", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _dtype(name: str, device: torch.device) -> torch.dtype:
    if name == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class LocalGRPOTrainer:
    """GRPO on one machine (CPU or GPUs visible to this process) for any vzgym env.

    Args:
        config: a :class:`vzgym.config.RunConfig`.
        run_dir: where rollouts, checkpoints, metrics and plots go.
        resume: continue from the newest checkpoint in ``run_dir``.
        env_kwargs_extra: constructor arguments added to the env's (e.g. frozen
            policies for the roles an SVG env fills itself).
    """

    def __init__(
        self,
        config: Any,
        run_dir: str | Path,
        *,
        resume: bool = False,
        env_kwargs_extra: dict[str, Any] | None = None,
    ):
        from vzgym.config import build_estimators, build_phase_schedule

        # Everything that can fail before the first step (config, env options, model,
        # policies) is checked before anything is written: a failed start leaves the
        # run dir as it found it.
        self.config = config
        self.run_dir = Path(run_dir)
        if holds_run(self.run_dir) and not resume:
            raise ValueError(f"{already_holds_message(self.run_dir)} or choose another --run-dir")
        if resume and (self.run_dir / "config.toml").exists():
            _check_resumed_config(self.run_dir, config)
        tcfg = config.trainer
        self.env_id = config.env.id
        self.env_kwargs = {**dict(config.env.options), **(env_kwargs_extra or {})}
        check_env_options(self.env_id, self.env_kwargs)
        self.device = _device(tcfg.device)
        self.dtype = _dtype(config.policy.dtype, self.device)
        torch.manual_seed(tcfg.seed)

        self.base_model_path = resolve_model_path(config.policy.model)
        point = ResumePoint()
        if resume and holds_run(self.run_dir):
            self._lock = _lock_run_dir(self.run_dir)  # before moving damaged checkpoints aside
            point = load_newest_intact(self.run_dir)
        checkpoint, state = point.path, point.state
        self.start_step = point.step
        if checkpoint is not None:  # a run made before a tiny-model bump keeps its shape
            from vzgym.agents.tiny_model import base_model_spec

            base = base_model_spec(config.policy.model, checkpoint / "model")
            self.base_model_path = resolve_model_path(base)
        model_path = checkpoint / "model" if checkpoint is not None else self.base_model_path
        self.model, self.processor = self._load_model(model_path, adapter=checkpoint is not None)
        self.ref_model = None
        if tcfg.kl_coef > 0:
            self.ref_model, _ = self._load_model(self.base_model_path, adapter=False, lora=False)
            self.ref_model.eval().requires_grad_(False)

        from vzgym.agents.hf_policy import HFPolicy

        self.policy = HFPolicy(
            self.base_model_path,
            model=self.model,
            processor=self.processor,
            max_prompt_tokens=config.sampling.max_prompt_tokens,
        )
        self.policy.name = "model"
        self.sampler: Any = self.policy  # what samples rollouts: this model, or a vLLM engine
        if config.sampling.backend == "vllm":
            from vzgym.trainers.vllm_sampler import make_vllm_sampler, sync_weights

            self.sampler = make_vllm_sampler(self.base_model_path, self.processor, config.sampling)
            if checkpoint is not None:
                sync_weights(self.sampler, self.model)  # the engine starts from the base model
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params, lr=tcfg.lr, betas=tuple(tcfg.betas), weight_decay=tcfg.weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_factor(tcfg.lr_schedule, warmup_steps(tcfg), tcfg.steps)
        )
        self.estimators = build_estimators(config)
        from vzgym.registration import facts_of

        #: What the game declares: its stages (trained in turn when there are two or
        #: more), the statistics it reports and which of them drive the stage switch.
        self.facts = facts_of(self.env_id)
        self.staged = self.facts.staged
        self.phases = build_phase_schedule(config)
        if state is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            for phase, est_state in state["estimators"].items():
                if phase in self.estimators:
                    self.estimators[phase].load_state_dict(est_state)
            self.phases.load_state_dict(state["phase_controller"])
            set_rng_state(state["rng"])
        self._check_policies()
        from vzgym.config import to_toml

        self.run_dir.mkdir(parents=True, exist_ok=True)  # checks done: now write
        self._lock = _lock_run_dir(self.run_dir)
        (self.run_dir / "config.toml").write_text(to_toml(config))
        log = config.logging
        self.metrics = MetricsLogger(
            self.run_dir,
            tensorboard=log.tensorboard,
            wandb=log.wandb,
            wandb_mode=log.wandb_mode,
            wandb_project=log.wandb_project,
            config=_as_dict(config),
            start_step=self.start_step,
        )
        self.metrics.truncate(self.start_step)
        for name, problem in point.skipped:
            self._report(
                "checkpoint_fallback",
                f"checkpoint {name} is damaged ({problem}); moved aside as corrupt-{name}, "
                f"resuming from step {self.start_step}",
                checkpoint=name,
                problem=problem,
            )
        self._clean_rollouts()

    def _check_policies(self) -> None:
        """Build the rollout's seating once, so a bad role policy fails before any write."""
        from vzgym.rollout.seating import build_policy_map

        build_policy_map(
            self.env_id,
            self.policy,
            dict(self.config.policy.role_models),
            self.config.policy.frozen_roles,
            dict(self.env_kwargs),
            role_call_max_tokens=self.config.sampling.max_new_tokens,
        )

    # ------------------------------------------------------------------ model
    def _load_model(
        self, path: Path, *, adapter: bool, lora: bool | None = None
    ) -> tuple[Any, Any]:
        from vzgym.agents.tiny_model import load_model_and_processor

        pcfg = self.config.policy
        use_lora = pcfg.lora if lora is None else lora
        kwargs: dict[str, Any] = {}
        if pcfg.attn_implementation:
            kwargs["attn_implementation"] = pcfg.attn_implementation
        if use_lora and adapter:
            from peft import PeftModel

            base, processor = load_model_and_processor(
                self.base_model_path, device=str(self.device), dtype=self.dtype, **kwargs
            )
            model = PeftModel.from_pretrained(base, str(path), is_trainable=True)
            return model, processor
        model, processor = load_model_and_processor(
            path, device=str(self.device), dtype=self.dtype, **kwargs
        )
        if use_lora:
            from peft import LoraConfig, get_peft_model

            lora_cfg = LoraConfig(
                r=pcfg.lora_r,
                lora_alpha=pcfg.lora_alpha,
                lora_dropout=pcfg.lora_dropout,
                target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            )
            model = get_peft_model(model, lora_cfg)
        return model, processor

    # --------------------------------------------------------------- rollouts
    def _rollout_dir(self, step: int) -> Path:
        return self.run_dir / "rollouts" / f"step_{step:06d}"

    def _report(self, event: str, message: str, **details: Any) -> None:
        """Say what resume repaired on stderr and as an event line in ``metrics.jsonl``."""
        print(f"vzgym: {message}", file=sys.stderr, flush=True)
        self.metrics.event(self.start_step, event, message=message, **details)

    def _clean_rollouts(self) -> None:
        """Delete unfinished rollouts, and finished ones of steps still to train that are
        damaged (they are replayed with the same seeds)."""
        root = self.run_dir / "rollouts"
        if not root.is_dir():
            return
        for path in sorted(root.glob("step_*")):
            if not (path / "DONE.json").exists():
                shutil.rmtree(path, ignore_errors=True)
                continue
            step = int(path.name.split("_")[1]) if path.name[5:].isdigit() else -1
            if step < self.start_step:
                continue  # trained already; never read again
            _, problem = read_rollout_done(path)
            if problem is not None:
                shutil.rmtree(path)
                self._report(
                    "rollout_replayed",
                    f"rollout of step {step} is damaged ({problem}); discarded, it is "
                    "replayed with the same seeds",
                    rollout_step=step,
                    problem=problem,
                )

    def rollout(self, step: int) -> dict[str, Any]:
        """Play this step's games (or reuse a complete rollout on disk); return its summary."""
        tcfg, scfg = self.config.trainer, self.config.sampling
        return self._play(
            self._rollout_dir(step),
            games=tcfg.games_per_step,
            group=tcfg.group_size,
            seed=tcfg.seed * 1_000_003 + step * tcfg.games_per_step,
            sampling=SamplingParams(
                temperature=scfg.temperature,
                top_p=scfg.top_p,
                max_new_tokens=scfg.max_new_tokens,
                seed=tcfg.seed * 7919 + step,
            ),
        )

    def measure(self, step: int, games: int) -> dict[str, Any]:
        """Play ``games`` held-out games with argmax decoding after step ``step``'s update.

        Iterative-SPO's Algorithm 1 (Eq. 7) reads the stage switch's statistics here,
        not from the sampled training votes.  Seeds come from a range the training
        rollouts never use (they stay below 10**12 for any practical run); the result is
        written to ``RUN/measure/step_XXXXXX/`` and reused on an exact resume.
        """
        tcfg, scfg = self.config.trainer, self.config.sampling
        return self._play(
            self.run_dir / "measure" / f"step_{step:06d}",
            games=games,
            group=1,
            seed=10**12 + tcfg.seed * 1_000_003 + step * games,
            sampling=SamplingParams(temperature=0.0, max_new_tokens=scfg.max_new_tokens),
        )

    def _play(
        self, out: Path, *, games: int, group: int, seed: int, sampling: SamplingParams
    ) -> dict[str, Any]:
        """Play ``games`` × ``group`` games into ``out`` (reused when complete)."""
        from vzgym.rollout.runner import RolloutConfig, RolloutRunner
        from vzgym.rollout.seating import build_policy_map
        from vzgym.rollout.writer import TrajectoryWriter

        if (out / "DONE.json").exists():
            summary, problem = read_rollout_done(out)
            if summary is not None:
                return summary
            self._report(
                "rollout_replayed",
                f"rollout {out.relative_to(self.run_dir)} is damaged ({problem}); replaying it",
                rollout_step=int(out.name.rsplit("_", 1)[-1]),
                problem=problem,
            )
        if out.exists():
            shutil.rmtree(out)
        env_kwargs = dict(self.env_kwargs)
        policies = build_policy_map(
            self.env_id,
            self.sampler,
            dict(self.config.policy.role_models),
            self.config.policy.frozen_roles,
            env_kwargs,
            role_call_max_tokens=self.config.sampling.max_new_tokens,
        )
        # Only turns sampled by the model being trained are trained on: a role played by
        # another policy (policy.role_models) is frozen, whatever frozen_roles says.
        for seat in policies.by_role.values():
            if seat.policy is not self.sampler:
                seat.trainable = False
        rollout_cfg = RolloutConfig(
            self.env_id, env_kwargs, games=games, group=group, seed=seed, sampling=sampling
        )
        self.model.eval()
        with TrajectoryWriter(out) as writer, torch.no_grad():
            summary, _ = RolloutRunner(rollout_cfg, policies, writer).run()
        result = json.loads(json.dumps(summary.to_dict(), default=str))
        mark_rollout_done(out, result)
        return result

    # ----------------------------------------------------------------- update
    def _rescore(self, samples: list[TrainSample]) -> None:
        """Let the game rescore the whole step batch (batch-level reward terms).

        An env class with ``rescore_batch(infos)`` sees the info of every sample of
        the step (all games and copies) and may return new rewards (None = keep).
        """
        from vzgym.registration import get_registry

        rescore = getattr(get_registry().spec(self.env_id).load(), "rescore_batch", None)
        if rescore is None or not samples:
            return
        infos = [json.loads(s.meta.get("info") or "{}") for s in samples]
        new = rescore(infos)
        if new is None:
            return
        if len(new) != len(samples):
            raise RuntimeError(f"{self.env_id}.rescore_batch returned {len(new)} rewards")
        for sample, reward in zip(samples, new):
            if reward is not None:
                sample.reward = float(reward)

    def _advantages(self, samples: list[TrainSample]) -> None:
        from vzgym.trainers.advantages import AdvSample, compute_advantages

        by_agent = self.facts.group_by == "agent"
        adv = compute_advantages(
            [
                AdvSample(
                    s.reward,
                    s.group_id,
                    s.role,
                    s.phase,
                    s.episode_id,
                    prompt_key=str(s.meta.get("agent", "")) if by_agent else "",
                )
                for s in samples
            ],
            self.estimators,
        )
        for sample, value in zip(samples, adv):
            sample.advantage = float(value)

    def _record_advantages(self, step: int, samples: list[TrainSample]) -> None:
        """Write ``advantages.json`` beside the step's trajectories (``vzgym view`` shows them)."""
        rows = [
            [s.episode_id, s.meta.get("turn"), s.meta.get("agent"), s.advantage] for s in samples
        ]
        path = self._rollout_dir(step) / "advantages.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps({"columns": ["episode_id", "turn", "agent", "advantage"], "rows": rows})
        )
        tmp.replace(path)

    def _score(self, model: Any, batch: list[TrainSample], grad: bool) -> list[torch.Tensor]:
        policy = self.policy if model is self.model else _borrow(self.policy, model)
        return policy.completion_logprobs(
            [s.observation for s in batch],
            [s.token_ids for s in batch],
            temperature=self.config.sampling.temperature or 1.0,
            grad=grad,
        )

    def _check_prompt_ids(self, batch: list[TrainSample]) -> None:
        """The re-processed prompts must equal the sampled ones token for token."""
        inputs = self.policy.prompt_inputs([s.observation for s in batch])
        for row, sample in enumerate(batch):
            if not sample.prompt_token_ids:
                continue
            ids = inputs["input_ids"][row][inputs["attention_mask"][row].bool()].tolist()
            if ids != sample.prompt_token_ids:
                raise RuntimeError(
                    f"prompt of episode {sample.episode_id} ({sample.role}/{sample.phase}) does "
                    "not re-tokenise to the sampled prompt ids; the trajectory and the model's "
                    "processor disagree"
                )

    def minibatches(self, samples: list[TrainSample], step: int | None) -> list[list[TrainSample]]:
        """Split a step's samples into optimizer minibatches (see ``trainer.optimizer_steps``).

        With ``shuffle_minibatches`` the order is a seeded permutation of ``(seed, step)``
        (the same after an exact resume); otherwise storage order.
        """
        tcfg = self.config.trainer
        order = list(range(len(samples)))
        if tcfg.shuffle_minibatches and step is not None and len(samples) > 1:
            rng = np.random.default_rng([int(tcfg.seed), int(step), 0x5EED])
            order = [int(i) for i in rng.permutation(len(samples))]
        walked = [samples[i] for i in order]
        if tcfg.optimizer_steps > 0:
            k = min(tcfg.optimizer_steps, len(walked)) or 1
            bounds = np.linspace(0, len(walked), k + 1).round().astype(int)
            return [walked[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        per_opt = max(1, tcfg.micro_batch_size) * max(1, tcfg.grad_accum)
        return [walked[i : i + per_opt] for i in range(0, len(walked), per_opt)]

    def update(self, samples: list[TrainSample], step: int | None = None) -> dict[str, float]:
        """One pass over ``samples``: one optimizer step per minibatch (:meth:`minibatches`).

        The loss of a minibatch is its per-token GRPO loss reduced by ``trainer.loss_agg``
        (token mean over the minibatch, or each sequence's token mean then the mean over its
        sequences), accumulated over micro-batches of ``micro_batch_size``.
        """
        tcfg = self.config.trainer
        self.model.train()
        micro = max(1, tcfg.micro_batch_size)
        seq_mean = tcfg.loss_agg == "seq-mean-token-mean"
        dual_clip = tcfg.dual_clip if tcfg.dual_clip > 0 else None
        stats: dict[str, list[float]] = {"loss": [], "clip_frac": [], "kl": [], "grad_norm": []}
        ratios: list[float] = []
        if samples:
            self._check_prompt_ids(samples[: min(len(samples), micro)])
        with self.policy.compute_threads():  # backward and optimizer too, not only forward
            for chunk in self.minibatches(samples, step):
                total_tokens = sum(len(s.token_ids) for s in chunk)
                self.optimizer.zero_grad(set_to_none=True)
                loss_sum = clip_sum = kl_sum = 0.0
                for m in range(0, len(chunk), micro):
                    batch = chunk[m : m + micro]
                    with self._autocast():
                        new = self._score(self.model, batch, grad=True)
                    ref = None
                    if self.ref_model is not None and tcfg.kl_coef > 0:
                        with torch.no_grad(), self._autocast():
                            ref = self._score(self.ref_model, batch, grad=False)
                    loss = torch.zeros((), device=self.device)
                    for k, sample in enumerate(batch):
                        logp_new = new[k].float()
                        logp_old = torch.tensor(sample.logprobs, device=logp_new.device)
                        adv = torch.full_like(logp_new, sample.advantage)
                        per_tok, clipped = clipped_surrogate(
                            logp_new,
                            logp_old,
                            adv,
                            clip_low=tcfg.clip_low,
                            clip_high=tcfg.clip_high,
                            dual_clip=dual_clip,
                        )
                        if ref is not None:
                            kl = k3_kl(logp_new, ref[k].float())
                            per_tok = per_tok + tcfg.kl_coef * kl
                            kl_sum += float(kl.detach().sum())
                        if seq_mean:
                            loss = loss + per_tok.sum() / max(1, per_tok.numel()) / len(chunk)
                        else:
                            loss = loss + per_tok.sum() / max(1, total_tokens)
                        clip_sum += float(clipped.sum())
                        ratios.extend(torch.exp(logp_new - logp_old).detach().tolist())
                    loss.backward()
                    loss_sum += float(loss.detach())
                params = [p for p in self.model.parameters() if p.requires_grad]
                max_norm = tcfg.grad_clip if tcfg.grad_clip > 0 else float("inf")  # 0 = no clipping
                grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
                self.optimizer.step()
                stats["loss"].append(loss_sum)
                stats["clip_frac"].append(clip_sum / max(total_tokens, 1))
                stats["kl"].append(kl_sum / max(total_tokens, 1))
                stats["grad_norm"].append(float(grad_norm))
        out = {k: (sum(v) / len(v) if v else 0.0) for k, v in stats.items()}
        out["ratio_mean"] = sum(ratios) / len(ratios) if ratios else 1.0
        out["optimizer_steps"] = len(stats["loss"])
        return out

    def _autocast(self) -> Any:
        if self.dtype in (torch.bfloat16, torch.float16) and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=self.dtype)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ loop
    def active_phases(self) -> set[str] | None:
        """The stage(s) whose samples train this step (None = all)."""
        return {self.phases.phase} if self.staged else None

    def train_step(self, step: int) -> dict[str, Any]:
        """Rollout, advantages and update for ``step``; returns the step's metrics."""
        phase = self.phases.phase if self.staged else "all"
        t0 = time.perf_counter()
        summary = self.rollout(step)
        if self.sampler is not self.policy:  # the vLLM engine idles (paused) during the update
            from vzgym.trainers.vllm_sampler import pause

            pause(self.sampler)
        t1 = time.perf_counter()
        samples = load_samples(self._rollout_dir(step), phases=self.active_phases())
        self._rescore(samples)
        self._advantages(samples)
        self._record_advantages(step, samples)
        update = self.update(samples, step)
        if self.sampler is not self.policy:  # the engine samples the next step with new weights
            from vzgym.trainers.vllm_sampler import sync_weights

            update["weight_sync_seconds"] = sync_weights(self.sampler, self.model)
        t2 = time.perf_counter()
        metrics: dict[str, Any] = {
            "phase": phase,
            "lr": self.optimizer.param_groups[0]["lr"],
            "samples": len(samples),
            "tokens": sum(len(s.token_ids) for s in samples),
            "reward_mean": (sum(s.reward for s in samples) / len(samples)) if samples else 0.0,
            "advantage_abs_mean": (
                sum(abs(s.advantage) for s in samples) / len(samples) if samples else 0.0
            ),
            **{f"reward/{r}": v for r, v in summary.get("reward_by_role", {}).items()},
            **{f"game/{k}": v for k, v in summary.get("game_stats", {}).items()},
            **{f"train/{k}": v for k, v in update.items()},
            "rollout_seconds": t1 - t0,
            "update_seconds": t2 - t1,
            "rollout_share": (t1 - t0) / max(t2 - t0, 1e-9),
            "failed_episodes": summary.get("failed_episodes", 0),
            "peak_rss_mb": _peak_rss_mb(),
        }
        if self.staged:
            stats = summary.get("game_stats", {})
            games = int(getattr(self.phases, "measure_games", 0) or 0)
            if games > 0:  # Algorithm 1: a held-out batch played greedily after the update
                stats = self.measure(step, games).get("game_stats", {})
                metrics.update({f"measure/{k}": v for k, v in stats.items()})
            self._update_phase(step, stats)
            metrics["next_phase"] = self.phases.phase
        return metrics

    def _update_phase(self, step: int, stats: dict[str, float]) -> None:
        """Feed the stage switch the statistics the game declares for it.

        A step that measured neither of them (no episode reported them) is not
        counted; a game without a declared switch feeds no statistics (fixed
        schedules still advance, the adaptive one never switches).
        """
        switch = self.facts.switch
        if switch is None:
            self.phases.update(step)
            return
        acc, na = stats.get(switch.accuracy), stats.get(switch.na_rate)
        if acc is not None and na is not None:
            self.phases.update(step, acc, na)

    def evaluate(self, done: int, force: bool = False) -> dict[str, Any]:
        """Held-out games of the current model vs ``eval.opponent`` (vzgym.trainers.evaluation)."""
        from vzgym.trainers.evaluation import TrainingEvaluator

        if not hasattr(self, "_evaluator"):
            self._evaluator = TrainingEvaluator(
                self.config, self.policy, self.env_id, self.env_kwargs, log=print
            )
        if not (force or self._evaluator.due(done)):
            return {}
        self.model.eval()
        with torch.no_grad():
            return self._evaluator.run(self.run_dir / "eval" / f"step_{done:06d}")

    def _state(self, step: int) -> dict[str, Any]:
        return {
            "step": step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "estimators": {p: e.state_dict() for p, e in self.estimators.items()},
            "phase_controller": self.phases.state_dict(),
            "rng": rng_state(),
        }

    def checkpoint(self, step: int) -> Path:
        """Save a checkpoint covering ``step`` completed steps."""
        return save_checkpoint(
            self.run_dir,
            step,
            self.model,
            self.processor,
            self._state(step),
            {"env": self.env_id, "phase": self.phases.phase},
            keep=self.config.trainer.keep_checkpoints,
        )

    def train(self, progress: bool | None = None) -> list[dict[str, Any]]:
        """Run the remaining steps; return their metrics."""
        tcfg = self.config.trainer
        show = self.config.logging.progress if progress is None else progress
        bar = _StepBar(tcfg.steps, self.start_step, show)
        history = []
        for step in range(self.start_step, tcfg.steps):
            metrics = self.train_step(step)
            metrics.update(self.evaluate(step + 1))  # {} unless trainer.eval_every is due
            self.metrics.log(step, metrics)
            history.append(metrics)
            self.scheduler.step()
            done = step + 1
            every = tcfg.checkpoint_every  # 0 = only at the end
            if (every > 0 and done % every == 0) or done == tcfg.steps:
                self.checkpoint(done)
            bar.update(done, metrics)
        bar.close()
        self.metrics.close()
        self.save_final()
        if self.sampler is not self.policy:
            self.sampler.close()
        return history

    def save_final(self) -> Path:
        """Write the trained model to ``RUN/final`` (``save_pretrained``; LoRA merged)."""
        from vzgym.trainers.checkpoint import quiet_transformers

        quiet_transformers()
        out = self.run_dir / "final"
        tmp = self.run_dir / ".tmp-final"
        shutil.rmtree(tmp, ignore_errors=True)
        model = self.model
        if hasattr(model, "merge_and_unload"):
            model = copy.deepcopy(model).merge_and_unload()
        model.save_pretrained(tmp)
        self.processor.save_pretrained(tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.replace(out)
        return out


def _borrow(policy: Any, model: Any) -> Any:
    """A shallow copy of an HFPolicy that scores with another model (the reference)."""
    other = copy.copy(policy)
    other.model = model
    return other


#: Config keys a resumed run may change (dotted prefixes); anything else must match.
RESUME_MAY_CHANGE = (
    "trainer.steps", "trainer.checkpoint_every", "trainer.keep_checkpoints", "trainer.device",
    "logging.", "trainer.eval_every", "eval.",
)  # fmt: skip


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
        return out or {prefix.rstrip("."): {}}
    return {prefix.rstrip("."): value}


def _check_resumed_config(run_dir: Path, config: Any) -> None:
    """Refuse to resume ``run_dir`` with settings other than those it was started with."""
    from vzgym.config import ConfigError, load_config

    saved_path = run_dir / "config.toml"
    if not saved_path.exists():
        return
    try:
        saved = _flatten(_as_dict(load_config(saved_path, [])))
    except ConfigError as exc:
        raise ValueError(f"cannot read the config of the run to resume: {exc}") from exc
    now = _flatten(_as_dict(config))
    changed = sorted(
        key
        for key in set(saved) | set(now)
        if saved.get(key) != now.get(key) and not key.startswith(RESUME_MAY_CHANGE)
    )
    if changed:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed[:6])
        raise ValueError(
            f"--resume with a different config would mix two runs in {run_dir} ({shown}); "
            f"only {', '.join(RESUME_MAY_CHANGE)} may change. Start a new --run-dir instead."
        )


def _as_dict(config: Any) -> dict[str, Any]:
    if is_dataclass(config):
        return asdict(config)
    return dict(getattr(config, "__dict__", {}))


class _StepBar:
    """A rich progress bar over training steps (silent when disabled)."""

    def __init__(self, total: int, start: int, enabled: bool):
        self._bar = None
        if enabled:
            from rich.progress import Progress

            self._bar = Progress()
            self._bar.start()
            self._task = self._bar.add_task("train", total=total, completed=start)

    def update(self, done: int, metrics: dict[str, Any]) -> None:
        if self._bar is not None:
            reward = metrics.get("reward_mean", math.nan)
            desc = f"train [{metrics.get('phase')}] reward {reward:+.3f}"
            self._bar.update(self._task, completed=done, description=desc)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

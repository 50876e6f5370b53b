"""``vzgym imitate``: behaviour cloning of any teacher policy into any HF VLM.

One step:

1. take ``batch_size`` teacher turns from a :class:`~vzgym.trainers.imitate_data.TeacherStream`
   (seeded games made on the fly; the teacher plays every seat);
2. score the teacher's answer under the student with
   :meth:`vzgym.agents.hf_policy.HFPolicy.completion_logprobs` — the same chat
   template, processor, images and prompt the policy sees when it plays — with the
   answer tokenised as the model would emit it (text tokens, then the end-of-turn
   token); the loss is the token-mean negative log-likelihood of the answer tokens
   only (the prompt is context, never a target);
3. AdamW step with gradient clipping.

Every ``eval_every`` steps (and after the last) the student plays ``eval_games``
held-out games in every seat (:func:`vzgym.trainers.imitate_eval.evaluate`); the
metrics go to ``RUN/metrics.jsonl`` (``vzgym plot RUN`` draws them), a checkpoint
is written, and the student with the best selection score is kept in ``RUN/best``
(score: the accuracy stat the game declares for its stage switch, else the mean
reward).  ``RUN/final`` holds the last weights.  ``resume=True`` continues from
the newest checkpoint (model, optimizer, RNG, the data stream's position, best
score); steps after it are redone and their metrics lines replaced.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vzgym.core.policy import SamplingParams
from vzgym.trainers.checkpoint import (
    latest_checkpoint,
    load_trainer_state,
    quiet_transformers,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from vzgym.trainers.imitate_data import (
    TRAIN_SEED_STRIDE,
    TeacherStream,
    Turn,
    make_teacher,
    teacher_role_calls,
)
from vzgym.trainers.imitate_eval import evaluate
from vzgym.trainers.metrics import MetricsLogger

#: Learning-rate schedules after warm-up.
LR_SCHEDULES = ("constant", "cosine")

#: Config fields a resumed run may change; anything else must match the saved run.
RESUME_MAY_CHANGE = ("steps", "eval_every", "eval_games", "eval_blank_images", "progress")

#: What a field added later meant for runs saved before it existed.
SAVED_BEFORE: dict[str, Any] = {"mix_games": 1, "phases": []}


@dataclass
class ImitateConfig:
    """Settings of one imitation run (written to ``RUN/config.toml``).

    Attributes:
        env_id / env_options: the game and its options.
        teacher: policy spec of the teacher (``scripted`` = the game's declared bot).
        model: the student: ``tiny`` or a local HF VLM directory (``hf:PATH`` / ``PATH``).
        steps / batch_size / micro_batch_size: optimizer steps, teacher turns per step,
            turns per forward pass.
        mix_games: teacher games whose turns are shuffled together before batches are
            cut (:class:`~vzgym.trainers.imitate_data.TeacherStream`); 1 = game order.
        phases: train only on turns of these phases (e.g. ``["clue"]``; empty = all).
            The game's declared stages are the valid names when it declares any.
        lr / weight_decay / max_grad_norm / warmup_steps: AdamW and clipping.
        lr_schedule: ``constant`` (after warm-up) or ``cosine`` (down to 10 % of
            ``lr`` at the last step: late held-out evaluations stop swinging).
        max_answer_tokens: teacher answers are cut to this many tokens.
        eval_every / eval_games / eval_max_new_tokens: held-out evaluation.
        eval_blank_images: also evaluate with every image blanked (the vision
            ablation), logged as ``blank/eval/*``, ``blank/game/*``.
        seed: seeds torch and picks the training games (seeds ``seed * 1e7 + g``).
        device: ``cpu`` / ``cuda`` / ``auto``.
    """

    env_id: str
    env_options: dict[str, Any] = field(default_factory=dict)
    teacher: str = "scripted"
    model: str = "tiny"
    steps: int = 200
    batch_size: int = 16
    micro_batch_size: int = 16
    mix_games: int = 16
    phases: list[str] = field(default_factory=list)
    lr: float = 1e-3
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    warmup_steps: int = 10
    lr_schedule: str = "constant"
    max_answer_tokens: int = 96
    eval_every: int = 50
    eval_games: int = 16
    eval_max_new_tokens: int = 96
    eval_blank_images: bool = False
    seed: int = 0
    device: str = "auto"
    progress: bool = True


def _toml(config: ImitateConfig) -> str:
    """``[env]`` (id, options: what ``vzgym plot`` reads) and ``[imitate]`` (the rest)."""
    import tomli_w

    data = asdict(config)
    env = {"id": data.pop("env_id"), "options": data.pop("env_options")}
    return tomli_w.dumps({"env": env, "imitate": data})


def _read_saved(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "imitate.json"
    return json.loads(path.read_text()) if path.exists() else None


class ImitationTrainer:
    """Behaviour cloning in one process (see the module docstring)."""

    def __init__(self, config: ImitateConfig, run_dir: str | Path, *, resume: bool = False):
        from vzgym.registration import check_env_options, facts_of
        from vzgym.rundir import lock_run_dir
        from vzgym.trainers.local import resolve_model_path

        self.config = config
        self.run_dir = Path(run_dir)
        check_env_options(config.env_id, config.env_options)
        if config.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, got {config.lr_schedule!r}"
            )
        for name in ("steps", "batch_size", "micro_batch_size", "mix_games", "eval_every",
                     "eval_games"):
            if int(getattr(config, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(config, name)!r}")
        stages = [st.name for st in facts_of(config.env_id).stages]
        unknown = [p for p in config.phases if stages and p not in stages]
        if unknown:
            raise ValueError(f"phases {unknown} are not stages of {config.env_id} ({stages})")
        saved = _read_saved(self.run_dir)
        if saved is not None and not resume:
            raise ValueError(
                f"run dir {self.run_dir} already holds an imitation run; pass --resume "
                "or choose another --run-dir"
            )
        if resume and saved is not None:
            now = asdict(config)
            saved = {**SAVED_BEFORE, **saved}
            changed = [k for k in now if k not in RESUME_MAY_CHANGE and saved.get(k) != now[k]]
            if changed:
                raise ValueError(
                    f"--resume with other settings ({', '.join(changed)}) would mix two runs"
                )
        self.teacher = make_teacher(config.teacher, config.env_id)
        #: the env's options plus the roles it consults itself, played by the teacher
        self.env_kwargs = {**config.env_options, **teacher_role_calls(config.env_id, self.teacher)}
        base = resolve_model_path(config.model)
        checkpoint = latest_checkpoint(self.run_dir) if resume else None
        state = load_trainer_state(checkpoint) if checkpoint is not None else None
        import vzgym

        self.stream = TeacherStream(
            lambda: vzgym.make(config.env_id, **self.env_kwargs),
            self.teacher,
            seed_base=config.seed * TRAIN_SEED_STRIDE,
            # a model teacher answers greedily (its best answer), as long as the student may
            sampling=SamplingParams(temperature=0.0, max_new_tokens=config.max_answer_tokens),
            mix=config.mix_games,
            phases=tuple(config.phases),
            **(state["stream"] if state is not None else {}),
        )
        self.stream.prime()  # the first teacher game is played before anything is written
        created = not self.run_dir.exists()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start(config, base, checkpoint, state, lock_run_dir, facts_of)
        except BaseException:
            if created:  # a failed start leaves no directory behind
                shutil.rmtree(self.run_dir, ignore_errors=True)
            raise

    def _start(
        self, config: ImitateConfig, base: Path, checkpoint: Any, state: Any, lock: Any, facts: Any
    ) -> None:
        from vzgym.agents.hf_policy import HFPolicy
        from vzgym.agents.tiny_model import load_model_and_processor

        self._lock = lock(self.run_dir)
        device = config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        torch.manual_seed(config.seed)
        path = checkpoint / "model" if checkpoint is not None else base
        self.model, self.processor = load_model_and_processor(path, device=device)
        self.model.train()
        self.student = HFPolicy(base, model=self.model, processor=self.processor)
        self.student.name = "student"
        tok = self.student.tokenizer
        self.end_id = int(tok.convert_tokens_to_ids("<|im_end|>"))
        if self.end_id == tok.unk_token_id or self.end_id is None:
            self.end_id = int(self.student.eos_token_ids[0])
        self.optimizer = torch.optim.AdamW(
            [p for p in self.model.parameters() if p.requires_grad],
            lr=config.lr,
            weight_decay=config.weight_decay,
        )
        self.facts = facts(config.env_id)
        self.start_step = 0
        self.best: dict[str, Any] = {"score": -math.inf, "step": None}
        if state is not None:
            self.start_step = int(state["step"])
            self.optimizer.load_state_dict(state["optimizer"])
            set_rng_state(state["rng"])
            self.best = state["best"]
        # written only once everything loaded: a failed start leaves no half run behind
        (self.run_dir / "config.toml").write_text(_toml(config))
        (self.run_dir / "imitate.json").write_text(json.dumps(asdict(config), indent=2))
        self.metrics = MetricsLogger(self.run_dir, start_step=self.start_step)
        self.metrics.truncate(self.start_step)

    # ----------------------------------------------------------------- update
    def _target_ids(self, text: str) -> list[int]:
        ids = self.student.tokenizer(text, add_special_tokens=False)["input_ids"]
        cap = self.config.max_answer_tokens
        return list(ids[:cap]) if len(ids) >= cap else [*ids, self.end_id]

    def _lr(self, step: int) -> float:
        warm, lr = self.config.warmup_steps, self.config.lr
        if warm > 0 and step < warm:
            return lr * (step + 1) / warm
        if self.config.lr_schedule == "cosine":
            span = max(1, self.config.steps - warm)
            done = min(1.0, (step - max(warm, 0)) / span)
            return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * done)))
        return lr

    def update(self, step: int, turns: list[Turn]) -> dict[str, float]:
        """One optimizer step on ``turns``; returns loss and token counts."""
        targets = [self._target_ids(t.action) for t in turns]
        total = sum(len(t) for t in targets)
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr(step)
        self.optimizer.zero_grad(set_to_none=True)
        with self.student.compute_threads():
            return self._update(turns, targets, total)

    def _update(self, turns: list[Turn], targets: list[list[int]], total: int) -> dict[str, float]:
        loss_sum = 0.0
        by_phase: dict[str, list[float]] = {}
        mb = self.config.micro_batch_size
        for start in range(0, len(turns), mb):
            part = turns[start : start + mb]
            logps = self.student.completion_logprobs(
                [t.observation for t in part], targets[start : start + mb], grad=True
            )
            nll = -torch.cat(logps).sum() / total
            nll.backward()
            loss_sum += float(nll.detach())
            for t, lp in zip(part, logps, strict=True):
                by_phase.setdefault(t.observation.phase, []).append(-float(lp.detach().mean()))
        grad_norm = torch.nn.utils.clip_grad_norm_(
            self.model.parameters(), self.config.max_grad_norm
        )
        self.optimizer.step()
        out = {"train/loss": loss_sum, "train/grad_norm": float(grad_norm), "tokens": total}
        out.update({f"train/loss_{p}": sum(v) / len(v) for p, v in by_phase.items()})
        return out

    # ------------------------------------------------------------- evaluation
    def selection_key(self) -> str:
        """The metric the best checkpoint is chosen by."""
        if self.facts.switch is not None:
            return f"game/{self.facts.switch.accuracy}"
        return "eval/reward_mean"

    def evaluate(self, step: int) -> dict[str, float]:
        """Held-out games with the student in every seat; keeps the best student."""
        cfg = self.config
        self.model.eval()
        try:
            result = evaluate(
                self.student,
                cfg.env_id,
                self.env_kwargs,
                games=cfg.eval_games,
                max_new_tokens=cfg.eval_max_new_tokens,
            )
            if cfg.eval_blank_images:
                result.update(
                    evaluate(
                        self.student,
                        cfg.env_id,
                        self.env_kwargs,
                        games=cfg.eval_games,
                        max_new_tokens=cfg.eval_max_new_tokens,
                        blank_images=True,
                        prefix="blank/eval/",
                        stats_prefix="blank/",
                    )
                )
        finally:
            self.model.train()
        score = result.get(self.selection_key(), result["eval/reward_mean"])
        if score > self.best["score"]:
            self.best = {"score": score, "step": step, "key": self.selection_key()}
            self._save_model(self.run_dir / "best")
            (self.run_dir / "best" / "best.json").write_text(json.dumps(self.best, indent=2))
        return result

    def _save_model(self, out: Path) -> None:
        quiet_transformers()
        tmp = out.with_name(f".tmp-{out.name}")
        shutil.rmtree(tmp, ignore_errors=True)
        self.model.save_pretrained(tmp)
        self.processor.save_pretrained(tmp)
        shutil.rmtree(out, ignore_errors=True)
        tmp.replace(out)

    # ------------------------------------------------------------------- loop
    def train(self) -> list[dict[str, Any]]:
        """Run the remaining steps; returns their metrics."""
        cfg = self.config
        bar = _Bar(cfg.steps, self.start_step, cfg.progress)
        history = []
        for step in range(self.start_step, cfg.steps):
            t0 = time.perf_counter()
            turns = self.stream.take(cfg.batch_size)
            t1 = time.perf_counter()
            metrics: dict[str, Any] = {"lr": self._lr(step), **self.update(step, turns)}
            metrics.update(data_seconds=t1 - t0, update_seconds=time.perf_counter() - t1)
            metrics["teacher_games"] = self.stream.game
            done = step + 1
            if done % cfg.eval_every == 0 or done == cfg.steps:
                metrics.update(self.evaluate(done))
                metrics["best_step"] = self.best["step"]
                save_checkpoint(
                    self.run_dir,
                    done,
                    self.model,
                    self.processor,
                    {
                        "step": done,
                        "optimizer": self.optimizer.state_dict(),
                        "rng": rng_state(),
                        "stream": self.stream.state(),
                        "best": self.best,
                    },
                    {"env": cfg.env_id, "best": self.best},
                )
            self.metrics.log(step, metrics)
            history.append(metrics)
            bar.update(done, metrics)
        bar.close()
        self.metrics.close()
        self._save_model(self.run_dir / "final")
        return history


class _Bar:
    """A rich progress bar over steps showing the loss and the last evaluation."""

    def __init__(self, total: int, start: int, enabled: bool):
        self._bar = None
        self._last = ""
        if enabled:
            from rich.progress import Progress

            self._bar = Progress()
            self._bar.start()
            self._task = self._bar.add_task("imitate", total=total, completed=start)

    def update(self, done: int, metrics: dict[str, Any]) -> None:
        if self._bar is None:
            return
        evals = {k[5:]: v for k, v in metrics.items() if k.startswith("game/")}
        if "eval/finished_rate" in metrics:
            shown = [f"finished {metrics['eval/finished_rate']:.2f}"]
            shown += [f"{k} {v:.2f}" for k, v in list(evals.items())[:3]]
            self._last = " | " + ", ".join(shown)
        desc = f"imitate loss {metrics['train/loss']:.3f}{self._last}"
        self._bar.update(self._task, completed=done, description=desc)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()

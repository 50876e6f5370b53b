"""Evaluation during training: the current model against a fixed opponent, logged as
``eval/*`` (the trainers' use of :mod:`vzgym.eval`).

:class:`TrainingEvaluator` belongs to a trainer.  Every ``trainer.eval_every``
steps it plays ``eval.games`` held-out games (seats swapped, :mod:`vzgym.eval.match`)
of the model being trained against ``eval.opponent`` (default: the starting
model), keeps them in ``RUN/eval/step_XXXXXX/`` and returns the metrics the
trainer logs with the step.  The roles an env plays itself (the SVG world's
frozen roles) are played as in training.  An env that declares no outcome is
skipped with one note; evaluation never stops training.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vzgym.agents.base import Policy, SamplingParams


class TrainingEvaluator:
    """Plays the held-out evaluations of one training run (see the module docstring).

    Args:
        config: the run's :class:`vzgym.config.RunConfig`.
        policy: the policy of the model being trained (shared, not copied).
        env_id, env_kwargs: the env as the trainer plays it.
        log: where notes go (a skipped evaluation, failures).
    """

    def __init__(
        self,
        config: Any,
        policy: Policy,
        env_id: str,
        env_kwargs: dict[str, Any],
        log: Callable[[str], None] = print,
    ):
        self.config = config
        self.policy = policy
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.log = log
        self._opponent: Policy | None = None
        self._disabled = False

    def due(self, done_steps: int) -> bool:
        """True when an evaluation is due after ``done_steps`` completed steps."""
        every = self.config.trainer.eval_every
        return every > 0 and done_steps % every == 0 and not self._disabled

    def opponent(self) -> Policy:
        """The fixed opponent, built once: ``eval.opponent`` or the starting model."""
        if self._opponent is None:
            from vzgym.eval.specs import build_policy
            from vzgym.trainers.local import resolve_model_path

            spec = self.config.eval.opponent or f"hf:{resolve_model_path(self.config.policy.model)}"
            options = {"max_prompt_tokens": self.config.sampling.max_prompt_tokens}
            self._opponent = build_policy(spec, self.env_id, **options)
            self._opponent.name = "opponent"
        return self._opponent

    def _env_kwargs(self) -> dict[str, Any]:
        """The env options with the frozen roles seated as the trainer seats them."""
        from vzgym.rollout.seating import build_policy_map

        kwargs = dict(self.env_kwargs)
        build_policy_map(
            self.env_id, self.policy, dict(self.config.policy.role_models),
            self.config.policy.frozen_roles, kwargs,
            role_call_max_tokens=self.config.sampling.max_new_tokens,
        )  # fmt: skip
        return kwargs

    def run(self, out_dir: Path, prefix: str = "eval") -> dict[str, Any]:
        """Play the evaluation into ``out_dir``; return ``{prefix}/...`` metrics ({} if skipped)."""
        from vzgym.eval.match import EvalConfig, run_eval

        done = out_dir / "summary.json"
        if done.is_file():  # finished before a crash cut the step's log: reuse it
            return metrics_of(json.loads(done.read_text()), prefix)
        shutil.rmtree(out_dir, ignore_errors=True)  # an unfinished one starts over
        scfg = self.config.sampling
        try:
            config = EvalConfig(
                self.env_id, self.policy, self.opponent(), games=self.config.eval.games,
                env_kwargs=self._env_kwargs(),
                sampling=SamplingParams(
                    scfg.temperature, scfg.top_p, scfg.max_new_tokens, 1,
                    self.config.trainer.seed,
                ),
                out_dir=out_dir, labels=("model", self.config.eval.opponent or "start"),
            )  # fmt: skip
            result = run_eval(config)
        except ValueError as exc:
            self._disabled = True
            self.log(f"evaluation skipped from now on: {exc}")
            return {}
        return metrics_of(result.summary, prefix)


def metrics_of(summary: dict[str, Any], prefix: str = "eval") -> dict[str, float]:
    """The numbers of an eval summary as flat metrics (``eval/win_rate``, ``eval/game/x`` ...)."""
    t = summary["a_vs_b"]
    out: dict[str, Any] = {
        f"{prefix}/win_rate": t["win_rate"],
        f"{prefix}/ci_low": t["ci_low"],
        f"{prefix}/ci_high": t["ci_high"],
        f"{prefix}/results": t["games"],
        f"{prefix}/failed": summary["games_failed"],
        f"{prefix}/seconds": summary["seconds"],
    }
    for role, tally in summary["by_role"].items():
        out[f"{prefix}/role/{role}/win_rate"] = tally["win_rate"]
    for key, value in summary["game_stats"].items():
        out[f"{prefix}/game/{key}"] = value
    return {k: v for k, v in out.items() if v is not None}


def evaluate_role_turn(
    trainer: Any, config: Any, run_dir: Path, iteration: int, role: str, index: int
) -> dict[str, Any]:
    """MM-Zero: after ``role``'s turn in ``iteration``, its new version vs the starting model.

    Plays into ``RUN/eval/iter_<i>/<role>/`` and appends ``eval/<role>/...`` (with
    ``iteration`` and ``role``) to ``RUN/metrics.jsonl`` at step ``index``.
    Returns the metrics ({} when ``trainer.eval_every`` is 0 or the trainer has no model).
    """
    import copy

    from vzgym.trainers.metrics import MetricsLogger

    policy = getattr(trainer, "policy", None)
    if config.trainer.eval_every <= 0 or not isinstance(policy, Policy):
        return {}
    cfg = copy.deepcopy(trainer.config)
    # the opponent: the role's starting model in the loop
    cfg.policy.model = config.policy.role_starts.get(role, config.policy.model)
    evaluator = TrainingEvaluator(cfg, policy, trainer.env_id, trainer.env_kwargs)
    metrics = evaluator.run(run_dir / "eval" / f"iter_{iteration}" / role, prefix=f"eval/{role}")
    if metrics:
        log = config.logging
        logger = MetricsLogger(
            run_dir, tensorboard=log.tensorboard, wandb=log.wandb, wandb_mode=log.wandb_mode,
            wandb_project=log.wandb_project,
        )  # fmt: skip
        logger.log(index, {"iteration": iteration, "role": role, **metrics})
        logger.close()
    return metrics

"""The MM-Zero self-play loop: Proposer → CodeGen → Solver, co-evolving over iterations.

Iteration ``i`` trains, in order, each role from its own previous version
(``RUN/iter_<i-1>/<role>/final``, or at ``i = 0`` its start: ``policy.role_starts[role]``
if given, else the base model) while the other
roles play with their *current* versions, frozen:

1. proposer (``svg-propose``): codegen and solver from iteration ``i - 1``;
2. codegen (``svg-codegen``, on proposals filtered by the render band): proposer of
   iteration ``i``, solver of ``i - 1``;
3. solver (``svg-solve``, on silver-labelled items): proposer and codegen of ``i``.

A role listed in the config's ``policy.role_models`` (e.g. ``solver = "scripted"``,
or a fixed larger judge) is *pinned*: wherever it plays frozen it is that policy
in every iteration instead of its evolved version (it is still trained in its
own stage, from its own previous version).  The log names pinned roles.

Every role's run is an ordinary :class:`~vzgym.trainers.local.LocalGRPOTrainer`
run in ``RUN/iter_<i>/<role>/`` with its own checkpoints, so the loop resumes at
step level: finished roles (with ``final/``) are skipped, a half-trained one
continues from its newest checkpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLES = ("proposer", "codegen", "solver")
ROLE_ENV = {"proposer": "svg-propose", "codegen": "svg-codegen", "solver": "svg-solve"}


def role_dir(run_dir: Path, iteration: int, role: str) -> Path:
    """Where the run of ``role`` in ``iteration`` lives."""
    return run_dir / f"iter_{iteration}" / role


def current_model(run_dir: Path, iteration: int, role: str, base: str) -> str:
    """The newest finished version of ``role`` up to ``iteration`` (``hf:PATH``), else ``base``."""
    for i in range(iteration, -1, -1):
        final = role_dir(run_dir, i, role) / "final"
        if (final / "config.json").exists():
            return f"hf:{final}"
    return base


def accepted_options(env_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Keep the env options this role's env constructor accepts (one config, three envs)."""
    from vzgym.registration import get_registry

    names = get_registry().spec(env_id).option_names()
    return dict(options) if names is None else {k: v for k, v in options.items() if k in names}


def run_mm_zero(
    config: Any,
    run_dir: str | Path,
    iterations: int,
    *,
    trainer_factory: Callable[..., Any] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run ``iterations`` of Proposer → CodeGen → Solver; return one record per role run."""
    from vzgym.trainers.local import LocalGRPOTrainer

    factory = trainer_factory or LocalGRPOTrainer
    root = Path(run_dir)
    unknown = sorted(set(config.policy.role_starts) - set(ROLES))
    if unknown:
        raise ValueError(f"policy.role_starts: unknown role(s) {unknown}; roles are {ROLES}")
    starts = {role: config.policy.role_starts.get(role, config.policy.model) for role in ROLES}
    records = []
    for iteration in range(iterations):
        for role in ROLES:
            out = role_dir(root, iteration, role)
            if (out / "final" / "config.json").exists():
                log(f"iter {iteration} {role}: done already, skipped")
                continue
            cfg = copy.deepcopy(config)
            cfg.env.id = ROLE_ENV[role]
            cfg.policy.model = current_model(root, iteration - 1, role, starts[role])
            others: dict[str, str] = {}
            for other in ROLES:
                if other == role:
                    continue
                done_this_iter = ROLES.index(other) < ROLES.index(role)
                source = iteration if done_this_iter else iteration - 1
                others[other] = current_model(root, source, other, starts[other])
            if role == "codegen":  # train on proposals in the render band of the current codegen
                cfg.env.options.setdefault("prefilter_samples", 4)
                others["prefilter"] = cfg.policy.model
            if role == "solver":  # silver labels from the current solver's majority vote
                others["label"] = cfg.policy.model
            cfg.env.options = accepted_options(ROLE_ENV[role], cfg.env.options)
            pinned = {k: v for k, v in config.policy.role_models.items() if k in others}
            # the role being trained is played by the model being trained, pinned or not
            own = {k: v for k, v in config.policy.role_models.items() if k != role}
            cfg.policy.role_models = {**others, **own}
            frozen = {k: v for k, v in cfg.policy.role_models.items() if k in others}
            note = f" (pinned by config: {sorted(pinned)})" if pinned else ""
            log(f"iter {iteration} {role}: from {cfg.policy.model}; frozen {frozen}{note}")
            trainer = factory(cfg, out, resume=True)
            history = trainer.train()
            from vzgym.trainers.evaluation import evaluate_role_turn

            index = iteration * len(ROLES) + ROLES.index(role)
            evaluate_role_turn(trainer, config, root, iteration, role, index)
            records.append(
                {"iteration": iteration, "role": role, "steps": len(history), "dir": str(out)}
            )
    return records

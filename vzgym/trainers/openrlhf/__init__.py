"""Distributed training on OpenRLHF (Ray + DeepSpeed + vLLM): ``vzgym train --trainer openrlhf``.

vzgym keeps the games, rewards and advantages; OpenRLHF schedules the vLLM
engines and DeepSpeed actors.  Pieces:

* :mod:`~vzgym.trainers.openrlhf.dataset`: the prompt dataset (one game seed per row);
* :mod:`~vzgym.trainers.openrlhf.executor` / :mod:`~vzgym.trainers.openrlhf.agent`: the
  ``AgentExecutor`` OpenRLHF loads with ``--train.agent_func_path``;
* :mod:`~vzgym.trainers.openrlhf.launch`: :func:`prepare_openrlhf_run` and :func:`launch`;

Importing this package imports neither OpenRLHF nor torch.  Design: docs/openrlhf-design.md.
"""

from __future__ import annotations

from vzgym.trainers.openrlhf.dataset import GameRow, GameShape, probe_game, write_prompt_dataset
from vzgym.trainers.openrlhf.launch import (
    OpenRLHFPlan,
    build_train_args,
    launch,
    openrlhf_available,
    parse_train_args,
    prepare_openrlhf_run,
    train_with_openrlhf,
)

__all__ = [
    "GameRow",
    "GameShape",
    "OpenRLHFPlan",
    "build_train_args",
    "launch",
    "openrlhf_available",
    "parse_train_args",
    "prepare_openrlhf_run",
    "probe_game",
    "train_with_openrlhf",
    "write_prompt_dataset",
]

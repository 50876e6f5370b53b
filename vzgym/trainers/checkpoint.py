"""Atomic checkpoints of a training run: model + processor + trainer state.

``RUN/checkpoints/step_000004/`` holds ``model/`` (``save_pretrained``),
``trainer_state.pt`` (optimizer, RNG states, step, advantage baselines, phase
controller) and ``state.json`` (the readable part).  A checkpoint is written to
a hidden temporary folder and renamed into place, so a folder named ``step_*``
is always complete; a crash mid-save leaves only a ``.tmp-*`` folder, which the
next save or resume removes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """Capture Python, numpy and torch RNG states."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def quiet_transformers() -> None:
    """Turn off transformers' per-file progress bars (they clutter the training log)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    """The folder of the checkpoint taken after ``step`` completed steps."""
    return run_dir / "checkpoints" / f"step_{step:06d}"


def save_checkpoint(
    run_dir: Path,
    step: int,
    model: Any,
    processor: Any,
    trainer_state: dict[str, Any],
    info: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write a complete checkpoint atomically and keep only the newest ``keep``."""
    quiet_transformers()
    root = run_dir / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    final = checkpoint_dir(run_dir, step)
    tmp = root / f".tmp-step_{step:06d}"
    model.save_pretrained(tmp / "model")
    processor.save_pretrained(tmp / "model")
    torch.save(trainer_state, tmp / "trainer_state.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step, **info}, indent=2, default=str))
    for path in tmp.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step_*") if (p / "trainer_state.pt").is_file())


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint, or None."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_trainer_state(path: Path) -> dict[str, Any]:
    """Load ``trainer_state.pt`` of a checkpoint (it holds RNG states, so not weights-only)."""
    return torch.load(path / "trainer_state.pt", weights_only=False)

"""Atomic checkpoints of a training run: model + processor + trainer state.

``RUN/checkpoints/step_000004/`` holds ``model/`` (``save_pretrained``),
``trainer_state.pt`` (optimizer, RNG states, step, advantage baselines, phase
controller), ``state.json`` (the readable part) and ``manifest.json`` (size and
sha256 of every other file).  A checkpoint is written to a hidden temporary folder
and renamed into place, so a folder named ``step_*`` is always complete; a crash
mid-save leaves only a ``.tmp-*`` folder, which the next save or resume removes.

A checkpoint damaged afterwards (a truncated or changed file, a bad disk) fails
:func:`checkpoint_problem`; :func:`load_newest_intact` then falls back to the newest
intact one and moves the damaged ones aside (``checkpoints/corrupt-step_*``).
Checkpoints written before manifests existed are checked by loading them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vzgym.trainers.integrity import (
    build_manifest,
    manifest_problem,
    read_json,
    write_json_durably,
)

#: The file in every checkpoint that lists the others with their sizes and checksums.
MANIFEST = "manifest.json"


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
    write_json_durably(tmp / MANIFEST, build_manifest(tmp))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _steps_with(root: Path, marker: str) -> list[Path]:
    """``root/step_*`` folders holding ``marker`` (written last), oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("step_*") if (p / marker).is_file())


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    return _steps_with(run_dir / "checkpoints", "trainer_state.pt")


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint, or None."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load_trainer_state(path: Path) -> dict[str, Any]:
    """Load ``trainer_state.pt`` of a checkpoint (it holds RNG states, so not weights-only)."""
    return torch.load(path / "trainer_state.pt", weights_only=False)


def checkpoint_problem(path: Path) -> str | None:
    """What is wrong with the checkpoint at ``path`` (None when it is intact).

    With a manifest every file's size and sha256 are checked; without one (a
    checkpoint from before manifests) each ``*.safetensors`` header must parse and
    fit its file size.
    """
    if (path / MANIFEST).exists():
        manifest, problem = read_json(path / MANIFEST)
        return problem or manifest_problem(path, manifest)
    from safetensors import safe_open

    weights = sorted((path / "model").glob("*.safetensors"))
    if not weights:
        return "model/ holds no *.safetensors file"
    for file in weights:
        try:
            with safe_open(str(file), framework="pt") as handle:
                handle.keys()
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            return f"model/{file.name} is unreadable ({exc})"
    return None


@dataclass
class ResumePoint:
    """Where a resumed run starts: a checkpoint and its state, or nothing (step 0).

    ``skipped`` holds ``(checkpoint name, problem)`` for each newer checkpoint that
    was damaged and moved aside.
    """

    path: Path | None = None
    state: dict[str, Any] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def step(self) -> int:
        """The number of completed steps the checkpoint covers (0 without one)."""
        return int(self.state["step"]) if self.state is not None else 0


def load_newest_intact(run_dir: Path) -> ResumePoint:
    """Load the newest checkpoint that verifies; move damaged newer ones aside.

    A damaged checkpoint is renamed ``checkpoints/corrupt-step_*`` (kept for
    inspection, no longer listed) and recorded in ``ResumePoint.skipped``.
    """
    point = ResumePoint()
    for path in reversed(list_checkpoints(run_dir)):
        problem = checkpoint_problem(path)
        state = None
        if problem is None:
            try:
                state = load_trainer_state(path)
                int(state["step"])
            except Exception as exc:  # noqa: BLE001 - any unreadable state is a damaged one
                problem = f"trainer_state.pt is unreadable ({type(exc).__name__}: {exc})"
        if problem is None:
            point.path, point.state = path, state
            return point
        point.skipped.append((path.name, problem))
        aside = path.with_name(f"corrupt-{path.name}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(path, aside)
    return point


def finished_steps(run_dir: Path) -> list[Path]:
    """Rollout folders of finished steps (``rollouts/step_*/DONE.json``), oldest first."""
    return _steps_with(run_dir / "rollouts", "DONE.json")


"""Run directories: finding the newest run, claiming a fresh one, locking, "already holds a run".

One module for every command that writes a run (``vzgym train``, the trainers,
``vzgym selfplay mm-zero``), so they agree on what a used run dir is.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

#: Files a training run writes into its run dir.
RUN_FILES = ("metrics.jsonl", "checkpoints", "rollouts", "config.toml")
#: The lock file a training process holds in its run dir.
LOCK_FILE = ".vzgym.lock"

_LOCKED: dict[str, Any] = {}  # run dirs this process holds: path -> open lock file


class RunDirError(ValueError):
    """A run dir cannot be used: taken, locked, or none found."""


def run_dir_pattern(template: str, env_id: str) -> str:
    """The glob matching every run of ``template`` (``logging.run_dir``) for ``env_id``."""
    return template.format(env=env_id.replace("/", "_"), time="*")


def newest_run(template: str, env_id: str) -> Path:
    """The most recently modified run dir matching ``template`` for ``env_id`` that holds a
    run (:func:`holds_run`; a failed start's empty dir is skipped).

    Raises:
        RunDirError: no such dir.
    """
    pattern = run_dir_pattern(template, env_id)
    found = sorted(
        (p for p in map(Path, glob.glob(pattern)) if holds_run(p)),
        key=lambda p: p.stat().st_mtime,
    )
    if not found:
        raise RunDirError(
            f"--resume: no run dir matching {pattern} holds a run (config.toml and a "
            "checkpoint or finished step); give --run-dir"
        )
    return found[-1]


def claim_dir(path: Path) -> Path:
    """Create ``path`` (or ``path-2``, ``path-3`` ... if taken) and return it.

    ``mkdir`` fails if the dir exists, so two runs started in the same second
    never share a run dir.

    Raises:
        RunDirError: 999 candidates are all taken.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, 1000):
        candidate = path if k == 1 else path.with_name(f"{path.name}-{k}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RunDirError(f"no free run dir next to {path}")


def run_problem(run_dir: Path) -> str | None:
    """Why ``run_dir`` holds no run that ``--resume`` could continue (None when it does).

    A run is a dir with ``config.toml`` and at least one checkpoint
    (``checkpoints/step_*/trainer_state.pt``) or finished step
    (``rollouts/step_*/DONE.json``).  A dir with less (a start killed before its first
    step finished) may be started again without ``--resume``.
    """
    if not run_dir.exists():
        return f"run dir {run_dir} does not exist"
    if not run_dir.is_dir():
        return f"{run_dir} is not a directory"
    if not (run_dir / "config.toml").is_file():
        return f"run dir {run_dir} holds no run: config.toml is missing"
    if any(run_dir.glob("checkpoints/step_*/trainer_state.pt")) or any(
        run_dir.glob("rollouts/step_*/DONE.json")
    ):
        return None
    return (
        f"run dir {run_dir} holds no checkpoint (checkpoints/step_*) and no finished step "
        "(rollouts/step_*/DONE.json) to resume; start it again without --resume"
    )


def holds_run(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a run (see :func:`run_problem`)."""
    return run_problem(run_dir) is None


def holds_files(run_dir: Path) -> bool:
    """True when ``run_dir`` exists and is not empty (a loop of several runs lives in it)."""
    return run_dir.exists() and any(run_dir.iterdir())


def already_holds_message(run_dir: Path) -> str:
    """The error text for starting a run in a used dir without ``--resume``."""
    return f"run dir {run_dir} already holds a run; pass --resume to continue it"


def lock_run_dir(run_dir: Path) -> Any:
    """Hold an exclusive lock on ``run_dir`` for this process (released when it exits).

    Another process training in the same dir is refused; this process may build
    several trainers on it one after another (resume in the same Python session).

    Raises:
        RunDirError: another process holds the lock.
    """
    import fcntl

    key = str(run_dir.resolve())
    if key in _LOCKED:
        return _LOCKED[key]
    handle = open(run_dir / LOCK_FILE, "a")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise RunDirError(f"run dir {run_dir} is in use by another vzgym process") from None
    _LOCKED[key] = handle
    return handle

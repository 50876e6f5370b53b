"""Run directories: finding the newest run, claiming a fresh one, locking, "already holds a run".

One module for every command that writes a run (``vzgym train``, the trainers,
``vzgym selfplay mm-zero``), so they agree on what a used run dir is.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

#: Files that mean a run dir already holds a training run.
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
    """The most recently modified run dir matching ``template`` for ``env_id``.

    Raises:
        RunDirError: no dir matches.
    """
    pattern = run_dir_pattern(template, env_id)
    found = sorted(map(Path, glob.glob(pattern)), key=lambda p: p.stat().st_mtime)
    if not found:
        raise RunDirError(f"--resume: no run matches {pattern}; give --run-dir")
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


def holds_run(run_dir: Path) -> bool:
    """True when ``run_dir`` has a training run's files (:data:`RUN_FILES`)."""
    return any((run_dir / name).exists() for name in RUN_FILES)


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

"""Shared bits of the spy-edits tests (not named conftest: vzgym's tests/ has one)."""

import shutil
import subprocess
import sys
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
GOOD = ("beach.webp", "landscape.jpg", "room.png", "still_life.webp", "street.png", "wall.jpg")
CORRUPT = ("zz_not_really.png", "zz_truncated.jpg")


def copy_images(dest: Path, names) -> Path:
    """Copy some of the shipped test images into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(IMAGES / name, dest / name)
    return dest


def run_cli(*args, timeout=600):
    """Run ``vzgym`` (this interpreter, this PYTHONPATH) and return the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "vzgym.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )

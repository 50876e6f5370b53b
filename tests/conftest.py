import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VZGYM = shutil.which("vzgym", path=str(Path(sys.executable).parent)) or "vzgym"


def run_vzgym(*args, env=None, input=None, timeout=120, check=True):
    """Run the real ``vzgym`` script in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [VZGYM, *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"vzgym {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def vzgym_cli():
    return run_vzgym

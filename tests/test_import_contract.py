"""The layer contract in pyproject.toml (import-linter) holds, and it catches a violation."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_layers_point_down_and_games_use_no_model_libraries():
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert " kept, 0 broken" in out.stdout and out.stdout.count(" KEPT") >= 3


def test_a_game_importing_agents_or_torch_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "vzgym", tmp_path / "vzgym", ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    toy = tmp_path / "vzgym" / "envs" / "toy.py"
    toy.write_text(
        toy.read_text() + "\nimport torch  # noqa\nfrom vzgym.agents import spec  # noqa\n"
    )
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "vzgym.envs.toy -> vzgym.agents.spec" in out.stdout
    assert "vzgym.envs.toy -> torch" in out.stdout

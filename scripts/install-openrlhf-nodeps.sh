#!/usr/bin/env bash
# Install OpenRLHF 0.11.2 for vzgym's CPU tests: the wheel WITHOUT its dependencies
# (deepspeed, vllm, ray, flash-attn are CUDA builds, gigabytes) plus the few light
# packages the modules the tests import need (openrlhf.utils.agent imports aiohttp).
# The constraints file pins torch/torchvision to the build on disk, so nothing here
# can replace them.  Usage: scripts/install-openrlhf-nodeps.sh [PYTHON]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
bash "$ROOT/scripts/pip-install.sh" "$PY" -q --no-deps -c "$ROOT/constraints.txt" "openrlhf==0.11.2"
bash "$ROOT/scripts/pip-install.sh" "$PY" -q -c "$ROOT/constraints.txt" "aiohttp>=3.9" "pylatexenc>=2.10"
"$PY" -c "import openrlhf.utils.agent, openrlhf.utils.vlm_utils, openrlhf.datasets, openrlhf.datasets.utils"

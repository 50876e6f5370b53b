#!/usr/bin/env bash
# Make `import vllm` work on a CPU test machine so tests can build vLLM's real request
# objects (SamplingParams, RequestOutput, TextPrompt).  The wheel is installed WITHOUT
# its dependencies (they pin a CUDA torch); only the light pure-Python modules its
# import chain needs come along.  The engine itself (vllm.LLM) still cannot run here.
# Usage: scripts/install-vllm-nodeps.sh [PYTHON]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-$ROOT/.venv/bin/python}"
bash "$ROOT/scripts/pip-install.sh" "$PY" -q --no-deps -c "$ROOT/constraints.txt" vllm==0.29.0 msgspec==0.22.0 \
  cbor2==6.2.1 pyzmq==27.3.0 openai-harmony==0.0.8 pybase64==1.5.1 cachetools==8.0.1 \
  uvloop==0.23.0 py-cpuinfo==9.0.0 prometheus_client==0.26.0 urllib3==2.8.0 \
  certifi==2026.10.18 requests==2.34.2 charset-normalizer idna
"$PY" -c "from vllm import SamplingParams; from vllm.outputs import RequestOutput"

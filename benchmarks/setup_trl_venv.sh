#!/usr/bin/env bash
# Make the TRL benchmark's own virtualenv (TRL is never a vzgym dependency).
#   bash benchmarks/setup_trl_venv.sh [VENV]      (default: .venv-trl)
# torch/torchvision come from constraints.txt (the build on this machine's disk);
# transformers is held at the version vzgym's .venv has, so both sides run the same model code.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-trl}"
PY="${PYTHON:-python3}"
TF_VERSION="$("${VZGYM_VENV:-.venv}"/bin/python -c 'import transformers; print(transformers.__version__)' 2>/dev/null || true)"
"$PY" -m venv "$VENV"
bash scripts/pip-install.sh "$VENV/bin/python" -q --upgrade pip
bash scripts/pip-install.sh "$VENV/bin/python" -q -c constraints.txt torch==2.14.1 torchvision==0.29.1
EXTRA=()
if [ -n "$TF_VERSION" ]; then EXTRA+=("transformers==$TF_VERSION"); fi
bash scripts/pip-install.sh "$VENV/bin/python" -q -c constraints.txt trl "${EXTRA[@]}"
# vzgym itself without its dependency list, plus the few it needs that TRL did not bring
bash scripts/pip-install.sh "$VENV/bin/python" -q --no-deps -e .
bash scripts/pip-install.sh "$VENV/bin/python" -q -c constraints.txt pluggy gymnasium click rich pillow pyarrow numpy
"$VENV/bin/python" -c 'import trl, torch, vzgym; print("trl", trl.__version__, "torch", torch.__version__)'

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
# vzgym itself without its dependency list (so nothing can replace TRL's pins), then its
# base dependencies as pyproject.toml lists them, and pyarrow for the trajectories
bash scripts/pip-install.sh "$VENV/bin/python" -q --no-deps -e .
mapfile -t DEPS < <("$VENV/bin/python" -c '
try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    print(dep)')
bash scripts/pip-install.sh "$VENV/bin/python" -q -c constraints.txt "${DEPS[@]}" pyarrow
"$VENV/bin/python" -c 'import trl, torch, vzgym; print("trl", trl.__version__, "torch", torch.__version__)'

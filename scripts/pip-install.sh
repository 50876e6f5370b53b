#!/usr/bin/env bash
# `pip install` that survives a flaky registry connection: pip retries each request and
# resumes a broken download (PIP_RETRIES, PIP_RESUME_RETRIES, PIP_TIMEOUT; a pip too old to
# know an option ignores its variable), and the whole install is tried again, after a
# pause, if it still fails (a 316 MB wheel once stopped at 198 MB six times in a row).
# Usage: scripts/pip-install.sh PYTHON [pip install arguments...]
set -uo pipefail
PY="$1"; shift
export PIP_RETRIES="${PIP_RETRIES:-10}" PIP_RESUME_RETRIES="${PIP_RESUME_RETRIES:-30}" \
  PIP_TIMEOUT="${PIP_TIMEOUT:-60}" PIP_DISABLE_PIP_VERSION_CHECK=1
attempts="${PIP_INSTALL_ATTEMPTS:-4}"
for ((i = 1; i <= attempts; i++)); do
  "$PY" -m pip install "$@" && exit 0
  status=$?
  if ((i < attempts)); then
    pause=$((15 * i))
    echo "Error: pip install failed (exit $status, attempt $i of $attempts); trying again in ${pause} s" >&2
    sleep "$pause"
  fi
done
echo "Error: pip install failed $attempts times: $*" >&2
exit "$status"

"""math-verify runs in a killable worker: hostile answers cost bounded time, never a hang."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("math_verify")

from vzgym.envs.svg.answers import answers_equivalent  # noqa: E402
from vzgym.envs.svg.mathcheck import MathVerifyWorker  # noqa: E402

TOWER = "9^{9^{9^{9}}}"  # sympy evaluates this in C code holding the GIL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie counts as gone
        return f.read().split()[2] != "Z"


def test_worker_answers_and_is_reused() -> None:
    worker = MathVerifyWorker()
    try:
        assert worker.equal("0.5", r"\frac{1}{2}") is True
        pid = worker.pid
        assert worker.equal("3", "4") is False
        assert worker.pid == pid  # one process serves every request
    finally:
        worker.close()
    assert pid is not None and not _alive(pid)


def test_worker_past_hard_timeout_is_killed_and_replaced() -> None:
    # start-up (imports) may take seconds on a loaded machine: warm up with a long
    # deadline, then hold the worker to 1 s
    worker = MathVerifyWorker(timeout=30, hard_timeout=60.0)
    try:
        assert worker.equal("1", "1.0") is True
        worker.hard_timeout = 1.0
        first = worker.pid
        start = time.monotonic()
        assert worker.equal("2", TOWER) is None
        assert time.monotonic() - start < 5
        assert worker.kills == 1
        assert first is not None and not _alive(first)
        assert worker.equal("0.5", r"\frac{1}{2}") is True  # a fresh worker
        assert worker.pid not in (None, first)
    finally:
        worker.close()


def test_tower_from_a_thread_does_not_hang() -> None:
    # off the main thread math-verify has no timeout of its own; the worker has
    result: dict[str, bool] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("eq", answers_equivalent(TOWER, "2")), daemon=True
    )
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert result == {"eq": False}
    # the worker started from that (finished) thread still serves the main thread
    assert answers_equivalent(r"\frac{1}{2}", "0.5")


def test_worker_dies_with_its_parent() -> None:
    code = (
        "import os, sys\n"
        "from vzgym.envs.svg.mathcheck import MathVerifyWorker\n"
        "w = MathVerifyWorker()\n"
        "assert w.equal('1', '1.0')\n"
        "print(w.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def test_forked_child_starts_its_own_worker() -> None:
    worker = MathVerifyWorker()
    try:
        assert worker.equal("2", "2.0")
        parent_pid = worker.pid
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            ok = worker.equal("0.5", r"\frac{1}{2}") is True and worker.pid != parent_pid
            os.write(write, b"1" if ok else b"0")
            worker.close()
            os._exit(0)
        os.close(write)
        assert os.read(read, 1) == b"1"
        os.waitpid(child, 0)
        assert worker.pid == parent_pid and worker.equal("1", "1")  # ours is untouched
    finally:
        worker.close()

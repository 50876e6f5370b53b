"""math-verify in a worker process that is killed when it runs too long.

``math-verify`` hands answers to sympy, and some inputs make sympy compute for
minutes inside C code that holds the GIL (``9^{9^{9^{9}}}``): neither
math-verify's own SIGALRM timeouts (main thread only) nor a watchdog thread
can stop that in-process.  :class:`MathVerifyWorker` therefore runs the
checks in a child process (``python -m vzgym.envs.svg.mathcheck``), one
request at a time over pipes (a JSON line each way):

* the child applies math-verify's own timeouts (``timeout`` seconds per
  parse/verify call), which end ordinary slow cases gracefully;
* the parent waits at most ``hard_timeout`` seconds for an answer; past that
  it SIGKILLs the child, reports "not shown equal" and starts a fresh child
  on the next request;
* the child has an address-space limit (``max_memory``), exits when its
  stdin closes, and dies with its parent: a watchdog thread, plus
  ``PR_SET_PDEATHSIG`` on Linux when the parent started it from its main
  thread (the signal fires when the *thread* that started the child ends, so
  a child started from a short-lived thread must not use it).

A worker inherited through ``fork`` is never used by the child process; it
starts its own.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

#: Seconds math-verify may spend per parse/verify call inside the worker.
DEFAULT_TIMEOUT = 2.0
#: Seconds the parent waits for one answer before killing the worker.
DEFAULT_HARD_TIMEOUT = 10.0
#: Address-space limit of the worker process (bytes).
DEFAULT_MAX_MEMORY = 2 << 30


class MathVerifyWorker:
    """A killable child process answering "are these two answers equal?" with math-verify.

    Args:
        timeout: math-verify's own timeout per call, inside the worker (seconds).
        hard_timeout: the longest the parent waits for one answer (seconds).
        max_memory: the worker's ``RLIMIT_AS`` in bytes (None: no limit).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        hard_timeout: float = DEFAULT_HARD_TIMEOUT,
        max_memory: int | None = DEFAULT_MAX_MEMORY,
    ) -> None:
        if timeout <= 0 or hard_timeout <= 0:
            raise ValueError("timeout and hard_timeout must be > 0")
        self.timeout = float(timeout)
        self.hard_timeout = float(hard_timeout)
        self.max_memory = max_memory
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self._buf = bytearray()
        self._lock = threading.Lock()
        #: How many times a worker was killed for running past ``hard_timeout``.
        self.kills = 0

    # -------------------------------------------------------------- lifecycle

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before the first request or after a kill)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        limit = "none" if self.max_memory is None else str(int(self.max_memory))
        main = threading.current_thread() is threading.main_thread()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vzgym.envs.svg.mathcheck",
                str(self.timeout),
                limit,
                "pdeathsig" if main else "watchdog",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            bufsize=0,
        )
        self._buf.clear()
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._owner != os.getpid():
            return
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()
        for f in (proc.stdin, proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop the worker process (a later request starts a new one)."""
        with self._lock:
            self._kill()

    # --------------------------------------------------------------- requests

    def equal(self, a: str, b: str) -> bool | None:
        """Return whether math-verify shows ``a`` and ``b`` equal (either direction).

        None when no answer came: the worker timed out (and was killed), crashed
        or could not start.  Callers treat None as "not shown equal".
        """
        with self._lock:
            if self._owner != os.getpid():  # inherited through fork: start our own
                self._proc, self._owner = None, os.getpid()
            if self._proc is None or self._proc.poll() is not None:
                self._kill()
                try:
                    self._proc = self._start()
                except OSError:
                    return None
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            line = json.dumps({"a": a, "b": b}).encode() + b"\n"
            try:
                os.write(proc.stdin.fileno(), line)
                reply = self._read_line(proc.stdout.fileno(), time.monotonic() + self.hard_timeout)
            except OSError:
                reply = None
            if reply is None:
                self.kills += 1
                self._kill()
                return None
            try:
                return bool(json.loads(reply)["equal"])
            except (ValueError, KeyError, TypeError):
                self._kill()
                return None

    def _read_line(self, fd: int, deadline: float) -> bytes | None:
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:  # the worker died
                return None
            self._buf.extend(chunk)
        end = self._buf.index(b"\n")
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return line


_default: MathVerifyWorker | None = None
_default_lock = threading.Lock()


def default_worker() -> MathVerifyWorker:
    """Return the process-wide worker (created on first use, stopped at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MathVerifyWorker()
            atexit.register(_default.close)
        return _default


# ------------------------------------------------------------------ worker side


def _die_with_parent(ppid: int, pdeathsig: bool) -> None:
    if pdeathsig:
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != ppid:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def _set_memory_limit(max_memory: int | None) -> None:
    if max_memory is None:
        return
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        value = max_memory if hard == resource.RLIM_INFINITY else min(max_memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (value, hard))
    except (ImportError, ValueError, OSError):
        pass


def _check(a: str, b: str, timeout: float) -> bool:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    seconds: Any = max(1, round(timeout))  # math-verify's SIGALRM timeouts are whole seconds
    pa = parse(f"${a}$", extraction_config=config, parsing_timeout=seconds)
    pb = parse(f"${b}$", extraction_config=config, parsing_timeout=seconds)
    if not pa or not pb:
        return False
    return bool(verify(pa, pb, timeout_seconds=seconds) or verify(pb, pa, timeout_seconds=seconds))


def main(argv: list[str] | None = None) -> None:
    """Worker loop: one JSON request per stdin line, one JSON reply per stdout line."""
    args = sys.argv[1:] if argv is None else argv
    timeout = float(args[0]) if args else DEFAULT_TIMEOUT
    max_memory = None if len(args) < 2 or args[1] == "none" else int(args[1])
    _die_with_parent(os.getppid(), len(args) >= 3 and args[2] == "pdeathsig")
    _set_memory_limit(max_memory)
    out = sys.stdout.buffer
    for raw in sys.stdin.buffer:
        try:
            request = json.loads(raw)
            equal = _check(str(request["a"]), str(request["b"]), timeout)
        except Exception:  # noqa: BLE001 - a checker failure means "not shown equal"
            equal = False
        out.write(json.dumps({"equal": equal}).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()

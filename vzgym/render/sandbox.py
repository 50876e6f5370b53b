"""Process pool that renders SVG in killable worker processes.

Design:

* Workers are plain ``subprocess.Popen`` children (``python -c`` importing
  :mod:`vzgym.render._worker`), not ``multiprocessing``: nothing re-imports the
  caller's ``__main__``, nothing is forked from a threaded parent, and no pickle
  crosses the boundary (``_protocol`` frames are JSON + raw bytes).
* One pipe pair per worker; the caller multiplexes all busy workers with
  ``selectors`` so a batch is spread over every worker at once, and each job has its
  own deadline (``RenderLimits.timeout``, counted from dispatch to a *ready* worker).
* On a deadline the worker gets SIGKILL + ``wait()`` (C code in cairo cannot be
  interrupted in-process) and a replacement is started; only that job is ``timeout``.
  A worker that dies mid-job (segfault, OOM killer) gives ``render_error`` and is
  replaced the same way.
* Workers start lazily on the first render, stay warm across batches and are stopped by
  :meth:`SVGRenderer.close` -- also called by ``with``, by a ``weakref.finalize`` when
  the renderer is garbage-collected, and at interpreter exit. Each worker also exits by
  itself when its parent process disappears (watchdog thread) or its stdin closes.
* After ``os.fork()`` a child process does not touch the parent's workers; it starts
  its own.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from vzgym.render import _protocol
from vzgym.render.limits import PrecheckError, RenderLimits, precheck_input
from vzgym.render.results import RenderResult, RenderStatus

__all__ = ["SVGRenderer", "render_svg", "shared_renderer"]

DEFAULT_LIMITS = RenderLimits()
STARTUP_TIMEOUT = 60.0
_PIPELINE_DEPTH = 2  # jobs in flight per worker: hides the pipe round trip
_PREFETCH_MAX = 32 * 1024  # a prefetched frame must fit the 64 KiB pipe buffer
_READ_SIZE = 1 << 18
_PKG_ROOT = str(Path(__file__).resolve().parents[2])
# The worker imports only vzgym.render: a bare stand-in for the top-level package keeps
# ``vzgym/__init__`` (and whatever it imports: gymnasium, numpy, ...) out of the worker.
_BOOTSTRAP = (
    "import sys, types; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "m = types.ModuleType('vzgym'); "
    f"m.__path__ = [{str(Path(_PKG_ROOT) / 'vzgym')!r}]; sys.modules['vzgym'] = m; "
    "from vzgym.render._worker import main; main()"
)


class _Worker:
    """One worker process and its pipe state (caller side)."""

    def __init__(self, max_memory: int | None, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, "none" if max_memory is None else str(max_memory)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            bufsize=0,
        )
        self.owner_pid = os.getpid()
        self.started = time.monotonic()
        self.ready = False
        self.buf = bytearray()
        self.jobs: deque[int] = deque()  # batch indices in flight; head is running
        self.deadline = 0.0
        self.dispatched = 0.0

    @property
    def out_fd(self) -> int:
        assert self.proc.stdout is not None
        return self.proc.stdout.fileno()

    def send(self, frame: bytes) -> None:
        assert self.proc.stdin is not None
        view = memoryview(frame)
        fd = self.proc.stdin.fileno()
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def kill(self) -> None:
        """SIGKILL and reap (idempotent)."""
        if self.owner_pid != os.getpid():
            return  # inherited through fork: not ours to kill
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass

    def stop(self, grace: float) -> None:
        """Close stdin (the worker exits by itself), then kill after ``grace`` seconds."""
        if self.owner_pid != os.getpid():
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


def _stop_all(workers: list[_Worker]) -> None:
    """Finaliser body: must not reference the renderer itself."""
    ws = list(workers)
    workers.clear()
    for w in ws:  # close every stdin first so they exit in parallel
        if w.owner_pid == os.getpid() and w.proc.stdin is not None:
            try:
                w.proc.stdin.close()
            except OSError:
                pass
    for w in ws:
        w.stop(grace=1.0)


class SVGRenderer:
    """Pool of sandboxed cairosvg worker processes (context manager).

    Args:
        limits: :class:`RenderLimits` for every render of this renderer
            (``max_memory`` is applied when a worker starts).
        workers: number of worker processes (default ``os.cpu_count()``).

    ``render``/``render_batch`` never raise for bad input; they may be called from
    several threads (calls are serialised). Workers start on first use and stay warm
    until :meth:`close`.
    """

    def __init__(self, limits: RenderLimits = DEFAULT_LIMITS, workers: int | None = None) -> None:
        self.limits = limits
        self.n_workers = max(1, int(workers or os.cpu_count() or 1))
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._env: dict[str, str] | None = None
        self._closed = False
        self._pid = os.getpid()
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)
        self._finalizer.atexit = True

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> SVGRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (stdin closed, then SIGKILL after 1 s) and reap it."""
        with self._lock:
            self._closed = True
            self._finalizer()

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes (for tests and monitoring)."""
        return [w.proc.pid for w in self._workers if w.proc.poll() is None]

    def _worker_env(self) -> dict[str, str]:
        if self._env is None:
            from vzgym.render.fonts import fontconfig_env

            # Only what Python and fontconfig need: no API keys or tokens for the worker.
            env = {k: v for k, v in os.environ.items() if k in _WORKER_ENV_KEYS}
            env.update(fontconfig_env())
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            self._env = env
        return self._env

    def _after_fork_check(self) -> None:
        if os.getpid() != self._pid:  # forked: the parent's workers are not ours
            self._workers = []
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _stop_all, self._workers)
            self._finalizer.atexit = True
            self._pid = os.getpid()

    def _spawn(self) -> _Worker:
        w = _Worker(self.limits.max_memory, self._worker_env())
        self._workers.append(w)
        return w

    def _discard(self, w: _Worker) -> None:
        w.kill()
        if w in self._workers:
            self._workers.remove(w)

    # -- rendering -------------------------------------------------------------------

    def render(self, svg: str | bytes) -> RenderResult:
        """Render one SVG; see :meth:`render_batch`."""
        return self.render_batch([svg])[0]

    def render_batch(self, svgs: Sequence[str | bytes]) -> list[RenderResult]:
        """Render ``svgs`` over all workers concurrently; results keep the input order.

        Never raises for bad input: every item gets a :class:`RenderResult`. A job over
        ``limits.timeout`` kills and replaces only its worker. Raises ``RuntimeError``
        only if the renderer was closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("SVGRenderer is closed")
            self._after_fork_check()
            return self._run(list(svgs))

    def _run(self, svgs: list[object]) -> list[RenderResult]:
        limits = self.limits
        results: list[RenderResult | None] = [None] * len(svgs)
        payloads: dict[int, bytes] = {}
        queue: deque[int] = deque()
        for i, svg in enumerate(svgs):
            try:
                payloads[i] = precheck_input(svg, limits)
                queue.append(i)
            except PrecheckError as e:
                results[i] = RenderResult(e.status, None, e.message)
        remaining = len(queue)
        if not remaining:
            return results  # type: ignore[return-value]
        try:
            self._worker_env()
        except Exception as e:  # bundled font missing, no writable cache dir
            for i in queue:
                results[i] = RenderResult(
                    RenderStatus.RENDER_ERROR, None, f"renderer set-up failed: {e}"
                )
            return results  # type: ignore[return-value]

        limits_dict = limits.to_dict()
        max_frame = _max_png_bytes(limits) + (1 << 20)  # PNG + header + one read of slack
        sel = selectors.DefaultSelector()
        startup_error: str | None = None
        retries: dict[int, int] = {}

        def finish(i: int, res: RenderResult) -> None:
            nonlocal remaining
            results[i] = res
            payloads.pop(i, None)
            remaining -= 1

        def replace_worker(w: _Worker) -> None:
            """Kill ``w``, requeue its jobs and start a fresh worker (kept warm)."""
            queue.extendleft(reversed(w.jobs))
            w.jobs.clear()
            sel.unregister(w.out_fd)
            self._discard(w)
            if startup_error is None:
                nw = self._spawn()
                sel.register(nw.out_fd, selectors.EVENT_READ, nw)

        def fail_worker(w: _Worker, status: RenderStatus, message: str) -> None:
            """Kill ``w``; its current job gets ``status``, prefetched jobs are requeued."""
            if w not in self._workers:
                return  # already replaced earlier in this round
            if w.jobs:
                head = w.jobs.popleft()
                finish(head, RenderResult(status, None, message,
                                          seconds=time.monotonic() - w.dispatched))
            replace_worker(w)

        def dispatch(w: _Worker) -> None:
            """Keep ``w`` busy: one running job plus one small prefetched one."""
            while queue and len(w.jobs) < _PIPELINE_DEPTH:
                i = queue[0]
                frame = _protocol.encode({"id": i, "limits": limits_dict}, payloads[i])
                if w.jobs and len(frame) > _PREFETCH_MAX:
                    return  # would block on a full pipe while the worker is busy
                queue.popleft()
                if not w.jobs:
                    w.dispatched = time.monotonic()
                    w.deadline = w.dispatched + limits.timeout
                w.jobs.append(i)
                try:
                    w.send(frame)
                except OSError:  # died while idle: retry its jobs on a fresh worker
                    retries[i] = retries.get(i, 0) + 1
                    if retries[i] > 2:
                        fail_worker(w, RenderStatus.RENDER_ERROR, "worker died")
                    else:
                        queue.extendleft(reversed(w.jobs))
                        w.jobs.clear()
                        fail_worker(w, RenderStatus.RENDER_ERROR, "worker died")
                    return

        def on_frame(w: _Worker, header: dict, payload: bytes) -> bool:
            """Handle one frame from ``w``; False if ``w`` was killed."""
            nonlocal startup_error
            if not w.ready:
                if header.get("ready"):
                    w.ready = True
                    dispatch(w)
                    return w in self._workers
                startup_error = "worker failed to start: " + str(header.get("error", ""))
                fail_worker(w, RenderStatus.RENDER_ERROR, startup_error)
                return False
            if not w.jobs or header.get("id") != w.jobs[0]:
                fail_worker(w, RenderStatus.RENDER_ERROR, "protocol error: unexpected id")
                return False
            try:
                status = RenderStatus(header["status"])
                width, height = int(header.get("width", 0)), int(header.get("height", 0))
            except (KeyError, ValueError, TypeError):
                fail_worker(w, RenderStatus.RENDER_ERROR, "protocol error: bad header")
                return False
            if payload and not _png_matches(payload, width, height, limits):
                fail_worker(w, RenderStatus.RENDER_ERROR, "protocol error: not the promised PNG")
                return False
            now = time.monotonic()
            i = w.jobs.popleft()
            finish(i, RenderResult(status, payload or None, str(header.get("message", "")),
                                   width, height, now - w.dispatched))
            if header.get("recycle"):  # cairo state may be broken: replace the worker
                replace_worker(w)
                return False
            if w.jobs:  # the prefetched job starts now
                w.dispatched = now
                w.deadline = now + limits.timeout
            dispatch(w)
            return w in self._workers  # dispatch may have found it dead

        try:
            for w in list(self._workers):  # drop dead idle workers
                if w.proc.poll() is not None:
                    self._discard(w)
            while len(self._workers) < min(self.n_workers, remaining):
                self._spawn()
            for w in self._workers:
                w.jobs.clear()
                sel.register(w.out_fd, selectors.EVENT_READ, w)
            for w in list(self._workers):
                if w.ready:
                    dispatch(w)

            while remaining:
                if not self._workers:
                    msg = startup_error or "no worker available"
                    for i in list(queue):
                        finish(i, RenderResult(RenderStatus.RENDER_ERROR, None, msg))
                    queue.clear()
                    break
                deadlines = [
                    w.deadline if w.jobs else w.started + STARTUP_TIMEOUT
                    for w in self._workers
                    if w.jobs or not w.ready
                ]
                wait = max(0.0, min(deadlines) - time.monotonic()) if deadlines else 1.0
                for key, _ in sel.select(timeout=wait):
                    w = key.data
                    if w not in self._workers:
                        continue  # killed earlier in this round
                    try:
                        chunk = os.read(w.out_fd, _READ_SIZE)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        code = w.proc.wait()
                        if not w.ready:
                            startup_error = f"worker exited during start-up (code {code})"
                        fail_worker(
                            w, RenderStatus.RENDER_ERROR, f"worker crashed (exit code {code})"
                        )
                        continue
                    w.buf += chunk
                    if len(w.buf) > max_frame:  # never buffer more than a legal answer
                        fail_worker(w, RenderStatus.RENDER_ERROR, "protocol error: frame too large")
                        continue
                    while True:
                        try:
                            frame = _protocol.try_decode(w.buf)
                        except _protocol.ProtocolError as e:
                            fail_worker(w, RenderStatus.RENDER_ERROR, f"protocol error: {e}")
                            break
                        if frame is None or not on_frame(w, *frame):
                            break
                now = time.monotonic()
                for w in list(self._workers):
                    if w.jobs and now >= w.deadline:
                        fail_worker(
                            w,
                            RenderStatus.TIMEOUT,
                            f"render exceeded {limits.timeout:g} s; worker killed",
                        )
                    elif not w.ready and now >= w.started + STARTUP_TIMEOUT:
                        startup_error = f"worker not ready after {STARTUP_TIMEOUT:g} s"
                        fail_worker(w, RenderStatus.RENDER_ERROR, startup_error)
        except BaseException:
            # KeyboardInterrupt or a bug: never leave a worker half-way through a job.
            for w in list(self._workers):
                if w.jobs or not w.ready:
                    self._discard(w)
            raise
        finally:
            sel.close()
        return results  # type: ignore[return-value]


def _max_png_bytes(limits: RenderLimits) -> int:
    """The largest PNG a worker may return: raw RGBA plus generous zlib/PNG overhead."""
    raw = limits.max_area * 4 + limits.max_side  # pixels + one filter byte per row
    return raw + raw // 100 + (64 << 10)


def _png_matches(payload: bytes, width: int, height: int, limits: RenderLimits) -> bool:
    """Whether ``payload`` is a PNG of the size the worker reported, within the limits."""
    if len(payload) > _max_png_bytes(limits) or len(payload) < 24:
        return False
    if payload[:8] != b"\x89PNG\r\n\x1a\n" or payload[12:16] != b"IHDR":
        return False
    w, h = int.from_bytes(payload[16:20], "big"), int.from_bytes(payload[20:24], "big")
    return (w, h) == (width, height) and 0 < w * h <= limits.max_area


_WORKER_ENV_KEYS = frozenset(
    {"PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "HOME", "TMPDIR", "LANG", "LC_ALL",
     "LC_CTYPE", "SYSTEMROOT", "LD_LIBRARY_PATH", "VZGYM_CACHE", "XDG_CACHE_HOME"}
)  # fmt: skip

_shared: dict[int | None, SVGRenderer] = {}
_shared_lock = threading.Lock()


def shared_renderer(max_memory: int | None = DEFAULT_LIMITS.max_memory) -> SVGRenderer:
    """Return the module-level one-worker renderer used by :func:`render_svg`.

    One per ``max_memory`` value (the only limit fixed at worker start); closed at
    interpreter exit.
    """
    with _shared_lock:
        r = _shared.get(max_memory)
        if r is None or r._closed:
            r = SVGRenderer(RenderLimits(max_memory=max_memory), workers=1)
            _shared[max_memory] = r
        return r


def render_svg(svg: str | bytes, limits: RenderLimits = DEFAULT_LIMITS) -> RenderResult:
    """Render one SVG in the sandbox (one-shot convenience).

    Uses a module-level, lazily started, single-worker :func:`shared_renderer` (kept
    warm between calls, stopped at interpreter exit) with ``limits`` applied to this
    call. For throughput, use :meth:`SVGRenderer.render_batch` on your own renderer.
    """
    r = shared_renderer(limits.max_memory)
    with r._lock:
        if r._closed:
            raise RuntimeError("shared renderer closed")
        r._after_fork_check()
        saved = r.limits
        r.limits = limits
        try:
            return r._run([svg])[0]
        finally:
            r.limits = saved

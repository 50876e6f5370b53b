"""Worker process: reads render jobs on stdin, answers on stdout (see ``_protocol``).

Started by :class:`vzgym.render.sandbox.SVGRenderer` as
``python -c "...; from vzgym.render._worker import main; main()" <max_memory>`` with
``FONTCONFIG_FILE`` already in its environment. Start-up order matters:

1. keep private copies of fds 0/1 for the protocol, point fd 0 at /dev/null and fd 1 at
   stderr (a stray ``printf`` in C cannot corrupt the protocol);
2. a watchdog thread exits the process if the parent dies;
3. import cairosvg and render two warm-up text SVGs, transparent and opaque (loads cairo,
   fontconfig, the font, both PNG encoders);
4. ``RLIMIT_AS`` (memory bombs -> MemoryError/cairo NO_MEMORY -> ``render_error``),
   ``RLIMIT_FSIZE`` 0 (never writes a file), ``RLIMIT_CORE`` 0;
5. an audit hook refusing sockets, ``urllib`` requests, subprocesses and ``open()`` of
   anything outside the Python installation -- a second line behind the refusing
   ``url_fetcher``;
6. send ``ready`` and serve jobs until stdin closes.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from vzgym.render import _protocol
from vzgym.render._png import encode_surface
from vzgym.render.limits import PrecheckError, RenderLimits, precheck_svg
from vzgym.render.results import RenderStatus

#: Warm-up renders: transparent (cairo's PNG encoder) and opaque (``_png``'s fast path).
_WARMUPS = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<text x="2" y="15" font-size="12">Ag</text></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
    b'<rect width="40" height="20" fill="#fff"/><text x="2" y="15" font-size="12">Ag</text></svg>',
)
#: cairo errors about one call's arguments (they leave no shared state behind); any
#: other cairo/FreeType error gets the worker replaced.
_BENIGN_CAIRO_ERRORS = ("INVALID_MATRIX", "INVALID_DASH")
#: Inline raster formats Pillow may decode in the worker.
_RASTER_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP"})
_BLOCKED_EVENT_PREFIXES = ("socket.", "urllib.", "subprocess.", "os.exec", "os.posix_spawn",
                           "os.spawn", "os.system", "os.fork", "os.startfile", "ftplib.",
                           "http.client.", "smtplib.", "poplib.", "imaplib.", "nntplib.",
                           "telnetlib.", "webbrowser.")


def _watchdog(ppid: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(3)


def _set_rlimits(max_memory: int | None) -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for lim, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_AS, max_memory),
    ):
        if value is None:
            continue
        try:
            _, hard = resource.getrlimit(lim)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(lim, (value, value))  # hard too: the worker cannot raise it
        except (ValueError, OSError):
            pass


def _install_audit_hook() -> None:
    import site

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        roots.update(site.getsitepackages())
    except AttributeError:
        pass
    roots.add(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    allowed = tuple(os.path.realpath(r) + os.sep for r in roots if r)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path = args[0] if args else None
            if path is None or isinstance(path, int):
                return
            try:
                real = os.path.realpath(os.fsdecode(path))
            except Exception:
                raise PermissionError("sandbox: open refused") from None
            if not real.startswith(allowed):
                raise PermissionError(f"sandbox: open({real!r}) refused")
        elif event.startswith(_BLOCKED_EVENT_PREFIXES):
            raise PermissionError(f"sandbox: {event} refused")

    sys.addaudithook(hook)


def _scheme(url: str) -> str:
    head, sep, _ = url.partition(":")
    return f"{head[:20]}:..." if sep and head.isascii() and head.isalnum() else "(relative)"


class _Renderer:
    """cairosvg wrapped with the refusing fetcher, forced raster size and empty check."""

    def __init__(self) -> None:
        import cairosvg.url
        from cairosvg.parser import Tree
        from cairosvg.surface import PNGSurface
        from PIL import Image

        def _no_fetch(url: str, resource_type: str) -> bytes:
            raise PermissionError("sandbox: network/file fetch refused")

        cairosvg.url.fetch = _no_fetch  # only reachable with the default fetcher: belt
        cairosvg.url.urlopen = _no_fetch  # and braces
        Image.init()  # load PIL plugins now, not lazily after the audit hook is in place
        # Inline rasters: only these decoders, and a pixel limit that is an error.
        for fmt in list(Image.OPEN):
            if fmt not in _RASTER_FORMATS:
                del Image.OPEN[fmt]
        Image.ID[:] = [fmt for fmt in Image.ID if fmt in _RASTER_FORMATS]
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        self.Image = Image
        self.Tree = Tree
        self.PNGSurface = PNGSurface
        #: Set after a cairo/FreeType error: such errors can leave cairo's font state
        #: broken for later renders, so the worker is replaced after answering.
        self.poisoned = False

    def render(self, data: bytes, limits: RenderLimits) -> tuple[RenderStatus, bytes | None,
                                                                   str, int, int]:
        from vzgym.render.fetch import RefusingFetcher

        try:
            checked = precheck_svg(data, limits)
        except PrecheckError as e:
            return e.status, None, e.message, 0, 0
        w, h = checked.width, checked.height
        self.Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
        fetcher = RefusingFetcher(limits.max_bytes, limits.max_image_pixels)
        try:
            tree = self.Tree(bytestring=checked.data, url_fetcher=fetcher, unsafe=False)
            surface = self.PNGSurface(  # output None: draw only, encode_surface writes
                tree, None, 96, parent_width=w, parent_height=h, output_width=w, output_height=h
            )
            img = surface.cairo
            img.flush()
            png, transparent = encode_surface(img, self.Image)
            surface.finish()
        except MemoryError:
            return RenderStatus.RENDER_ERROR, None, "out of memory", w, h
        except RecursionError:
            return RenderStatus.TOO_LARGE, None, "nesting too deep for the renderer", w, h
        except Exception as e:
            msg = f"{type(e).__name__}: {str(e)[:300]}"
            if "referenced elements" in msg:
                return RenderStatus.TOO_LARGE, None, msg, w, h
            upper = msg.upper()
            if ("CAIRO_STATUS" in upper or "FREETYPE" in upper) and not any(
                benign in upper for benign in _BENIGN_CAIRO_ERRORS
            ):
                self.poisoned = True
            if "NO_MEMORY" in msg.upper():
                return RenderStatus.RENDER_ERROR, None, f"out of memory ({msg})", w, h
            return RenderStatus.RENDER_ERROR, None, msg, w, h
        note = ""
        if fetcher.refused:  # schemes only: a path in a message would leak the disk layout
            shown = ", ".join(repr(_scheme(u)) for u in fetcher.refused[:3])
            more = f" (+{len(fetcher.refused) - 3} more)" if len(fetcher.refused) > 3 else ""
            note = f"; refused {len(fetcher.refused)} reference(s): {shown}{more}"
        if transparent:
            return RenderStatus.EMPTY, png, "rendered image is fully transparent" + note, w, h
        return RenderStatus.OK, png, f"rendered {w}x{h}" + note, w, h


def main() -> None:
    """Worker entry point (see module docstring)."""
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    rfile = os.fdopen(in_fd, "rb", buffering=1 << 16)
    wfile = os.fdopen(out_fd, "wb", buffering=0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business

    def send(header: dict[str, Any], payload: bytes = b"") -> None:
        wfile.write(_protocol.encode(header, payload))

    threading.Thread(target=_watchdog, args=(os.getppid(),), daemon=True).start()
    max_memory = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "none" else None
    try:
        renderer = _Renderer()
        for warmup in _WARMUPS:
            status, png, msg, _, _ = renderer.render(warmup, RenderLimits())
            if status is not RenderStatus.OK:
                raise RuntimeError(f"warm-up render failed: {status.value}: {msg}")
        _set_rlimits(max_memory)
        _install_audit_hook()
    except BaseException:
        send({"ready": False, "error": traceback.format_exc()[-2000:]})
        return
    send({"ready": True, "pid": os.getpid()})

    while True:
        try:
            frame = _protocol.read_frame(rfile)
        except Exception:
            return
        if frame is None:
            return
        header, data = frame
        t0 = time.perf_counter()
        try:
            limits = RenderLimits.from_dict(header["limits"])
            status, png, msg, w, h = renderer.render(data, limits)
        except BaseException as e:  # never die on a job: report it
            status, png, msg, w, h = RenderStatus.RENDER_ERROR, None, f"{type(e).__name__}: {e}"[
                :300], 0, 0
        send(
            {
                "id": header.get("id"),
                "status": status.value,
                "message": msg,
                "width": w,
                "height": h,
                "worker_seconds": time.perf_counter() - t0,
                "recycle": renderer.poisoned,
            },
            png or b"",
        )
        # (a poisoned worker keeps serving until the parent, seeing "recycle", kills it:
        # exiting here would race with jobs the parent already sent)

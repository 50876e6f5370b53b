"""Serve a written report on 127.0.0.1 (``vzgym view --serve``)."""

from __future__ import annotations

import functools
import os
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Drop per-request logging."""


def make_server(report: Path, data_root: Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """A server for the folder holding both ``report`` and ``data_root``; returns it and the URL.

    Only 127.0.0.1 is bound.  ``port`` 0 picks a free port.

    Raises:
        OSError: the port is taken (or not allowed).
    """
    root = Path(os.path.commonpath([report.resolve().parent, data_root.resolve()]))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    rel = report.resolve().relative_to(root).as_posix()
    url = f"http://127.0.0.1:{server.server_address[1]}/{urllib.parse.quote(rel)}"
    return server, url

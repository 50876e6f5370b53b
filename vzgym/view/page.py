"""The report page: the HTML shell, its stylesheet and script (package files), and the data."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from vzgym.view.api import esc

_STATIC = Path(__file__).parent / "static"


@cache
def _asset(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``<`` left to close it)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_page(data: dict[str, Any]) -> str:
    """The whole report as one HTML document (styles, script and data inline; no network)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src 'self' data: file: http://127.0.0.1:* ; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'\">"
        f"<title>{esc(data.get('title', 'vzgym view'))}</title>"
        f"<style>{_asset('report.css')}</style></head>\n<body>\n"
        f"{_asset('shell.html')}\n"
        f'<script type="application/json" id="vz-data">{embed_json(data)}</script>\n'
        f"<script>{_asset('report.js')}</script>\n</body></html>\n"
    )

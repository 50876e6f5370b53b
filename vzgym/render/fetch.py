"""The URL fetcher handed to cairosvg inside the worker: it never fetches anything.

cairosvg resolves ``href``/``xlink:href`` (``<image>``, ``<use>``, ``<tref>``,
gradients, ``<textPath>``), ``url(...)`` paint references to other documents and CSS
``@import`` through the ``url_fetcher``; relative references become ``file://`` URLs.
:class:`RefusingFetcher` answers every one of those without network or file access:

* ``http:``, ``https:``, ``file:``, ``ftp:``, relative paths, anything not ``data:``:
  refused and **rendered as absent** (an empty image / an empty SVG / an empty
  stylesheet), and counted in :attr:`RefusingFetcher.refused`.
* ``data:`` URIs are inline content (decoded here, never through ``urllib``): allowed
  for images when the bytes are PNG, JPEG, GIF, WebP or SVG and a raster image has at
  most ``max_image_pixels`` pixels; every other data payload (e.g. EPS/TIFF, which
  Pillow would hand to external parsers) is refused. An inline SVG is parsed by cairosvg
  with entities forbidden and fetches through this same fetcher, so a ``data:`` SVG that
  points at a file or URL still reads nothing. Inline CSS ``@import`` of ``data:`` is
  refused too.
"""

from __future__ import annotations

import base64
import binascii
import struct
from urllib.parse import unquote_to_bytes

__all__ = ["EMPTY_SVG", "RefusingFetcher", "decode_data_uri"]

EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'

_PNG = b"\x89PNG\r\n\x1a\n"


def decode_data_uri(url: str, max_bytes: int) -> tuple[str, bytes] | None:
    """Decode ``data:[<mediatype>][;base64],<data>`` into ``(mediatype, bytes)``.

    Returns ``None`` for malformed URIs or payloads over ``max_bytes``.
    """
    if not url[:5].lower() == "data:" or "," not in url:
        return None
    meta, _, payload = url[5:].partition(",")
    params = [p.strip() for p in meta.split(";")]
    mediatype = params[0].lower() if params and params[0] else "text/plain"
    try:
        if any(p.lower() == "base64" for p in params[1:]):
            raw = unquote_to_bytes(payload)
            raw = b"".join(raw.split())
            raw += b"=" * (-len(raw) % 4)
            data = base64.b64decode(raw, validate=False)
        else:
            data = unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
    if len(data) > max_bytes:
        return None
    return mediatype, data


def _raster_pixels(data: bytes) -> int | None:
    """Pixel count of a PNG/JPEG/GIF/WebP from its header (``None`` if unknown)."""
    if data.startswith(_PNG) and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return w * h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w * h
    if data.startswith(b"\xff\xd8") or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        try:
            from io import BytesIO

            from PIL import Image

            with Image.open(BytesIO(data), formats=["JPEG", "WEBP"]) as im:
                return im.size[0] * im.size[1]
        except Exception:
            return None
    return None


def _looks_like_svg(data: bytes) -> bool:
    """An uncompressed SVG document: markup first (after a BOM/space), ``<svg`` early on.

    Gzip data is refused outright: cairosvg would decompress it with no size cap.
    """
    if data[:2] == b"\x1f\x8b":
        return False
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") and b"<svg" in head


class RefusingFetcher:
    """cairosvg ``url_fetcher`` that refuses everything except inline ``data:`` images.

    Args:
        max_bytes: largest decoded ``data:`` payload accepted.
        max_image_pixels: largest inline raster image accepted.
    """

    def __init__(self, max_bytes: int, max_image_pixels: int) -> None:
        self.max_bytes = max_bytes
        self.max_image_pixels = max_image_pixels
        self.refused: list[str] = []

    def _absent(self, url: str, resource_type: str) -> bytes:
        self.refused.append(url[:200])
        if resource_type == "image/svg+xml":
            return EMPTY_SVG
        return b""  # image/*: cairosvg skips images under 5 bytes; text/css: no rules

    def __call__(self, url: str, resource_type: str) -> bytes:
        """Return the bytes for ``url`` (inline data only) or an "absent" placeholder."""
        if resource_type == "text/css" or not url.lower().startswith("data:"):
            return self._absent(url, resource_type)
        decoded = decode_data_uri(url, self.max_bytes)
        if decoded is None:
            return self._absent(url, resource_type)
        _, data = decoded
        pixels = _raster_pixels(data)
        if pixels is not None:
            if pixels > self.max_image_pixels or resource_type == "image/svg+xml":
                return self._absent(url, resource_type)
            return data
        if _looks_like_svg(data):
            return data
        return self._absent(url, resource_type)

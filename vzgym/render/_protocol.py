"""Framing between the caller and a worker: no pickle crosses the process boundary.

A frame is ``>II`` (header length, payload length) + a UTF-8 JSON object + raw bytes.
The caller never unpickles anything a (possibly compromised) worker sends.
"""

from __future__ import annotations

import json
import struct
from typing import Any, BinaryIO

PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20
MAX_PAYLOAD = 256 << 20


class ProtocolError(Exception):
    """The peer sent a malformed frame."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    """Serialise one frame."""
    h = json.dumps(header, separators=(",", ":")).encode()
    return PREFIX.pack(len(h), len(payload)) + h + payload


def try_decode(buf: bytearray) -> tuple[dict[str, Any], bytes] | None:
    """Pop one complete frame from ``buf`` (in place) or return ``None`` if incomplete."""
    if len(buf) < PREFIX.size:
        return None
    hl, pl = PREFIX.unpack_from(buf)
    if hl > MAX_HEADER or pl > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({hl}, {pl})")
    end = PREFIX.size + hl + pl
    if len(buf) < end:
        return None
    try:
        header = json.loads(bytes(buf[PREFIX.size : PREFIX.size + hl]))
    except ValueError as e:
        raise ProtocolError(f"bad header: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    payload = bytes(buf[PREFIX.size + hl : end])
    del buf[:end]
    return header, payload


def read_frame(f: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """Blocking read of one frame from a file (worker side); ``None`` on clean EOF."""
    prefix = f.read(PREFIX.size)
    if not prefix:
        return None
    if len(prefix) < PREFIX.size:
        raise ProtocolError("truncated frame prefix")
    hl, pl = PREFIX.unpack(prefix)
    if hl > MAX_HEADER or pl > MAX_PAYLOAD:
        raise ProtocolError("frame too large")
    body = f.read(hl + pl)
    if len(body) < hl + pl:
        raise ProtocolError("truncated frame")
    return json.loads(body[:hl]), body[hl:]

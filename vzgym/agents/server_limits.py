"""Limits and field checks of the OpenAI-compatible server, applied before any decoding.

Every check here looks only at sizes the request declares (its ``Content-Length``,
a base64 payload's length, an image header's width and height, a text's length) so
a hostile request is refused before it costs memory: nothing is decoded, rasterised
or tokenised past a limit.  Each refusal is a :class:`RequestError` (HTTP 400, or
413 for sizes) whose message names the field, e.g.
``messages[1].role must be one of 'system', 'user', 'assistant'; got 'tool'``.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass
from typing import Any

from vzgym.core.observation import Observation
from vzgym.core.policy import SamplingParams

#: The chat roles a request may use (others never reach the chat template).
CHAT_ROLES = ("system", "user", "assistant")
#: Image formats accepted in ``data:`` URLs.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
_INT64 = 2**63


class RequestError(ValueError):
    """A malformed request (answered with ``status``: 400, or 413 for a size limit)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server, and how many may run at once.

    Attributes:
        max_body_bytes: largest ``Content-Length`` accepted (413 beyond it).
        max_in_flight: chat requests handled at once (429 beyond it).
        max_connections: open connections at once (further ones are closed at once).
        socket_timeout: seconds a connection may stay silent before it is closed.
        max_messages: messages per request.
        max_images: images per request.
        max_image_bytes: encoded bytes per image.
        max_image_pixels: width x height per image, read from the image header.
        max_total_pixels: width x height summed over a request's images.
        max_text_chars: characters summed over a request's text parts.
        max_text_tokens: tokens of that text (counted only after the character check).
        max_new_tokens: largest ``max_tokens``.
        max_n: largest ``n``.
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_in_flight: int = 4
    max_connections: int = 64
    socket_timeout: float = 30.0
    max_messages: int = 256
    max_images: int = 16
    max_image_bytes: int = 8 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    max_total_pixels: int = 4096 * 4096
    max_text_chars: int = 200_000
    max_text_tokens: int = 65_536
    max_new_tokens: int = 8192
    max_n: int = 64


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_int(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    """``body[key]`` as an int in ``[low, high]`` (None if absent); booleans and floats refused."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"'{key}' must be an integer, got {_type_name(value)}")
    if not low <= value <= high:
        raise RequestError(f"'{key}' must be between {low} and {high}, got {value}")
    return value


def check_number(
    body: dict[str, Any], key: str, low: float, high: float, *, open_low: bool = False
) -> float | None:
    """``body[key]`` as a finite number in ``[low, high]`` (``(low, high]`` if ``open_low``)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestError(f"'{key}' must be a number, got {_type_name(value)}")
    value = float(value)
    below = value <= low if open_low else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if open_low else "["
        raise RequestError(f"'{key}' must be in {bracket}{low}, {high}], got {value}")
    return value


def check_bool(body: dict[str, Any], key: str) -> bool:
    """``body[key]`` as a bool (False if absent)."""
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RequestError(f"'{key}' must be true or false, got {_type_name(value)}")
    return value


def check_str(body: dict[str, Any], key: str, max_chars: int = 256) -> str | None:
    """``body[key]`` as a string of at most ``max_chars`` characters (None if absent)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(f"'{key}' must be a string, got {_type_name(value)}")
    if len(value) > max_chars:
        raise RequestError(f"'{key}' must be at most {max_chars} characters")
    return value


def check_fields(body: dict[str, Any], limits: ServerLimits) -> SamplingParams:
    """Type- and range-check every non-message field; return the sampling parameters."""
    check_str(body, "model")
    check_str(body, "user")
    for key in ("stream", "logprobs", "return_tokens_as_token_ids", "return_token_ids"):
        check_bool(body, key)
    check_bool(body, "skip_special_tokens")
    check_int(body, "top_logprobs", 0, 20)
    bad = body.get("bad_words")
    if bad is not None and (
        not isinstance(bad, list)
        or len(bad) > 1024
        or not all(isinstance(w, str) and len(w) <= 256 for w in bad)
    ):
        raise RequestError("'bad_words' must be a list of at most 1024 strings")
    check_int(body, "top_k", -1, 1 << 30)
    check_number(body, "min_p", 0.0, 1.0)
    check_number(body, "repetition_penalty", 0.0, 100.0, open_low=True)
    n = check_int(body, "n", 1, limits.max_n) or 1
    max_new = check_int(body, "max_completion_tokens", 1, limits.max_new_tokens)
    if max_new is None:
        max_new = check_int(body, "max_tokens", 1, limits.max_new_tokens)
    temperature = check_number(body, "temperature", 0.0, 2.0)
    top_p = check_number(body, "top_p", 0.0, 1.0, open_low=True)
    seed = check_int(body, "seed", -_INT64, _INT64 - 1)
    return SamplingParams(
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        max_new_tokens=256 if max_new is None else max_new,
        n=n,
        seed=seed,
    )


def decode_data_url(url: Any, limits: ServerLimits | None = None, where: str = "image") -> Any:
    """Decode a ``data:image/...;base64,...`` URL into a PIL image, limits first.

    The payload's length bounds the encoded bytes before base64 decoding; the
    image header's width and height are checked before any pixel is decoded.
    """
    from PIL import Image

    limits = limits or ServerLimits()
    if not isinstance(url, str) or not url.startswith("data:"):
        raise RequestError(
            f"{where}: only data: image URLs are supported (this server fetches nothing)"
        )
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise RequestError(f"{where}: image data URLs must be base64 encoded")
    if len(payload) * 3 // 4 > limits.max_image_bytes:
        raise RequestError(
            f"{where}: the image exceeds {limits.max_image_bytes} encoded bytes", status=413
        )
    try:
        raw = base64.b64decode(payload, validate=True)
        image = Image.open(io.BytesIO(raw), formats=list(IMAGE_FORMATS))  # header only
    except (binascii.Error, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(f"{where}: cannot decode image data URL: {exc}") from exc
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise RequestError(
            f"{where}: the image declares {width}x{height} pixels, more than "
            f"{limits.max_image_pixels}",
            status=413,
        )
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(f"{where}: cannot decode image data URL: {exc}") from exc
    return image


def observation_from_messages(
    messages: Any, limits: ServerLimits | None = None, count_tokens: Any = None
) -> Observation:
    """Check OpenAI chat messages and turn them into an :class:`Observation`.

    Roles are limited to :data:`CHAT_ROLES`; the text's length is checked in
    characters, then (with ``count_tokens``) in tokens, before images are decoded.
    """
    limits = limits or ServerLimits()
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list")
    if len(messages) > limits.max_messages:
        raise RequestError(f"'messages' holds more than {limits.max_messages} messages")
    texts: list[str] = []
    images: list[tuple[str, Any]] = []
    shaped: list[tuple[str, list[tuple[str, Any]]]] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise RequestError(f"{where} must be an object, got {_type_name(msg)}")
        extra = sorted(set(msg) - {"role", "content", "name"})
        if extra:
            raise RequestError(f"{where} has unsupported field(s): {', '.join(extra)}")
        role = msg.get("role")
        if role not in CHAT_ROLES:
            allowed = ", ".join(repr(r) for r in CHAT_ROLES)
            raise RequestError(f"{where}.role must be one of {allowed}; got {role!r}")
        check_str(msg, "name")
        content = msg.get("content")
        parts: list[tuple[str, Any]] = []
        if isinstance(content, str):
            parts.append(("text", content))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                parts.append(_part(part, f"{where}.content[{j}]"))
        elif content is not None:
            raise RequestError(f"{where}.content must be a string or a list of parts")
        texts.extend(value for kind, value in parts if kind == "text")
        images.extend(
            (f"{where}.content[{j}]", value)
            for j, (kind, value) in enumerate(parts)
            if kind == "image"
        )
        shaped.append((role, parts))
    chars = sum(len(t) for t in texts)
    if chars > limits.max_text_chars:
        raise RequestError(
            f"the messages hold {chars} characters of text, more than {limits.max_text_chars}",
            status=413,
        )
    if len(images) > limits.max_images:
        raise RequestError(f"the messages hold {len(images)} images, more than {limits.max_images}")
    if count_tokens is not None and texts:
        tokens = count_tokens("\n".join(texts))
        if tokens > limits.max_text_tokens:
            raise RequestError(
                f"the messages hold {tokens} tokens of text, more than {limits.max_text_tokens}",
                status=413,
            )
    decoded = []
    total = 0
    for where, url in images:
        image = decode_data_url(url, limits, where)
        total += image.size[0] * image.size[1]
        if total > limits.max_total_pixels:
            raise RequestError(
                f"the images hold more than {limits.max_total_pixels} pixels in all", status=413
            )
        decoded.append(image)
    pending = iter(decoded)
    out = []
    for role, parts in shaped:
        content = [
            {"type": "text", "text": value}
            if kind == "text"
            else {"type": "image", "image": next(pending)}
            for kind, value in parts
        ]
        out.append({"role": role, "content": content})
    return Observation("openai_client", "player", "chat", 0, out)


def _part(part: Any, where: str) -> tuple[str, Any]:
    """One content part as ``("text", str)`` or ``("image", data URL)`` (not yet decoded)."""
    if not isinstance(part, dict):
        raise RequestError(f"{where} must be an object, got {_type_name(part)}")
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise RequestError(f"{where}.text must be a string, got {_type_name(text)}")
        return "text", text
    if kind == "image_url":
        ref = part.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else ref
        if not isinstance(url, str):
            raise RequestError(f"{where}.image_url.url must be a string")
        return "image", url
    raise RequestError(f"{where}: unsupported content part type {kind!r}")

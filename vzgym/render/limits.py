"""Render limits and the pre-checks that run before anything is rasterised.

Everything here is pure Python + ``defusedxml`` (no cairo): :func:`precheck_input` runs
in the calling process (cheap byte-level checks), :func:`precheck_svg` runs inside the
sandboxed worker (XML parse, size and structure checks), so a hostile document never
costs the caller more than a ``len()``.

Size rules (the raster size is always decided here and forced on cairosvg, so the
checked size *is* the rendered size):

* ``width``/``height`` on the root ``<svg>`` accept numbers with the units ``px``,
  ``pt`` (4/3 px), ``pc`` (16 px), ``mm``, ``cm``, ``in`` (96 px), ``em`` (16 px, the
  12 pt default font size), ``ex``/``ch`` (8 px) and ``%``; ``auto`` means missing.
* If both are missing: the ``viewBox`` size, else :attr:`RenderLimits.default_size`.
* If one is missing and there is a ``viewBox``: derived from the viewBox aspect ratio;
  without a viewBox: the matching component of ``default_size``.
* A percentage counts as missing when there is a ``viewBox`` (as cairosvg does) and as
  a percentage of ``default_size`` otherwise.
* Then :attr:`RenderLimits.output_width` rescales (aspect ratio kept); the result is
  rounded to whole pixels (minimum 1) and checked against ``max_side`` and ``max_area``.
* Unparseable, NaN/inf, zero or negative values and malformed viewBoxes are ``bad_size``.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import asdict, dataclass
from typing import Any

from vzgym.render.results import RenderStatus

__all__ = [
    "Checked",
    "PrecheckError",
    "RenderLimits",
    "parse_length",
    "parse_viewbox",
    "precheck_input",
    "precheck_svg",
    "resolve_size",
]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
GIB = 1 << 30


@dataclass(frozen=True)
class RenderLimits:
    """Limits applied to every render.

    Attributes:
        max_bytes: input size cap in bytes (UTF-8 for ``str``), also applied to the
            gunzipped size of ``.svgz`` input.
        max_side: maximum raster width and height in pixels.
        max_area: maximum raster ``width * height`` in pixels (default 2048*2048, i.e.
            a 16 MiB ARGB surface).
        timeout: wall-clock seconds one render may take in a worker before the worker
            is killed (SIGKILL) and replaced; the result is then ``timeout``.
        default_size: ``(width, height)`` used when the SVG gives neither width/height
            nor a viewBox (512 x 512 by default), and the reference for percentages.
        output_width: if set, the raster is scaled to this width (height keeps the
            aspect ratio) before the side/area checks.
        max_depth: maximum element nesting depth, counting ``<use>`` indirections
            (cairosvg recurses in Python and overflows near 450).
        max_nodes: maximum number of elements after expanding ``<use>`` references;
            exponential ``<use>`` amplification is ``too_large`` before rendering.
        max_memory: address-space limit (``RLIMIT_AS``) of each worker process in
            bytes, so memory bombs end as ``render_error``; ``None`` disables it.
            Fixed per :class:`SVGRenderer` (workers are started with it).
        max_image_pixels: largest inline (``data:``) raster image, in pixels; larger
            ones are rendered as absent.
    """

    max_bytes: int = 1_000_000
    max_side: int = 2048
    max_area: int = 2048 * 2048
    timeout: float = 5.0
    default_size: tuple[int, int] = (512, 512)
    output_width: int | None = None
    max_depth: int = 256
    max_nodes: int = 100_000
    max_memory: int | None = 2 * GIB
    max_image_pixels: int = 4096 * 4096

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_side", "max_area", "max_depth", "max_nodes"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"RenderLimits.{name} must be positive")
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError("RenderLimits.timeout must be a positive finite number")
        if len(self.default_size) != 2 or min(self.default_size) <= 0:
            raise ValueError("RenderLimits.default_size must be two positive ints")
        if self.output_width is not None and self.output_width <= 0:
            raise ValueError("RenderLimits.output_width must be positive")
        if self.max_memory is not None and self.max_memory < 256 * (1 << 20):
            raise ValueError("RenderLimits.max_memory must be at least 256 MiB (or None)")

    def to_dict(self) -> dict[str, Any]:
        """Return the limits as a JSON-serialisable dict (sent to the workers)."""
        d = asdict(self)
        d["default_size"] = list(self.default_size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenderLimits:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["default_size"] = tuple(d["default_size"])
        return cls(**d)


class PrecheckError(Exception):
    """A pre-check refused the input; carries the :class:`RenderStatus` to report."""

    def __init__(self, status: RenderStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Checked:
    """An input that passed :func:`precheck_svg`: the (gunzipped) bytes and raster size."""

    data: bytes
    width: int
    height: int
    nodes: int
    depth: int


_XML_BASE_ATTR = re.compile(rb"\sxml:base\s*=\s*(?:\"[^\"]*\"|'[^']*')")
_XML_DECL_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)(['\"])[^'\"]*\2")


def precheck_input(svg: object, limits: RenderLimits) -> bytes:
    """Byte-level checks done in the caller's process before any worker is involved.

    Returns the UTF-8 bytes to send to a worker or raises :class:`PrecheckError`
    (``not_svg`` for a non-``str``/``bytes`` value, ``too_large`` over ``max_bytes``,
    ``empty`` for empty/whitespace input).
    """
    if isinstance(svg, str):
        if len(svg) > limits.max_bytes:  # every char is >= 1 UTF-8 byte
            raise PrecheckError(
                RenderStatus.TOO_LARGE, f"input is over {limits.max_bytes} bytes"
            )
        data = svg.removeprefix("\ufeff").encode("utf-8", errors="replace")
        # A str has already been decoded: a declared legacy encoding would be wrong now.
        data = _XML_DECL_ENCODING.sub(rb"\1\2UTF-8\2", data, count=1)
    elif isinstance(svg, (bytes, bytearray, memoryview)):
        data = bytes(svg)
    else:
        raise PrecheckError(
            RenderStatus.NOT_SVG, f"expected str or bytes, got {type(svg).__name__}"
        )
    if len(data) > limits.max_bytes:
        raise PrecheckError(
            RenderStatus.TOO_LARGE, f"input is {len(data)} bytes (limit {limits.max_bytes})"
        )
    if not data.strip():
        raise PrecheckError(RenderStatus.EMPTY, "empty input")
    return data


_LENGTH = re.compile(
    r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|pt|pc|mm|cm|in|em|ex|ch|%)?\s*$",
    re.IGNORECASE,
)
_UNIT_PX = {
    "": 1.0,
    "px": 1.0,
    "pt": 96 / 72,
    "pc": 16.0,
    "mm": 96 / 25.4,
    "cm": 96 / 2.54,
    "in": 96.0,
    "em": 16.0,
    "ex": 8.0,
    "ch": 8.0,
}


def parse_length(value: str | None) -> tuple[float, bool] | None:
    """Parse an SVG root length into ``(number, is_percentage)``.

    Absolute units are converted to px (96 dpi). ``None``, ``""`` and ``"auto"`` give
    ``None``; anything unparseable or non-finite raises :class:`PrecheckError`
    (``bad_size``).
    """
    if value is None or value.strip() == "" or value.strip().lower() == "auto":
        return None
    m = _LENGTH.match(value)
    if not m:
        raise PrecheckError(RenderStatus.BAD_SIZE, f"unparseable length {value[:40]!r}")
    number = float(m.group(1))
    unit = (m.group(2) or "").lower()
    if not math.isfinite(number):
        raise PrecheckError(RenderStatus.BAD_SIZE, f"non-finite length {value[:40]!r}")
    if unit == "%":
        return number, True
    return number * _UNIT_PX[unit], False


def parse_viewbox(value: str | None) -> tuple[float, float, float, float] | None:
    """Parse a ``viewBox`` into ``(min_x, min_y, width, height)`` (``None`` if absent).

    Raises :class:`PrecheckError` (``bad_size``) unless it is four finite numbers with a
    positive width and height.
    """
    if value is None or not value.strip():
        return None
    parts = [p for p in re.split(r"[\s,]+", value.strip()) if p]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise PrecheckError(
            RenderStatus.BAD_SIZE, f"unparseable viewBox {value[:60]!r}"
        ) from None
    if len(nums) != 4 or not all(math.isfinite(n) for n in nums):
        raise PrecheckError(RenderStatus.BAD_SIZE, f"bad viewBox {value[:60]!r}")
    if nums[2] <= 0 or nums[3] <= 0:
        raise PrecheckError(RenderStatus.BAD_SIZE, f"viewBox size must be > 0: {value[:60]!r}")
    return nums[0], nums[1], nums[2], nums[3]


def resolve_size(
    width: str | None, height: str | None, viewbox: str | None, limits: RenderLimits
) -> tuple[int, int]:
    """Return the raster ``(width, height)`` in px for root attributes (module rules).

    Raises :class:`PrecheckError` with ``bad_size`` or ``too_large``.
    """
    vb = parse_viewbox(viewbox)
    dw, dh = (float(v) for v in limits.default_size)
    pw, ph = parse_length(width), parse_length(height)

    def absolute(p: tuple[float, bool] | None, ref: float) -> float | None:
        if p is None:
            return None
        number, pct = p
        if pct:
            return None if vb is not None else number * ref / 100.0
        return number

    w, h = absolute(pw, dw), absolute(ph, dh)
    if w is None and h is None:
        w, h = (vb[2], vb[3]) if vb is not None else (dw, dh)
    elif w is None:
        w = h * vb[2] / vb[3] if vb is not None else dw  # type: ignore[operator]
    elif h is None:
        h = w * vb[3] / vb[2] if vb is not None else dh
    assert w is not None and h is not None
    if not (math.isfinite(w) and math.isfinite(h)) or w <= 0 or h <= 0:
        raise PrecheckError(
            RenderStatus.BAD_SIZE, f"size must be positive and finite, got {w:g} x {h:g}"
        )
    if limits.output_width is not None:
        h = h * limits.output_width / w
        w = float(limits.output_width)
    if not math.isfinite(h):
        raise PrecheckError(RenderStatus.BAD_SIZE, "size overflows")
    # Compare before int() so 1e300 does not become a giant int.
    if w > limits.max_side + 0.5 or h > limits.max_side + 0.5:
        raise PrecheckError(
            RenderStatus.TOO_LARGE,
            f"raster {w:.0f} x {h:.0f} px exceeds max side {limits.max_side}",
        )
    iw, ih = max(1, int(round(w))), max(1, int(round(h)))
    if iw > limits.max_side or ih > limits.max_side:
        raise PrecheckError(
            RenderStatus.TOO_LARGE, f"raster {iw} x {ih} px exceeds max side {limits.max_side}"
        )
    if iw * ih > limits.max_area:
        raise PrecheckError(
            RenderStatus.TOO_LARGE, f"raster {iw} x {ih} px exceeds max area {limits.max_area}"
        )
    return iw, ih


def _gunzip_capped(data: bytes, cap: int) -> bytes:
    """Decompress gzip ``data`` (.svgz) to at most ``cap`` bytes (else ``too_large``)."""
    d = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
    try:
        out = d.decompress(data, cap + 1)
    except zlib.error as e:
        raise PrecheckError(RenderStatus.RENDER_ERROR, f"bad gzip data: {e}") from None
    if len(out) > cap or d.unconsumed_tail:
        raise PrecheckError(
            RenderStatus.TOO_LARGE, f"gzip input inflates to over {cap} bytes"
        )
    return out


def _local_name(tag: object) -> str:
    if not isinstance(tag, str):  # comments / processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


def _structure(root: Any, limits: RenderLimits) -> tuple[int, int]:
    """Return ``(nodes, depth)`` of the tree with ``<use>`` references expanded.

    Iterative (no Python recursion), memoised per element, stops early once over a
    limit; a ``<use>`` cycle is ``too_large`` (it would expand forever).
    """
    ids: dict[str, Any] = {}
    for el in root.iter():
        i = el.get("id")
        if i is not None and i not in ids:
            ids[i] = el

    def successors(el: Any) -> list[Any]:
        succ = [c for c in el if isinstance(c.tag, str)]
        if _local_name(el.tag) == "use":
            href = (el.get(XLINK_HREF) or el.get("href") or "").strip()
            if href.startswith("#") and href[1:] in ids:
                succ.append(ids[href[1:]])
        return succ

    memo: dict[int, tuple[int, int]] = {}
    on_stack: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]
    while stack:
        el, succ = stack[-1]
        key = id(el)
        if succ is None:
            succ = successors(el)
            stack[-1] = (el, succ)
            on_stack.add(key)
            if len(stack) > limits.max_depth:
                raise PrecheckError(
                    RenderStatus.TOO_LARGE,
                    f"nesting deeper than {limits.max_depth} (counting <use>)",
                )
        pending = None
        for s in succ:
            sk = id(s)
            if sk in memo:
                continue
            if sk in on_stack:
                raise PrecheckError(RenderStatus.TOO_LARGE, "circular <use> reference")
            pending = s
            break
        if pending is not None:
            stack.append((pending, None))
            continue
        nodes = 1 + sum(memo[id(s)][0] for s in succ)
        depth = 1 + max((memo[id(s)][1] for s in succ), default=0)
        if nodes > limits.max_nodes:
            raise PrecheckError(
                RenderStatus.TOO_LARGE,
                f"more than {limits.max_nodes} elements after <use> expansion",
            )
        memo[key] = (nodes, depth)
        on_stack.discard(key)
        stack.pop()
    return memo[id(root)]


def precheck_svg(data: bytes, limits: RenderLimits) -> Checked:
    """Worker-side checks before rasterising; raises :class:`PrecheckError`.

    gunzip (capped) -> ``<svg`` sniff (``not_svg``) -> XML parse with ``defusedxml``
    refusing every entity declaration and external reference (``render_error``;
    a plain DOCTYPE is allowed but never fetched) -> root must be ``svg``
    (``not_svg``) -> raster size (``bad_size``/``too_large``) -> nesting depth and
    ``<use>``-expanded element count (``too_large``).
    """
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as DET

    if data[:2] == b"\x1f\x8b":
        data = _gunzip_capped(data, limits.max_bytes)
        if not data.strip():
            raise PrecheckError(RenderStatus.EMPTY, "empty input (after gunzip)")
    if b"<svg" not in data:
        raise PrecheckError(RenderStatus.NOT_SVG, "no <svg element in the input")
    try:
        root = DET.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as e:
        raise PrecheckError(
            RenderStatus.RENDER_ERROR,
            f"refused: XML entity declarations / external references are not allowed ({e!r})",
        ) from None
    except Exception as e:  # ParseError and friends
        raise PrecheckError(RenderStatus.RENDER_ERROR, f"invalid XML: {e}") from None
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag not in ("svg", f"{{{SVG_NS}}}svg"):
        raise PrecheckError(
            RenderStatus.NOT_SVG, f"root element is {tag[:60]!r}, not an SVG <svg>"
        )
    width, height = resolve_size(root.get("width"), root.get("height"), root.get("viewBox"),
                                 limits)
    nodes, depth = _structure(root, limits)
    if b"xml:base" in data:
        # cairosvg resolves xml:base against the disk (existence probes of any path)
        data = _XML_BASE_ATTR.sub(b" ", data)
    return Checked(data=data, width=width, height=height, nodes=nodes, depth=depth)

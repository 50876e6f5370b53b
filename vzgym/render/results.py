"""Result types of the safe SVG renderer (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["RenderResult", "RenderStatus"]


class RenderStatus(str, Enum):
    """Outcome of one render.

    * ``ok`` -- rendered; ``png`` holds the image.
    * ``not_svg`` -- the input is not an SVG document (no ``<svg`` in the text, the XML
      root element is not ``svg``, or the input is not ``str``/``bytes``).
    * ``empty`` -- empty / whitespace-only input (``png`` is ``None``), or an SVG that
      rendered to a fully transparent image (``png`` holds that transparent image).
    * ``too_large`` -- over a limit: input bytes (also after gunzip), output side or area,
      element nesting depth, or element count after ``<use>`` expansion.
    * ``timeout`` -- the worker did not finish in time and was killed and replaced.
    * ``render_error`` -- invalid XML, refused DTD entities (XXE / billion laughs),
      an exception inside cairosvg/cairo (including out-of-memory under the worker's
      address-space limit) or a crashed worker.
    * ``bad_size`` -- width/height/viewBox unparseable, non-finite, zero or negative.
    """

    OK = "ok"
    NOT_SVG = "not_svg"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    RENDER_ERROR = "render_error"
    BAD_SIZE = "bad_size"


@dataclass(frozen=True)
class RenderResult:
    """PNG bytes (or ``None``) plus a :class:`RenderStatus` and a human-readable message.

    ``width``/``height`` are the raster size in pixels when known (also for ``empty``
    renders), ``seconds`` the wall time the caller waited for this item (from dispatch
    to a worker until the answer; ~0 for inputs refused before dispatch).
    """

    status: RenderStatus
    png: bytes | None
    message: str
    width: int = 0
    height: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the status is ``ok`` (and ``png`` holds a non-transparent image)."""
        return self.status is RenderStatus.OK

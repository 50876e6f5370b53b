"""What a game's view function gets and returns (imported by games; no torch, no pyarrow).

A game declares ``GameFacts(view="package.module:function")``.  ``vzgym view``
calls that function once per episode::

    def view(episode: Sequence[Mapping[str, Any]], ctx: ViewContext) -> Markup | ViewResult

``episode`` holds the episode's turns in order, each a plain dict: the
trajectory columns (``agent``, ``role``, ``phase``, ``round``, ``completion``,
``reward``, ``episode_status``, ``images`` ...) with ``info`` parsed from JSON,
``messages`` (the prompt's chat messages; images as their file references),
``tokens`` / ``prompt_tokens`` (counts), ``advantage`` (float, or None when
the trainer recorded none) and ``index`` (the turn's id in the report).

The function builds HTML only with the helpers here: :func:`esc` escapes any
value, :func:`tag` escapes its text children and attribute values, and
:class:`Markup` marks a string as already safe.  Model output therefore always
shows as text (a ``<script>`` in a completion never runs).  Images go through
``ctx.image(ref, boxes=...)``, which resolves the reference, draws the boxes
and shows a placeholder for a missing file.  Returning a :class:`ViewResult`
also lets the game mark turns whose action was invalid (the report's status
filter shows them as ``invalid``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Colours boxes may use (CSS classes ``box-<name>`` in the report).
BOX_COLORS = ("red", "blue", "green", "orange", "purple", "teal")


class Markup(str):
    """A string of HTML that is already safe (built by :func:`tag` or :func:`esc`)."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def esc(value: Any) -> Markup:
    """Escape ``value`` for HTML text or a quoted attribute (Markup passes unchanged).

    ``None`` becomes an empty string; everything else is ``str()``-ed first.
    """
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def join(parts: Iterable[Any], sep: str = "") -> Markup:
    """Concatenate parts, escaping every part that is not Markup."""
    return Markup(esc(sep).join(esc(p) for p in parts))


_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr"})


def tag(name: str, *children: Any, **attrs: Any) -> Markup:
    """Build ``<name attrs>children</name>``; text children and attribute values are escaped.

    Attribute names are Python keywords with ``_`` for ``-`` and a trailing
    ``_`` dropped (``class_="x"``, ``data_turn=3``); a ``None`` or ``False``
    value leaves the attribute out, ``True`` writes it bare.  Only fixed tag
    and attribute names may be passed (never model output): they are checked to be
    plain identifiers.
    """
    if not name.isalnum():
        raise ValueError(f"bad tag name {name!r}")
    out = [f"<{name}"]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        if not attr.replace("-", "").isalnum() or attr.lower().startswith("on"):
            raise ValueError(f"bad attribute name {attr!r}")
        out.append(f" {attr}" if value is True else f' {attr}="{esc(value)}"')
    out.append(">")
    if name in _VOID:
        return Markup("".join(out))
    out.extend(esc(c) for c in _flatten(children))
    out.append(f"</{name}>")
    return Markup("".join(out))


def _flatten(children: Iterable[Any]) -> Iterable[Any]:
    for child in children:
        if isinstance(child, (list, tuple)) or (
            not isinstance(child, (str, bytes, Mapping)) and isinstance(child, Iterable)
        ):
            yield from _flatten(child)
        elif child is not None:
            yield child


def details(summary: Any, *children: Any, open_: bool = False, class_: str = "") -> Markup:
    """A collapsed section (``<details>``) with a summary line."""
    return tag("details", tag("summary", summary), *children, open=open_, class_=class_ or None)


def pre(text: Any, class_: str = "") -> Markup:
    """Preformatted text (model output keeps its line breaks), escaped."""
    return tag("pre", "" if text is None else str(text), class_=class_ or None)


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], class_: str = "") -> Markup:
    """A table; every cell is escaped unless it is Markup."""
    head = tag("tr", [tag("th", h) for h in headers])
    body = [tag("tr", [tag("td", c) for c in row]) for row in rows]
    return tag("table", tag("thead", head), tag("tbody", body), class_=class_ or None)


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number shown briefly (``0.25``, ``-1``); ``—`` for None; other values as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


@dataclass(frozen=True)
class Box:
    """A rectangle to draw on an image, in the image's pixel coordinates.

    Attributes:
        x0, y0, x1, y1: corners (left, top, right, bottom) in pixels.
        label: text shown with the box (escaped).
        color: one of :data:`BOX_COLORS`.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""
    color: str = "red"


@dataclass
class ViewResult:
    """A view's output: the episode's HTML and the turns whose action was invalid.

    Attributes:
        html: the fragment (built with :func:`tag`).
        invalid: turn ``index`` → a short reason (``"no_box"``); shown as status ``invalid``.
    """

    html: Markup
    invalid: dict[int, str] = field(default_factory=dict)


class ViewContext(Protocol):
    """What the report offers a view function."""

    def image(self, ref: str | None, *, boxes: Sequence[Box] = (), caption: Any = "") -> Markup:
        """An ``<img>`` for a trajectory image reference (``images/<sha>.png``) with boxes.

        A missing or unreadable file (or ``ref`` None / ``""``) gives a placeholder.
        """
        ...

    def turn_link(self, row: Mapping[str, Any], text: Any = None) -> Markup:
        """A link to ``row``'s line in the turn table (its tokens and finish reason)."""
        ...


def message_text(messages: Sequence[Mapping[str, Any]], role: str = "user") -> str:
    """The text parts of the last message with ``role`` (``""`` when there is none)."""
    for msg in reversed(messages):
        if msg.get("role") != role:
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(str(p.get("text", "")) for p in content or [] if p.get("type") != "image")
    return ""

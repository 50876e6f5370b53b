"""Build the ``vzgym view`` report: one self-contained HTML file (no CDN, works offline).

Each episode is rendered once in Python by its game's view (``GameFacts.view``,
else :func:`vzgym.view.generic.generic_view`) into an escaped HTML fragment;
the page's script holds the fragments and a compact table of turns as JSON
and shows one page of games or GRPO groups at a time (filters, search,
pagination), so images load only for what is on screen.
"""

from __future__ import annotations

import base64
import importlib
import os
import struct
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vzgym.view.api import BOX_COLORS, Box, Markup, ViewResult, message_text, tag
from vzgym.view.generic import generic_view
from vzgym.view.load import Loaded, find_sources, parse_json, read_source
from vzgym.view.page import render_page

#: Characters of each turn's prompt text kept for the search box.
SEARCH_PROMPT_CHARS = 2000
#: Turn statuses, in precedence order (the first that applies is shown).
STATUSES = ("failed", "invalid", "not trainable", "ok")

ViewFn = Callable[[Sequence[Mapping[str, Any]], Any], Any]


@dataclass
class ReportStats:
    """What :func:`build_report` wrote."""

    out: Path
    turns: int = 0
    episodes: int = 0
    groups: int = 0
    images: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Images:
    """Every image the report shows, once: its URL (relative to the report, or inlined)."""

    def __init__(self, out_dir: Path, inline: bool):
        self.out_dir = out_dir
        self.inline = inline
        self.urls: list[str] = []
        self._index: dict[Path, int] = {}
        self._size: dict[Path, tuple[int, int] | None] = {}

    def add(self, path: Path) -> int | None:
        """The image's index in the URL table; None when the file is missing or unreadable."""
        path = path.resolve()
        if path in self._index:
            return self._index[path]
        if self.size(path) is None:
            return None
        if self.inline:
            url = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        else:
            rel = os.path.relpath(path, self.out_dir).replace(os.sep, "/")
            url = urllib.parse.quote(rel)
        self._index[path] = len(self.urls)
        self.urls.append(url)
        return self._index[path]

    def size(self, path: Path) -> tuple[int, int] | None:
        """``(width, height)`` from the PNG header; None when it is not a readable PNG."""
        if path not in self._size:
            try:
                with open(path, "rb") as handle:
                    head = handle.read(24)
                ok = len(head) == 24 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
                self._size[path] = struct.unpack(">II", head[16:24]) if ok else None
            except OSError:
                self._size[path] = None
        return self._size[path]


class _Context:
    """The :class:`~vzgym.view.api.ViewContext` of one source folder."""

    def __init__(self, images: _Images, root: Path):
        self.images = images
        self.root = root

    def image(self, ref: str | None, *, boxes: Sequence[Box] = (), caption: Any = "") -> Markup:
        """See :meth:`vzgym.view.api.ViewContext.image`."""
        cap = tag("figcaption", caption) if caption else ""
        if not ref:
            return tag("figure", tag("div", "no image stored", class_="missing"), cap, class_="pic")
        path = self.root / ref
        key = self.images.add(path) if _inside(path, self.root) else None
        if key is None:
            return tag(
                "figure", tag("div", f"missing image: {ref}", class_="missing"), cap, class_="pic"
            )
        width, height = self.images.size(path.resolve()) or (1, 1)
        marks = [_box(b, width, height) for b in boxes]
        img = tag("img", data_img=key, alt=caption or ref, width=width, height=height)
        return tag("figure", tag("div", img, marks, class_="frame"), cap, class_="pic")

    def turn_link(self, row: Mapping[str, Any], text: Any = None) -> Markup:
        """See :meth:`vzgym.view.api.ViewContext.turn_link`."""
        label = text if text is not None else f"turn {row.get('turn')}"
        return tag("a", label, href=f"#turn-{row['index']}", class_="tl", data_turn=row["index"])


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _box(box: Box, width: int, height: int) -> Markup:
    color = box.color if box.color in BOX_COLORS else BOX_COLORS[0]
    x0, x1 = sorted((box.x0, box.x1))
    y0, y1 = sorted((box.y0, box.y1))
    style = (
        f"left:{100 * x0 / width:.2f}%;top:{100 * y0 / height:.2f}%;"
        f"width:{100 * (x1 - x0) / width:.2f}%;height:{100 * (y1 - y0) / height:.2f}%"
    )
    return tag(
        "span", tag("i", box.label) if box.label else "", class_=f"box box-{color}", style=style
    )


def resolve_view(env_id: str, target: str | None = None) -> tuple[ViewFn, str | None]:
    """The view function a game declares (``GameFacts.view``) and a note when falling back.

    ``target`` (``"module:function"``) overrides the declaration.
    """
    if target is None:
        from vzgym.registration import get_registry

        try:
            facts = get_registry().spec(env_id).facts
        except Exception:  # noqa: BLE001 - a game not installed here still gets shown
            return generic_view, f"{env_id}: game not installed here, shown with the generic view"
        target = getattr(facts, "view", None)
    if not target:
        return generic_view, None
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name), None
    except Exception as exc:  # noqa: BLE001
        return generic_view, f"{env_id}: its view {target!r} could not be loaded ({exc})"


def _prepare(row: dict[str, Any], loaded: Loaded, index: int) -> dict[str, Any]:
    row["index"] = index
    row["info"] = parse_json(row.get("info"), {})
    if not isinstance(row["info"], dict):
        row["info"] = {}
    row["messages"] = parse_json(row.get("prompt"), [])
    if not isinstance(row["messages"], list):
        row["messages"] = []
    row.pop("prompt", None)
    key = (row.get("episode_id"), row.get("turn"), row.get("agent"))
    row["advantage"] = loaded.advantages.get(key)
    row["images"] = list(row.get("images") or [])
    return row


def build_report(
    path: str | Path,
    out: str | Path | None = None,
    *,
    inline: bool = False,
    views: Mapping[str, str] | None = None,
) -> ReportStats:
    """Write the HTML report of the trajectories at ``path``; return what it holds.

    ``out`` defaults to ``PATH/view.html``.  Images are referenced relative to
    the report (or embedded with ``inline``).  Unreadable shards, a game view
    that fails on an episode, a missing PNG: each is listed in the report's
    problems and the rest is shown.  ``views`` maps env ids to a
    ``"module:function"`` used instead of the game's declared view.

    Raises:
        ValueError: ``path`` holds no trajectories.
    """
    t0 = time.perf_counter()
    sources = find_sources(path)
    out_path = Path(out) if out is not None else Path(path) / "view.html"
    out_path = out_path.resolve()
    stats = ReportStats(out_path)
    images = _Images(out_path.parent, inline)
    overrides, views = views, {}
    view_failures: dict[str, list[str]] = defaultdict(list)
    data: dict[str, Any] = {
        "title": f"vzgym view: {Path(path).resolve().name}",
        "path": str(Path(path)),
        "sources": [],
        "episodes": [],
        "groups": [],
        "turns": [],
        "statuses": list(STATUSES),
    }
    for src_index, source in enumerate(sources):
        loaded = read_source(source)
        stats.problems.extend(loaded.problems)
        episodes: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in loaded.rows:
            _prepare(row, loaded, 0)
            episodes[int(row.get("episode_id") or 0)].append(row)
        ctx = _Context(images, source.root)
        group_index: dict[int, int] = {}
        n_turns = len(data["turns"])
        for episode_id in sorted(episodes):
            rows = sorted(episodes[episode_id], key=lambda r: (r.get("turn") or 0, r["agent"]))
            first = rows[0]
            for row in rows:
                row["index"] = len(data["turns"])
                data["turns"].append(None)  # filled below, once the status is known
            env_id = str(first.get("env_id") or "?")
            if env_id not in views:
                views[env_id] = resolve_view(env_id, (overrides or {}).get(env_id))
                if views[env_id][1]:
                    stats.problems.append(views[env_id][1])
            html, invalid = _render(views[env_id][0], rows, ctx, env_id, view_failures)
            group = int(first.get("group_id") or 0)
            if group not in group_index:
                group_index[group] = len(data["groups"])
                data["groups"].append(
                    {"s": src_index, "g": group, "env": env_id, "seed": first.get("seed"), "ep": []}
                )
            ep_index = len(data["episodes"])
            data["groups"][group_index[group]]["ep"].append(ep_index)
            for row in rows:
                status, reason = _status(row, invalid)
                data["turns"][row["index"]] = _turn_record(row, ep_index, status, reason)
            data["episodes"].append(
                {
                    "s": src_index,
                    "e": episode_id,
                    "g": group_index[group],
                    "env": env_id,
                    "seed": first.get("seed"),
                    "copy": first.get("copy"),
                    "status": first.get("episode_status") or "?",
                    "html": html,
                    "t": [r["index"] for r in rows],
                }
            )
        data["sources"].append(
            {
                "label": source.label,
                "step": source.step,
                "turns": len(data["turns"]) - n_turns,
                "episodes": len(episodes),
                "complete": source.complete,
            }
        )
    for env_id, messages in view_failures.items():
        stats.problems.append(
            f"{env_id}: the game's view failed on {len(messages)} episode(s), shown with the "
            f"generic view; first error: {messages[0]}"
        )
    data["images"] = images.urls
    data["problems"] = stats.problems
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(render_page(data), encoding="utf-8")
    os.replace(tmp, out_path)
    stats.turns, stats.episodes = len(data["turns"]), len(data["episodes"])
    stats.groups, stats.images = len(data["groups"]), len(images.urls)
    stats.seconds = time.perf_counter() - t0
    return stats


def _render(
    view: ViewFn,
    rows: list[dict[str, Any]],
    ctx: _Context,
    env_id: str,
    failures: dict[str, list[str]],
) -> tuple[str, dict[int, str]]:
    try:
        result = view(rows, ctx)
    except Exception as exc:  # noqa: BLE001 - one bad episode must not stop the report
        failures[env_id].append(f"{type(exc).__name__}: {exc}"[:300])
        result = generic_view(rows, ctx)
    if isinstance(result, ViewResult):
        return str(result.html), dict(result.invalid)
    if isinstance(result, Markup):
        return str(result), {}
    failures[env_id].append(f"the view returned {type(result).__name__}, not Markup")
    return str(generic_view(rows, ctx)), {}


def _status(row: Mapping[str, Any], invalid: Mapping[int, str]) -> tuple[str, str]:
    episode_status = str(row.get("episode_status") or "")
    if episode_status and episode_status != "ok":
        return "failed", episode_status
    if row["index"] in invalid:
        return "invalid", str(invalid[row["index"]])
    if not row.get("trainable"):
        info = row.get("info") or {}
        why = "reward not valid" if info.get("reward_valid") is False else "frozen seat"
        return "not trainable", why
    return "ok", ""


def _turn_record(row: Mapping[str, Any], ep: int, status: str, reason: str) -> list[Any]:
    """One turn for the page script (positions documented in ``page.js``: T_*)."""
    reward = row.get("reward")
    prompt = message_text(row.get("messages") or [])[:SEARCH_PROMPT_CHARS]
    return [
        ep,
        row.get("turn"),
        row.get("agent"),
        row.get("role"),
        row.get("phase"),
        row.get("round"),
        row.get("tokens"),
        row.get("finish_reason"),
        reward if isinstance(reward, (int, float)) and reward == reward else None,
        row.get("advantage"),
        status,
        reason,
        row.get("completion") or "",
        row.get("policy"),
        row.get("prompt_tokens"),
        prompt,
    ]

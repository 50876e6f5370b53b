"""The view of a game that declares none: images, messages, action and reward per turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vzgym.view.api import Markup, ViewContext, details, fmt_num, pre, tag


def _message_parts(messages: Sequence[Mapping[str, Any]]) -> list[Markup]:
    out = []
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, str):
            text = content
        else:
            text = "\n".join(
                "[image]" if p.get("type") == "image" else str(p.get("text", ""))
                for p in content or []
            )
        out.append(tag("div", tag("b", msg.get("role", "?")), pre(text), class_="msg"))
    return out


def generic_view(episode: Sequence[Mapping[str, Any]], ctx: ViewContext) -> Markup:
    """Every image the episode showed (once), then each turn's prompt, action and reward."""
    seen: list[str] = []
    for row in episode:
        for ref in row.get("images") or []:
            if ref not in seen:
                seen.append(ref)
    parts: list[Any] = []
    if seen:
        parts.append(
            tag(
                "div",
                [ctx.image(ref, caption=f"image {i + 1}") for i, ref in enumerate(seen)],
                class_="pics",
            )
        )
    for row in episode:
        head = tag(
            "div",
            ctx.turn_link(row),
            f" · {row.get('agent')} ({row.get('role')}) · {row.get('phase')}",
            f" · reward {fmt_num(row.get('reward'))}",
            f" · advantage {fmt_num(row.get('advantage'))}",
            class_="turnhead",
        )
        parts.append(
            tag(
                "div",
                head,
                details("prompt", _message_parts(row.get("messages") or [])),
                tag("div", tag("b", "action"), pre(row.get("completion")), class_="action"),
                class_="turn",
            )
        )
    return tag("div", parts, class_="generic")

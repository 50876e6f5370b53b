"""How ``vzgym view`` shows the MM-Zero SVG world (``svg-propose``, ``svg-codegen``, ``svg-solve``).

One card per agent turn: the proposal (caption, easy and hard question with
answers), the SVG source (collapsed), the rendered PNG or the render status,
the solver's answer and the silver label, and the reward parts.  Turns whose
output could not be parsed (``format_ok`` false, or code that is not SVG) are
marked invalid.  Declare it with ``GameFacts(view="vzgym.envs.svg.view:svg_view")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vzgym.envs.svg.parsing import extract_svg
from vzgym.view.api import (
    Markup,
    ViewContext,
    ViewResult,
    details,
    fmt_num,
    message_text,
    pre,
    table,
    tag,
)

_PROPOSAL_ROWS = (
    ("content_type", "content type"),
    ("caption", "caption"),
    ("easy_question", "easy question"),
    ("easy_answer", "easy answer"),
    ("hard_question", "hard question"),
    ("hard_answer", "hard answer"),
)
#: Info keys shown in the "judged" table, with their labels.
_JUDGED = (
    ("topic", "topic"),
    ("format_error", "format error"),
    ("render_statuses", "render statuses"),
    ("svg_lengths", "SVG lengths"),
    ("solvability", "solvability"),
    ("consistency", "consistency"),
    ("solver_failed", "solver calls failed"),
    ("answer", "solver answer"),
    ("silver_label", "silver label"),
    ("correct", "correct"),
    ("hard_consistency", "label consistency"),
)


def _kv(rows: Sequence[tuple[str, Any]]) -> Markup:
    body = [tag("tr", tag("th", k), tag("td", v)) for k, v in rows]
    return tag("table", tag("tbody", body), class_="grid kv")


def _value(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(fmt_num(v) for v in value) or "—"
    if isinstance(value, (int, float, bool)) or value is None:
        return fmt_num(value)
    return str(value)


def _rendered(info: Mapping[str, Any], ctx: ViewContext) -> Markup | str:
    if "render_status" not in info:
        return ""
    image = info.get("rendered_image")
    status = str(info.get("render_status"))
    head = tag(
        "div",
        tag("b", "render: "),
        tag("span", status, class_="badge " + ("good" if status == "ok" else "bad")),
        f" {info.get('render_message') or ''}",
    )
    if isinstance(image, dict) and image.get("$image"):
        return tag("div", head, ctx.image(image["$image"], caption="rendered PNG"))
    return head


def _turn(row: Mapping[str, Any], ctx: ViewContext) -> Markup:
    info = row.get("info") or {}
    proposal = info.get("proposal") if isinstance(info.get("proposal"), dict) else None
    parts: list[Any] = [
        tag(
            "div",
            ctx.turn_link(row),
            f" · {row.get('agent')} ({row.get('role')})",
            f" · reward {fmt_num(row.get('reward'))} · advantage {fmt_num(row.get('advantage'))}",
            ""
            if info.get("reward_valid", True)
            else tag("span", " reward not valid", class_="badge bad"),
            class_="turnhead",
        )
    ]
    pics = [ctx.image(ref, caption="shown to the model") for ref in row.get("images") or []]
    if pics:
        parts.append(tag("div", pics, class_="pics"))
    if proposal:
        label = "proposal (written)" if row.get("phase") == "propose" else "proposal (given)"
        parts.append(tag("h4", label))
        parts.append(
            _kv([(name, proposal.get(key, "—")) for key, name in _PROPOSAL_ROWS if key in proposal])
        )
    elif row.get("phase") == "solve":
        parts.append(tag("h4", "question"))
        parts.append(pre(message_text(row.get("messages") or [])))
    if "svg_source" in info:
        code = extract_svg(row.get("completion") or "").code
        parts.append(
            details(
                f"SVG source ({len(code)} chars, found in: {info.get('svg_source')})",
                pre(code or "(no SVG in the output)", class_="code"),
            )
        )
    parts.append(_rendered(info, ctx))
    judged = [(name, _value(info[key])) for key, name in _JUDGED if key in info]
    if judged:
        parts.append(tag("h4", "judged"))
        parts.append(_kv(judged))
    reward_parts = info.get("reward_parts")
    if isinstance(reward_parts, dict) and reward_parts:
        parts.append(tag("h4", "reward parts"))
        parts.append(
            table(
                ["part", "value"], [(k, _value(v)) for k, v in reward_parts.items()], class_="grid"
            )
        )
    parts.append(details("model output", pre(row.get("completion"))))
    return tag("div", parts, class_="svgturn")


def svg_view(episode: Sequence[Mapping[str, Any]], ctx: ViewContext) -> ViewResult:
    """One SVG-world batch: a card per agent turn (see the module docstring)."""
    invalid: dict[int, str] = {}
    for row in episode:
        info = row.get("info") or {}
        if info.get("format_ok") is False:
            invalid[row["index"]] = str(info.get("format_error") or "format")
        elif info.get("render_status") in ("not_svg",):
            invalid[row["index"]] = "not_svg"
    cards = [_turn(row, ctx) for row in episode]
    return ViewResult(tag("div", cards, class_="svg"), invalid)

"""How ``vzgym view`` shows a spy game (declared in :data:`~vzgym.envs.spy.game.SPY_FACTS`).

Both images side by side with the change log's boxes drawn on them (``box_before``
on the civilians' image, ``box_after`` on the spy's), each seat's role and
rewards per stage, the clues by round with each player's private reasoning
collapsed, the votes, and every turn's advantage.  Unparseable clues and votes
are marked invalid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vzgym.envs.spy.parsing import parse_clue, parse_vote
from vzgym.view.api import (
    Box,
    Markup,
    ViewContext,
    ViewResult,
    details,
    fmt_num,
    pre,
    table,
    tag,
)


def _game(episode: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    for row in episode:
        game = (row.get("info") or {}).get("game")
        if isinstance(game, dict):
            return game
    return {}


def _seat(agent: str) -> int | None:
    head, _, num = str(agent).rpartition("_")
    return int(num) if head == "player" and num.isdigit() else None


def _votes_per_seat(counts: Any) -> str:
    if not isinstance(counts, dict):
        return "—"
    return ", ".join(f"player {seat}: {n}" for seat, n in counts.items())


def _describe(attrs: Any) -> str:
    if not isinstance(attrs, dict):
        return "—"
    return " ".join(str(attrs.get(k, "")) for k in ("size", "color", "material", "shape")).strip()


def _change_line(change: Mapping[str, Any]) -> str:
    kind = change.get("kind", "?")
    if "error" in change and "kind" not in change:
        return str(change["error"])
    if "before" not in change and "after" not in change:  # e.g. photo edits: kind + details
        extra = ", ".join(f"{k}={v}" for k, v in change.items() if k not in ("kind", "box", "id"))
        return f"{_label(change)}: {extra}" if extra else _label(change)
    text = f"{_label(change)}: {_describe(change.get('before'))}"
    text += f" → {_describe(change.get('after'))}"
    if kind == "attribute" and change.get("attribute"):
        text += f" ({change['attribute']})"
    return text


def _label(change: Mapping[str, Any]) -> str:
    kind = str(change.get("kind", "?"))
    return f"#{change['id']} {kind}" if "id" in change else kind


def _boxes(changes: Sequence[Any], side: str) -> list[Box]:
    """Boxes of one image: ``side`` (``box_before`` / ``box_after``), else an in-place ``box``."""
    out = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        box = change.get(side) if side in change else change.get("box")
        if isinstance(box, (list, tuple)) and len(box) == 4:
            out.append(Box(*(float(v) for v in box), label=_label(change), color="red"))
    return out


def _images(episode: Sequence[Mapping[str, Any]], game: Mapping[str, Any], ctx: ViewContext):
    civilian = next((r for r in episode if r.get("role") == "civilian" and r.get("images")), None)
    spy = next((r for r in episode if r.get("role") == "spy" and r.get("images")), None)
    changes = [c for c in game.get("changes") or [] if isinstance(c, dict)]
    spy_seat = game.get("spy_seat")
    pics = [
        ctx.image(
            civilian["images"][0] if civilian else None,
            boxes=_boxes(changes, "box_before"),
            caption="civilians' image",
        ),
        ctx.image(
            spy["images"][0] if spy else None,
            boxes=_boxes(changes, "box_after"),
            caption=f"spy's image (player {spy_seat}, view: {game.get('spy_view', '?')})",
        ),
    ]
    log = tag("ul", [tag("li", _change_line(c)) for c in changes], class_="changes")
    return tag("div", tag("div", pics, class_="pics"), tag("div", tag("b", "changes"), log))


def _reasoning(text: str, reasoning: str) -> Markup:
    return details("reasoning", pre(reasoning or text), class_="reasoning")


def spy_view(episode: Sequence[Mapping[str, Any]], ctx: ViewContext) -> ViewResult:
    """One spy game: images with change boxes, seats, clues by round, votes, advantages."""
    game = _game(episode)
    invalid: dict[int, str] = {}
    num_players = len(game.get("votes_per_seat") or {}) or max(
        (_seat(r.get("agent", "")) or 0 for r in episode), default=0
    )
    spy_seat = game.get("spy_seat")
    found = game.get("spy_found")
    summary = tag(
        "div",
        tag("span", f"spy: player {spy_seat}", class_="badge spy"),
        " ",
        tag(
            "span",
            "spy found" if found else "spy not found",
            class_="badge " + ("good" if found else "bad"),
        )
        if game
        else "no result (unfinished)",
        f" · vote accuracy {fmt_num(game.get('vote_accuracy'))}" if game else "",
        f" · votes per seat: {_votes_per_seat(game.get('votes_per_seat'))}" if game else "",
        class_="summary",
    )
    final: dict[str, Mapping[str, Any]] = {}
    for row in episode:
        final[row["agent"]] = row.get("info") or {}
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for row in episode:
        by_agent.setdefault(row["agent"], []).append(row)

    # seats: role and rewards per stage
    seat_rows = []
    for agent in sorted(final, key=lambda a: (_seat(a) is None, _seat(a) or 0, a)):
        info = final[agent]
        rows = by_agent[agent]
        role = str(rows[0].get("role") or "?")
        shown = rows[0].get("shown_role")
        vote = (game.get("votes") or {}).get(agent, "") if game else ""
        seat_rows.append(
            [
                agent,
                tag("span", role, class_=f"role role-{role}"),
                shown if shown != role else "",
                fmt_num(info.get("reward_clue")),
                fmt_num(info.get("reward_decision")),
                fmt_num(rows[0].get("episode_reward")),
                "—" if vote in ("", None) else vote,
            ]
        )
    seats = table(
        ["seat", "role", "told", "clue reward", "decision reward", "total", "voted"],
        seat_rows,
        class_="grid",
    )

    # clues by round
    rounds = sorted({int(r.get("round") or 0) for r in episode if r.get("phase") == "clue"})
    clue_rows = []
    for seat in range(1, num_players + 1):
        cells: list[Any] = [f"player_{seat}"]
        for rnd in rounds:
            turn = next(
                (
                    r
                    for r in by_agent.get(f"player_{seat}", [])
                    if r.get("phase") == "clue" and int(r.get("round") or 0) == rnd
                ),
                None,
            )
            if turn is None:
                cells.append("—")
                continue
            parsed = parse_clue(turn.get("completion") or "")
            if parsed.valid:
                text = tag("span", parsed.clue, class_="clue")
            else:
                invalid[turn["index"]] = parsed.error or "invalid"
                text = tag("span", f"invalid: {parsed.error}", class_="badge bad")
            cells.append(
                tag(
                    "div",
                    text,
                    tag(
                        "div",
                        ctx.turn_link(turn),
                        f" · adv {fmt_num(turn.get('advantage'))}",
                        class_="meta",
                    ),
                    _reasoning(turn.get("completion") or "", parsed.reasoning),
                )
            )
        clue_rows.append(cells)
    clues = table(["seat"] + [f"round {r}" for r in rounds], clue_rows, class_="grid")

    # votes
    vote_rows = []
    answer = game.get("answer") if game else None
    for row in episode:
        if row.get("phase") != "decision":
            continue
        parsed = parse_vote(row.get("completion") or "", max(num_players, 1))
        if parsed.valid:
            target = "N/A" if parsed.na else f"player {parsed.target}"
            correct = (parsed.na if answer is None else parsed.target == answer) if game else None
        else:
            invalid[row["index"]] = parsed.error or "invalid"
            target, correct = tag("span", f"invalid: {parsed.error}", class_="badge bad"), False
        vote_rows.append(
            [
                row["agent"],
                target,
                "—" if correct is None else ("yes" if correct else "no"),
                fmt_num((row.get("info") or {}).get("reward_decision")),
                fmt_num(row.get("advantage")),
                ctx.turn_link(row),
                _reasoning(
                    row.get("completion") or "", parse_clue(row.get("completion") or "").reasoning
                ),
            ]
        )
    votes = table(
        ["voter", "vote", "correct", "decision reward", "advantage", "turn", ""],
        vote_rows,
        class_="grid",
    )
    body = [
        summary,
        _images(episode, game, ctx),
        tag("h4", "seats"),
        seats,
        tag("h4", "clues"),
        clues,
        tag("h4", "votes"),
        votes if vote_rows else tag("p", "no votes"),
    ]
    return ViewResult(tag("div", body, class_="spy"), invalid)

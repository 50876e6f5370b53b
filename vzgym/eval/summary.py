"""Summaries of evaluation records: win rate with a Wilson interval, per seating and role,
the game's declared statistics, failures, tokens and time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from vzgym.core.facts import GameFacts
from vzgym.eval.seating import Seating, paired_result
from vzgym.eval.stats import Tally

#: The label of results from paired solo games (A alone vs B alone on one seed).
PAIRED = "A=all vs B=all"
DRAWS_NOTE = "draws count half a win; 95% Wilson score interval"


def results(records: Sequence[dict[str, Any]]) -> list[tuple[str, float]]:
    """(seating or pair label, A's result) for every decided game.

    A game both policies played gives its own result; two solo games on one
    seed (A alone, B alone) give one paired result (higher mean score wins).
    """
    out: list[tuple[str, float]] = []
    solo: dict[int, dict[str, float]] = defaultdict(dict)
    for r in records:
        if r["status"] != "ok":
            continue
        if r["result"] is not None:
            out.append((r["seating"], float(r["result"])))
        elif r["a_score"] is not None:
            solo[int(r["seed"])]["A"] = float(r["a_score"])
        elif r["b_score"] is not None:
            solo[int(r["seed"])]["B"] = float(r["b_score"])
    for seed in sorted(solo):
        if len(solo[seed]) == 2:
            out.append((PAIRED, paired_result(solo[seed]["A"], solo[seed]["B"])))
    return out


def summarise(
    records: Sequence[dict[str, Any]],
    facts: GameFacts,
    manifest: dict[str, Any],
    seatings: Sequence[Seating],
) -> dict[str, Any]:
    """The ``summary.json`` of an evaluation (see the module docstring)."""
    decided = results(records)
    overall = Tally()
    by_label: dict[str, Tally] = defaultdict(Tally)
    for label, value in decided:
        overall.add(value)
        by_label[label].add(value)
    by_role: dict[str, Tally] = defaultdict(Tally)
    for seating in seatings:
        if seating.label in by_label:
            for role in seating.a_roles:
                _merge(by_role[role], by_label[seating.label])
    if PAIRED in by_label:  # solo games: A played every role
        by_role["all"] = by_label[PAIRED]
    ok = [r for r in records if r["status"] == "ok"]
    failures = Counter(r["status"].split(":", 1)[1][:80] for r in records if r["status"] != "ok")
    seconds = sum(float(r.get("seconds", 0.0)) for r in records)
    summary = {
        **manifest,
        "note": DRAWS_NOTE,
        "games_recorded": len(records),
        "games_ok": len(ok),
        "games_failed": len(records) - len(ok),
        "failures": dict(failures),
        "results": len(decided),
        "a_vs_b": overall.to_dict(),
        "by_seating": {k: v.to_dict() for k, v in sorted(by_label.items())},
        "by_role": {k: v.to_dict() for k, v in sorted(by_role.items())},
        "game_stats": facts.aggregate([r["stats"] for r in ok]),
        "game_stats_by_seating": {
            s.label: facts.aggregate([r["stats"] for r in ok if r["seating"] == s.label])
            for s in seatings
        },
        "stat_descriptions": {s.key: s.description for s in facts.stats},
        "tokens": _sum(records, "tokens"),
        "turns": _sum(records, "turns"),
        "error_completions": _sum(records, "error_completions"),
        "truncated_completions": _sum(records, "truncated_completions"),
        "seconds": seconds,
        "model_seconds": sum(float(r.get("model_seconds", 0.0)) for r in records),
        "games_per_second": (len(records) / seconds) if seconds > 0 else None,
    }
    return summary


def _merge(into: Tally, other: Tally) -> None:
    into.wins += other.wins
    into.draws += other.draws
    into.losses += other.losses


def _sum(records: Sequence[dict[str, Any]], key: str) -> dict[str, int]:
    out = {"A": 0, "B": 0}
    for r in records:
        for side, value in r.get(key, {}).items():
            out[side] = out.get(side, 0) + int(value)
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_summary(summary: dict[str, Any], echo: Callable[[str], None]) -> None:
    """Print a summary for people (one line per fact)."""
    t = summary["a_vs_b"]
    echo(
        f"A = {summary['policy']}  vs  B = {summary['vs']}  on {summary['env']}: "
        f"{summary['games_recorded']} game(s) over seatings {', '.join(summary['seatings'])}; "
        f"{summary['games_failed']} failed{_failures(summary['failures'])}"
    )
    echo(
        f"win rate of A: {_pct(t['win_rate'])}  95% CI [{_pct(t['ci_low'])}, "
        f"{_pct(t['ci_high'])}]  over {t['games']} result(s): "
        f"{t['wins']} W / {t['draws']} D / {t['losses']} L  ({DRAWS_NOTE})"
    )
    for label, s in summary["by_seating"].items():
        echo(
            f"  {label}: {_pct(s['win_rate'])} [{_pct(s['ci_low'])}, {_pct(s['ci_high'])}] "
            f"over {s['games']}"
        )
    for role, s in summary["by_role"].items():
        echo(f"  A as {role}: {_pct(s['win_rate'])} over {s['games']}")
    if summary["game_stats"]:
        desc = summary.get("stat_descriptions", {})
        stats = ", ".join(
            f"{k} {v:.3f}" + (f" ({desc[k]})" if desc.get(k) else "")
            for k, v in summary["game_stats"].items()
        )
        echo(f"game stats: {stats}")
    tok, err = summary["tokens"], summary["error_completions"]
    cut = summary["truncated_completions"]
    echo(
        f"tokens A {tok['A']} B {tok['B']}; error completions A {err['A']} B {err['B']}; "
        f"cut at max tokens A {cut['A']} B {cut['B']}"
    )
    rate = summary["games_per_second"]
    echo(
        f"time: {summary['seconds']:.1f} s ({summary['model_seconds']:.1f} s in model calls), "
        f"{'n/a' if rate is None else f'{rate:.2f}'} games/s"
    )


def _failures(failures: dict[str, int]) -> str:
    return f" ({', '.join(f'{k}: {v}' for k, v in failures.items())})" if failures else ""

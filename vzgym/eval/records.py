"""One JSON record per finished evaluation game (what ``OUT/games/*.jsonl`` holds)."""

from __future__ import annotations

from typing import Any

from vzgym.core.facts import GameFacts
from vzgym.eval.seating import Seating, episode_result, side_score


def _side(seat_name: str) -> str:
    return seat_name.split(":", 1)[0]


def episode_record(
    ep: Any,
    seating: Seating,
    facts: GameFacts,
    shards: list[str],
    seconds: float,
    model_seconds: float,
) -> dict[str, Any]:
    """The record of a played episode: status, result, scores, declared stats, usage."""
    tokens = {"A": 0, "B": 0}
    turns = {"A": 0, "B": 0}
    errors = {"A": 0, "B": 0}
    truncated = {"A": 0, "B": 0}
    for turn in ep.turns:
        side = _side(turn["seat"].name)
        completion = turn["completion"]
        tokens[side] += len(completion.token_ids)
        turns[side] += 1
        errors[side] += completion.finish_reason == "error"
        truncated[side] += completion.finish_reason == "length"
    record = _blank_record(ep.seed, seating, ep.status)
    record.update(tokens=tokens, turns=turns, error_completions=errors,
                  truncated_completions=truncated, seconds=seconds,
                  model_seconds=model_seconds, shards=shards)  # fmt: skip
    outcome = getattr(ep, "outcome", None)
    if ep.status == "ok" and outcome is None:
        record["status"] = "failed:no_outcome"
    if record["status"] != "ok":
        return record
    record["result"] = episode_result(outcome, seating)
    record["a_score"] = side_score(outcome, seating, "A")
    record["b_score"] = side_score(outcome, seating, "B")
    record["scores"] = {t: float(s) for t, s in outcome.scores.items()}
    record["team_roles"] = dict(outcome.roles)
    game = next((i["game"] for i in ep.infos.values() if isinstance(i.get("game"), dict)), {})
    record["stats"] = {s.key: _plain(game[s.key]) for s in facts.stats if s.key in game}
    return record


def failed_record(seed: int, seating: Seating, reason: str) -> dict[str, Any]:
    """The record of a game lost with its whole batch (e.g. the env raised)."""
    return _blank_record(seed, seating, f"failed:{reason}")


def _blank_record(seed: int, seating: Seating, status: str) -> dict[str, Any]:
    """A record with no result, scores, stats or usage yet."""
    return {
        "seed": int(seed),
        "seating": seating.label,
        "status": status,
        "result": None,
        "a_score": None,
        "b_score": None,
        "scores": {},
        "team_roles": {},
        "stats": {},
        "tokens": {"A": 0, "B": 0},
        "turns": {"A": 0, "B": 0},
        "error_completions": {"A": 0, "B": 0},
        "truncated_completions": {"A": 0, "B": 0},
        "seconds": 0.0,
        "model_seconds": 0.0,
        "shards": [],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return None

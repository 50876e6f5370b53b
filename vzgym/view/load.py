"""Find and read the trajectories ``vzgym view`` shows (run dirs, rollout/eval dirs, one step).

A *source* is one folder holding ``trajectories/part-*.parquet`` (and
``images/``): a training step's ``rollouts/step_XXXXXX``, a ``vzgym rollout``
output, an eval output.  Shards are read one by one, so a truncated or
corrupt shard is reported and the others are still shown.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Columns read as they are (the token-id lists are read as counts only).
_PLAIN_COLUMNS = (
    "env_id",
    "seed",
    "group_id",
    "episode_id",
    "copy",
    "turn",
    "agent",
    "role",
    "shown_role",
    "phase",
    "round",
    "policy",
    "trainable",
    "prompt",
    "images",
    "completion",
    "finish_reason",
    "reward",
    "episode_reward",
    "episode_status",
    "info",
)
_STEP_RE = re.compile(r"step_(\d+)$")
#: How deep below PATH to look for trajectory folders (eval dirs nest them).
MAX_DEPTH = 4


@dataclass
class Source:
    """One folder of trajectories.

    Attributes:
        label: how the report names it (``step 3``, or the folder's path below PATH).
        root: the folder (image references are relative to it).
        step: the training step, when the folder is ``step_XXXXXX``.
        complete: False for a training step without ``DONE.json`` or a run's evaluation
            without ``summary.json`` (still being written).
        marker: the file that marks the folder finished.
    """

    label: str
    root: Path
    step: int | None = None
    complete: bool = True
    marker: str = "DONE.json"


@dataclass
class Loaded:
    """The rows of one source and what went wrong reading it."""

    source: Source
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    advantages: dict[tuple[int, int, str], float] = field(default_factory=dict)


def find_sources(path: str | Path) -> list[Source]:
    """The trajectory folders at or below ``path``, in order (training steps by number).

    Raises:
        ValueError: ``path`` does not exist or holds no ``trajectories/`` folder.
    """
    base = Path(path)
    if not base.exists():
        raise ValueError(f"{path}: no such file or directory")
    if base.is_file():
        raise ValueError(f"{path}: expected a run, rollout or step folder, got a file")
    roots = [base] if (base / "trajectories").is_dir() else _below(base)
    if not roots:
        raise ValueError(
            f"{path}: no trajectories found (expected a run dir with rollouts/step_*/, "
            "a rollout or eval output with trajectories/, or one step's folder)"
        )
    sources = []
    for root in roots:
        match = _STEP_RE.search(root.name)
        # a training run's held-out evaluations (RUN/eval/step_N, finished when summary.json
        # is there) are shown by their path, not as training step N
        evaluation = bool(match) and root.parent.name == "eval"
        step = int(match.group(1)) if match and not evaluation else None
        marker = "summary.json" if evaluation else "DONE.json"
        if step is not None:
            label = f"step {step}"
        else:
            rel = root.relative_to(base).as_posix() if root != base else root.name
            label = rel or "."
        complete = (step is None and not evaluation) or (root / marker).exists()
        sources.append(Source(label, root, step, complete, marker))
    return sources


def _below(base: Path) -> list[Path]:
    found: list[Path] = []
    frontier = [base]
    for _ in range(MAX_DEPTH):
        nxt = []
        for folder in frontier:
            try:
                children = sorted(p for p in folder.iterdir() if p.is_dir())
            except OSError:
                continue
            for child in children:
                if child.name.startswith("."):
                    continue
                if (child / "trajectories").is_dir():
                    found.append(child)
                elif child.name not in ("images", "checkpoints", "final", "plots"):
                    nxt.append(child)
        frontier = nxt

    def key(p: Path) -> tuple:
        match = _STEP_RE.search(p.name)
        return (p.parent.as_posix(), int(match.group(1)) if match else -1, p.name)

    return sorted(found, key=key)


def read_source(source: Source) -> Loaded:
    """Read every shard of ``source``; unreadable shards and bad rows become problems."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = Loaded(source)
    if not source.complete:
        out.problems.append(f"{source.label}: no {source.marker} (it was still being written)")
    shards = sorted((source.root / "trajectories").glob("part-*.parquet"))
    if not shards:
        out.problems.append(f"{source.label}: no Parquet shards in {source.root / 'trajectories'}")
    for shard in shards:
        try:
            with pq.ParquetFile(shard) as handle:
                table = handle.read()
            names = set(table.column_names)
            missing = [c for c in ("episode_id", "turn", "agent") if c not in names]
            if missing:
                raise ValueError(f"missing columns {missing}")
            counts = {
                key: pc.fill_null(pc.list_value_length(table[col]), 0).to_pylist()
                if col in names
                else None
                for key, col in (("tokens", "token_ids"), ("prompt_tokens", "prompt_token_ids"))
            }
            rows = table.select([c for c in _PLAIN_COLUMNS if c in names]).to_pylist()
        except Exception as exc:  # noqa: BLE001 - any broken shard is reported, not fatal
            rel = shard.relative_to(source.root).as_posix()
            out.problems.append(f"{source.label}: {rel} could not be read ({_short(exc)})")
            continue
        for i, row in enumerate(rows):
            row["tokens"] = counts["tokens"][i] if counts["tokens"] is not None else None
            row["prompt_tokens"] = (
                counts["prompt_tokens"][i] if counts["prompt_tokens"] is not None else None
            )
        out.rows.extend(rows)
    out.advantages = _read_advantages(source, out.problems)
    return out


def _read_advantages(source: Source, problems: list[str]) -> dict[tuple[int, int, str], float]:
    path = source.root / "advantages.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        adv = {}
        for episode, turn, agent, value in data["rows"]:
            ok = isinstance(value, (int, float)) and math.isfinite(value)
            adv[(int(episode), int(turn), str(agent))] = float(value) if ok else None
        return adv
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{source.label}: advantages.json could not be read ({_short(exc)})")
        return {}


def parse_json(text: Any, default: Any) -> Any:
    """``json.loads`` that returns ``default`` for None, bad JSON or a non-string."""
    if not isinstance(text, str) or not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."

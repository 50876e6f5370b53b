"""Training samples rebuilt from trajectory files, exactly as they were sampled.

A :class:`TrainSample` is one agent turn: the prompt messages (images loaded
back from the PNG files the rollout wrote), the completion's *sampled token
ids* and their sampling logprobs.  Nothing is re-tokenised: the trainer scores
exactly ``token_ids`` (Vision-Zero re-tokenised decoded text, which dropped the
EOS token and changed tokens).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from vzgym.core.observation import Observation
from vzgym.rollout.writer import read_trajectories


@dataclass
class TrainSample:
    """One sampled agent turn, ready to be scored by the trainer."""

    observation: Observation
    token_ids: list[int]
    logprobs: list[float]
    prompt_token_ids: list[int]
    reward: float
    group_id: int
    episode_id: int
    role: str
    phase: str
    trainable: bool
    advantage: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def messages_from_json(prompt: str, root: Path, cache: dict[str, Image.Image]) -> list[dict]:
    """Rebuild chat messages from a trajectory ``prompt`` column (images loaded from ``root``)."""
    messages = json.loads(prompt)
    for msg in messages:
        content = msg.get("content")
        if not isinstance(content, list):
            continue
        for part in content:
            if part.get("type") == "image":
                ref = part["image"]
                if ref not in cache:
                    with Image.open(root / ref) as img:
                        cache[ref] = img.convert("RGB")
                part["image"] = cache[ref]
    return messages


def load_samples(
    rollout_dir: str | Path, *, only_trainable: bool = True, phases: Iterable[str] | None = None
) -> list[TrainSample]:
    """Load the turns of a rollout folder as samples (trainable, finished, non-empty ones).

    ``phases`` keeps only those stages (e.g. ``{"clue"}`` in a clue-phase step).
    """
    root = Path(rollout_dir)
    table = read_trajectories(root).to_pylist()
    keep_phases = set(phases) if phases is not None else None
    cache: dict[str, Image.Image] = {}
    samples = []
    for row in table:
        if only_trainable and not row["trainable"]:
            continue
        if row["episode_status"] != "ok" or not row["token_ids"]:
            continue
        if keep_phases is not None and row["phase"] not in keep_phases:
            continue
        obs = Observation(
            agent=row["agent"],
            role=row["shown_role"],
            phase=row["phase"],
            round=row["round"],
            messages=messages_from_json(row["prompt"], root, cache),
        )
        samples.append(
            TrainSample(
                observation=obs,
                token_ids=list(row["token_ids"]),
                logprobs=list(row["logprobs"]),
                prompt_token_ids=list(row["prompt_token_ids"]),
                reward=float(row["reward"]),
                group_id=int(row["group_id"]),
                episode_id=int(row["episode_id"]),
                role=row["role"],
                phase=row["phase"],
                trainable=bool(row["trainable"]),
                meta={"turn": int(row["turn"]), "agent": row["agent"], "info": row["info"]},
            )
        )
    return samples

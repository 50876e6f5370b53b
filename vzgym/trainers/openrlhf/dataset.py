"""The prompt dataset vzgym hands to OpenRLHF: one row per game seed.

OpenRLHF's ``PromptDataset`` turns a row into ``(prompt, label, images)``: with
``--data.apply_chat_template`` *off* and no ``--data.input_template`` the
prompt is the row's ``--data.input_key`` column verbatim.  vzgym puts a JSON
:class:`GameRow` there (the env id and kwargs, the seed, the group size, how
many samples the row must yield and the advantage estimator); the agent
executor (:mod:`vzgym.trainers.openrlhf.agent`) decodes it and plays the game.
Rows carry no images: the game renders them itself.

Nothing here imports OpenRLHF.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: Version of the row format; the executor rejects rows of another version.
ROW_VERSION = 1

#: Column names of the dataset (passed as ``--data.input_key`` / ``--data.label_key``).
INPUT_KEY = "prompt"
LABEL_KEY = "label"


class RowFormatError(ValueError):
    """A prompt is not a vzgym game row (or of an unsupported version)."""


@dataclass
class GameRow:
    """One dataset row: a game seed to be played ``group`` times, yielding ``samples`` turns.

    Attributes:
        env_id: the vzgym env id (``"spy-clevr"``).
        seed: the game seed; every copy of the group starts from it.
        group: game copies played for this row (the GRPO group of vzgym's own trainer).
        samples: results the row must yield = OpenRLHF's ``--rollout.n_samples_per_prompt``
            (``group`` x trainable turns per game).
        env_kwargs: keyword arguments for ``vzgym.make``.
        roles: trainable roles (true roles, e.g. ``["spy", "civilian"]``); None = all.
        advantage: vzgym advantage estimator applied inside the executor
            (``group_norm``, ``rae``, ``rloo`` or any plugin's), or ``"none"`` to hand the
            raw per-turn rewards to OpenRLHF; or a mapping phase -> estimator name
            (``"*"`` = every other phase; unlisted phases get ``group_norm``), as
            vzgym's ``trainer.advantages`` config.
        advantage_options: keyword arguments for that estimator; with a phase mapping,
            estimator name -> its keyword arguments (as ``trainer.advantage_options``).
        max_steps: a game longer than this many env steps fails (its turns are not used).
        timeout_s: the whole group (all copies) must finish within this many seconds.
        version: :data:`ROW_VERSION`.
    """

    env_id: str
    seed: int
    group: int
    samples: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    roles: list[str] | None = None
    advantage: str | dict[str, str] = "group_norm"
    advantage_options: dict[str, Any] = field(default_factory=dict)
    max_steps: int = 1000
    timeout_s: float = 3600.0
    version: int = ROW_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise RowFormatError(f"env_id must be a non-empty string, got {self.env_id!r}")
        for name in ("group", "samples", "max_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise RowFormatError(f"{name} must be an int >= 1, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise RowFormatError(f"seed must be an int, got {self.seed!r}")

    def estimator_for(self, phase: str) -> tuple[str, dict[str, Any]]:
        """The estimator name and options used for turns of ``phase``."""
        if isinstance(self.advantage, dict):
            name = self.advantage.get(phase, self.advantage.get("*", "group_norm"))
            options = self.advantage_options.get(name, {})
            return name, dict(options) if isinstance(options, dict) else {}
        return self.advantage, dict(self.advantage_options)

    def to_prompt(self) -> str:
        """Serialise as the canonical JSON prompt string (sorted keys, so equal rows match)."""
        return json.dumps({"vzgym_game": asdict(self)}, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_prompt(cls, prompt: str) -> GameRow:
        """Parse a prompt written by :meth:`to_prompt`.

        Raises:
            RowFormatError: not JSON, not a vzgym row, or another row version.
        """
        try:
            data = json.loads(prompt)
        except (TypeError, ValueError) as exc:
            raise RowFormatError(
                "the prompt is not a vzgym game row (JSON expected; was --data.apply_chat_template "
                f"or --data.input_template set?): {str(prompt)[:120]!r}"
            ) from exc
        if not isinstance(data, dict) or not isinstance(data.get("vzgym_game"), dict):
            raise RowFormatError(f"the prompt is not a vzgym game row: {str(prompt)[:120]!r}")
        body = dict(data["vzgym_game"])
        version = body.get("version", ROW_VERSION)
        if version != ROW_VERSION:
            raise RowFormatError(
                f"game row version {version} is not supported (need {ROW_VERSION})"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(body) - known)
        if unknown:
            raise RowFormatError(f"unknown game row fields {unknown}")
        return cls(**body)


def make_rows(
    env_id: str,
    *,
    games: int,
    group: int,
    samples: int,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    roles: Sequence[str] | None = None,
    advantage: str | dict[str, str] = "group_norm",
    advantage_options: dict[str, Any] | None = None,
    max_steps: int = 1000,
    timeout_s: float = 3600.0,
) -> list[GameRow]:
    """Return ``games`` rows with seeds ``seed, seed + 1, ...`` (everything else shared)."""
    if games < 1:
        raise ValueError(f"games must be >= 1, got {games}")
    return [
        GameRow(
            env_id=env_id,
            seed=seed + i,
            group=group,
            samples=samples,
            env_kwargs=dict(env_kwargs or {}),
            roles=list(roles) if roles is not None else None,
            advantage=dict(advantage) if isinstance(advantage, dict) else advantage,
            advantage_options=dict(advantage_options or {}),
            max_steps=max_steps,
            timeout_s=timeout_s,
        )
        for i in range(games)
    ]


def dataset_records(rows: Iterable[GameRow]) -> list[dict[str, str]]:
    """The dataset records: ``prompt`` (the JSON row), ``label`` and ``datasource``."""
    return [
        {INPUT_KEY: row.to_prompt(), LABEL_KEY: "", "datasource": f"vzgym/{row.env_id}"}
        for row in rows
    ]


def write_prompt_dataset(path: str | Path, rows: Iterable[GameRow]) -> Path:
    """Write the rows as JSONL (``.jsonl``/``.json``) or Parquet (``.parquet``) at ``path``.

    Both load through OpenRLHF's ``blending_datasets`` (``load_dataset("json"|"parquet")``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = dataset_records(rows)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        with path.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {
            key: [rec[key] for rec in records] for key in (INPUT_KEY, LABEL_KEY, "datasource")
        }
        pq.write_table(pa.table(columns), path)
    else:
        raise ValueError(f"dataset path must end in .jsonl, .json or .parquet, got {path.name!r}")
    return path


@dataclass
class GameShape:
    """What one game of an env looks like, measured by playing it once with empty answers.

    Attributes:
        turns: trainable turns per game (turns of agents whose true role is trainable).
        turns_by_role: those turns per ``(role, phase)`` as ``"role/phase"`` keys.
        max_images: the most images any single turn's prompt shows.
    """

    turns: int
    turns_by_role: dict[str, int]
    max_images: int

    @property
    def phases(self) -> set[str]:
        """The phases of the trainable turns."""
        return {key.split("/", 1)[1] for key in self.turns_by_role}


def probe_game(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    roles: Sequence[str] | None = None,
    max_steps: int = 1000,
) -> GameShape:
    """Play one game answering ``""`` everywhere and count its trainable turns and images.

    Games whose length depends on what is said may differ from this count; the
    executor then plays extra copies (see docs/openrlhf-design.md).
    """
    from vzgym.registration import make

    env = make(env_id, **dict(env_kwargs or {}))
    try:
        obs, _ = env.reset(seed=seed)
        turns: list[tuple[str, str]] = []
        infos: dict[str, dict[str, Any]] = {}
        max_images = 0
        steps = 0
        while obs:
            for agent, o in obs.items():
                turns.append((agent, o.phase))
                max_images = max(max_images, len(o.images()))
                infos.setdefault(agent, {})["_role"] = o.private.get("true_role") or o.role
            obs, _, _, _, step_infos = env.step(dict.fromkeys(obs, ""))
            for agent, info in step_infos.items():
                if "true_role" in info:
                    infos.setdefault(agent, {})["_role"] = info["true_role"]
            steps += 1
            if steps >= max_steps:
                raise RuntimeError(f"{env_id}: a probe game did not end within {max_steps} steps")
    finally:
        env.close()
    by_role: dict[str, int] = {}
    count = 0
    for agent, phase in turns:
        role = str(infos.get(agent, {}).get("_role", "player"))
        if roles is not None and role not in roles:
            continue
        count += 1
        key = f"{role}/{phase}"
        by_role[key] = by_role.get(key, 0) + 1
    return GameShape(turns=count, turns_by_role=by_role, max_images=max_images)

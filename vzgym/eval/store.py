"""An evaluation's folder on disk: what was asked, and every finished game, durably.

Layout of ``OUT``::

    manifest.json              env, options, policy specs, first seed, sampling, seatings
    games/part-00000.jsonl     one line per finished game (written atomically per batch)
    trajectories/*.parquet     the turns (the rollout writer's format), images/ beside them
    summary.json               the summary of every game recorded so far

A batch is committed in two atomic steps: its trajectory shard(s), then its
game records (a temporary file renamed into place; each record names the
shards its turns are in).  A crash between the two leaves shards no record
names; :meth:`EvalStore.drop_orphan_shards` deletes them when the eval is
resumed, so nothing is lost and nothing is written twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: Manifest keys an eval may not change when it is resumed (``games`` may grow).
FIXED_KEYS = ("env", "env_options", "policy", "vs", "first_seed", "sampling", "seatings")


class EvalStore:
    """Reads and writes one evaluation folder (see the module docstring)."""

    def __init__(self, out_dir: str | Path):
        self.root = Path(out_dir)
        self.games_dir = self.root / "games"

    # -- manifest -----------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """``OUT/manifest.json``."""
        return self.root / "manifest.json"

    def has_games(self) -> bool:
        """True when a game was recorded here already."""
        return any(self.games_dir.glob("part-*.jsonl")) if self.games_dir.is_dir() else False

    def read_manifest(self) -> dict[str, Any] | None:
        """The stored manifest, or None."""
        if not self.manifest_path.is_file():
            return None
        return json.loads(self.manifest_path.read_text())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Store ``manifest`` atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))

    def check_resumable(self, manifest: dict[str, Any]) -> None:
        """Refuse to resume with other settings than the stored ones (``ValueError``)."""
        saved = self.read_manifest()
        if saved is None:
            return
        changed = [k for k in FIXED_KEYS if saved.get(k) != manifest.get(k)]
        if changed:
            shown = ", ".join(f"{k}: {saved.get(k)!r} -> {manifest.get(k)!r}" for k in changed)
            raise ValueError(
                f"--resume with other settings than {self.root} was started with ({shown}); "
                "use another --out"
            )

    # -- games ----------------------------------------------------------------
    def records(self) -> list[dict[str, Any]]:
        """Every recorded game, in commit order (a cut line is skipped)."""
        out = []
        if not self.games_dir.is_dir():
            return out
        for path in sorted(self.games_dir.glob("part-*.jsonl")):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and "seed" in record and "seating" in record:
                    out.append(record)
        return out

    def latest(self) -> dict[tuple[int, str], dict[str, Any]]:
        """The newest record per (seed, seating): a retried game supersedes its failure."""
        out: dict[tuple[int, str], dict[str, Any]] = {}
        for record in self.records():
            out[(int(record["seed"]), str(record["seating"]))] = record
        return out

    def commit(self, records: Iterable[dict[str, Any]]) -> Path | None:
        """Append a batch of game records as one new file, atomically."""
        lines = [json.dumps(r, sort_keys=True, default=str) for r in records]
        if not lines:
            return None
        self.games_dir.mkdir(parents=True, exist_ok=True)
        taken = [int(p.stem.split("-")[1]) for p in self.games_dir.glob("part-*.jsonl")]
        path = self.games_dir / f"part-{1 + max(taken, default=-1):05d}.jsonl"
        _atomic_write(path, "\n".join(lines) + "\n")
        return path

    def drop_orphan_shards(self) -> list[Path]:
        """Delete trajectory shards no game record names (a crash mid-commit); return them."""
        named = {s for r in self.records() for s in r.get("shards", [])}
        orphans = [
            p for p in sorted((self.root / "trajectories").glob("part-*.parquet"))
            if p.name not in named
        ]  # fmt: skip
        for path in orphans:
            path.unlink()
        return orphans

    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Store ``summary.json`` atomically."""
        path = self.root / "summary.json"
        _atomic_write(path, json.dumps(summary, indent=2, sort_keys=True, default=str))
        return path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)

"""File manifests (size + sha256 per file) that prove a folder on disk is what was written.

A checkpoint carries ``manifest.json`` and a finished rollout step carries the
same listing inside its ``DONE.json``; on resume :func:`manifest_problem` re-reads
every listed file and says what does not match (a truncated, missing or changed
file), so a damaged folder is discarded instead of ending the run with a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: Version of the manifest layout (written into every manifest).
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(root: Path, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """List every file under ``root`` (relative POSIX path -> size and sha256)."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel in exclude:
            continue
        files[rel] = {"size": path.stat().st_size, "sha256": file_digest(path)}
    return {"version": MANIFEST_VERSION, "files": files}


def manifest_problem(root: Path, manifest: Any) -> str | None:
    """What is wrong with ``root`` against ``manifest`` (None when every file matches)."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return "its manifest is malformed"
    for rel, entry in files.items():
        path = root / rel
        if not isinstance(entry, dict) or not {"size", "sha256"} <= set(entry):
            return f"its manifest entry for {rel} is malformed"
        if not path.is_file():
            return f"{rel} is missing"
        size = path.stat().st_size
        if size != entry["size"]:
            return f"{rel} has {size} bytes, the manifest says {entry['size']}"
        if file_digest(path) != entry["sha256"]:
            return f"{rel} does not match its sha256 checksum"
    return None


def read_json(path: Path) -> tuple[Any, str | None]:
    """Parse a JSON file; return ``(value, None)`` or ``(None, what is wrong)``."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{path.name} is unreadable ({type(exc).__name__}: {exc})"


def write_json_durably(path: Path, value: Any) -> None:
    """Write JSON to ``path`` through a temporary file, fsynced and renamed into place."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(value, indent=1, default=str))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


#: The marker of a finished rollout step (its summary plus a manifest of the step's files).
DONE_FILE = "DONE.json"
_MANIFEST_KEY = "_manifest"


def mark_rollout_done(out: Path, summary: dict[str, Any]) -> None:
    """Write ``out/DONE.json``: the rollout summary and a manifest of every file in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(out, exclude=(DONE_FILE, DONE_FILE + ".tmp"))
    write_json_durably(out / DONE_FILE, {**summary, _MANIFEST_KEY: manifest})


def read_rollout_done(out: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The summary of a finished rollout step, or ``(None, what is wrong)``.

    The step's files are checked against the manifest in ``DONE.json``; a marker
    from before manifests is accepted when every Parquet shard's footer reads.
    """
    done, problem = read_json(out / DONE_FILE)
    if problem is None and not isinstance(done, dict):
        problem = f"{DONE_FILE} is not a JSON object"
    if problem is not None:
        return None, problem
    manifest = done.pop(_MANIFEST_KEY, None)
    if manifest is not None:
        problem = manifest_problem(out, manifest)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for shard in sorted((out / "trajectories").glob("part-*.parquet")):
            try:
                pq.read_metadata(shard)
            except (OSError, pa.ArrowException) as exc:
                problem = f"trajectories/{shard.name} is unreadable ({exc})"
                break
    return (None, problem) if problem else (done, None)

"""Trajectories on disk: Parquet shards plus content-addressed PNG files beside them.

Layout of an output folder::

    OUT/trajectories/part-00000.parquet   one row per agent turn (schema: TURN_SCHEMA)
    OUT/images/<sha256>.png                every image a prompt showed, stored once

Each flush writes a *new* shard to a temporary name, fsyncs it and renames it
into place, so a crash (even ``kill -9``) never corrupts what was written; a
writer re-opened on the same folder continues the shard numbering.  Read with
``datasets.load_dataset("parquet", data_files="OUT/trajectories/*.parquet")`` or
:func:`read_trajectories`.

Bad content never poisons the buffer: strings are made valid UTF-8 (lone
surrogates become U+FFFD) and every row is checked against :data:`TURN_SCHEMA`
when it is added, so a malformed row raises right there while everything
buffered before it is still written.  An image PNG cannot hold (a zero-size
image, one that fails to encode) is not stored: its reference is ``""`` and
:meth:`TrajectoryWriter.image_ref` returns ``None`` for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vzgym.core.observation import part_kind

#: Image modes PNG stores as they are; any other mode is converted to RGB first.
PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})

TURN_SCHEMA = pa.schema(
    [
        ("env_id", pa.string()),
        ("seed", pa.int64()),
        ("group_id", pa.int64()),
        ("episode_id", pa.int64()),
        ("copy", pa.int32()),
        ("turn", pa.int32()),
        ("agent", pa.string()),
        ("role", pa.string()),
        ("shown_role", pa.string()),
        ("phase", pa.string()),
        ("round", pa.int32()),
        ("policy", pa.string()),
        ("trainable", pa.bool_()),
        ("prompt", pa.string()),
        ("images", pa.list_(pa.string())),
        ("completion", pa.string()),
        ("token_ids", pa.list_(pa.int32())),
        ("logprobs", pa.list_(pa.float32())),
        ("prompt_token_ids", pa.list_(pa.int32())),
        ("finish_reason", pa.string()),
        ("reward", pa.float64()),
        ("episode_reward", pa.float64()),
        ("episode_status", pa.string()),
        ("info", pa.string()),
    ]
)


def to_jsonable(
    value: Any, depth: int = 0, image_ref: Callable[[Any], str | None] | None = None
) -> Any:
    """Turn infos into JSON: other objects become short strings, NaN becomes None.

    Images become ``"<image WxH>"``, or, given ``image_ref`` (a writer's
    :meth:`TrajectoryWriter.image_ref`), ``{"$image": "images/<sha>.png"}`` with
    the PNG stored beside the trajectories (``vzgym view`` shows it).
    """
    if depth > 8:
        return repr(value)[:200]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, depth + 1, image_ref) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, depth + 1, image_ref) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return to_jsonable(value.item(), depth + 1, image_ref)
        except (TypeError, ValueError):
            pass
    if hasattr(value, "size") and hasattr(value, "mode"):
        ref = image_ref(value) if image_ref is not None else None
        return {"$image": ref} if ref else f"<image {value.size[0]}x{value.size[1]}>"
    if hasattr(value, "to_clevr_json"):
        return value.to_clevr_json()
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(), depth + 1, image_ref)
    return repr(value)[:500]


def clean_str(text: str) -> str:
    """Return ``text`` as valid UTF-8 text: surrogate pairs joined, lone surrogates U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [clean_str(v) if isinstance(v, str) else v for v in value]
    return value


class TrajectoryWriter:
    """Appends turn records to Parquet shards and stores prompt images as PNG files."""

    def __init__(self, out_dir: str | Path, *, shard_rows: int = 2000, image_cache: int = 512):
        self.root = Path(out_dir)
        self.traj_dir = self.root / "trajectories"
        self.image_dir = self.root / "images"  # both made on first write: a run that
        # fails before its first turn leaves no folder behind
        self.shard_rows = shard_rows
        self._rows: list[dict[str, Any]] = []
        self._image_refs: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._image_cache = image_cache
        existing = sorted(self.traj_dir.glob("part-*.parquet"))
        self._next_shard = 1 + max((int(p.stem.split("-")[1]) for p in existing), default=-1)
        self.rows_written = 0
        #: Images that could not be stored as PNG (their reference is "").
        self.images_failed = 0

    def image_ref(self, image: Any) -> str | None:
        """Store ``image`` (once per content) and return its path relative to the output dir.

        Returns None when the image cannot be stored as PNG (zero size, an
        encoder error); modes PNG cannot hold (CMYK, YCbCr, F ...) are
        converted to RGB.
        """
        key = id(image)
        hit = self._image_refs.get(key)
        if hit is not None and hit[0] is image:
            self._image_refs.move_to_end(key)
            return hit[1]
        try:
            png_image = image if image.mode in PNG_MODES else image.convert("RGB")
            digest = hashlib.sha256()
            digest.update(f"{png_image.mode}|{png_image.size}|".encode())
            palette = png_image.getpalette() if png_image.mode == "P" else None
            digest.update(repr((palette, png_image.info.get("transparency"))).encode())
            digest.update(png_image.tobytes())
            rel = f"images/{digest.hexdigest()[:32]}.png"
            path = self.root / rel
            if not path.exists():
                self.image_dir.mkdir(parents=True, exist_ok=True)
                buf = io.BytesIO()
                png_image.save(buf, format="PNG", compress_level=1)
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(buf.getvalue())
                os.replace(tmp, path)
        except Exception:  # noqa: BLE001 - an unstorable image must not stop the rollout
            self.images_failed += 1
            return None
        self._image_refs[key] = (image, rel)  # keep the object alive so ids stay unique
        if len(self._image_refs) > self._image_cache:
            self._image_refs.popitem(last=False)
        return rel

    def prompt_json(self, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        """Serialise chat messages with images replaced by file references."""
        refs: list[str] = []
        out = []
        for msg in messages:
            content = msg.get("content", [])
            if isinstance(content, str):
                out.append({"role": msg["role"], "content": content})
                continue
            parts = []
            for part in content:
                if part_kind(part) == "image":
                    ref = self.image_ref(part["image"]) or ""
                    refs.append(ref)
                    parts.append({"type": "image", "image": ref})
                else:
                    parts.append({"type": "text", "text": clean_str(str(part.get("text", "")))})
            out.append({"role": msg["role"], "content": parts})
        return json.dumps(out, ensure_ascii=False), refs

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Buffer rows (dicts with :data:`TURN_SCHEMA`'s columns); flush when the shard is full.

        Strings are cleaned (:func:`clean_str`) and every row is checked against
        the schema first; a malformed row raises ``ValueError`` and no row of
        that call is buffered (what was buffered before stays and is written).
        """
        cleaned = [{k: _clean_value(v) for k, v in row.items()} for row in rows]
        try:  # one conversion checks the whole call
            pa.Table.from_pylist(cleaned, schema=TURN_SCHEMA)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise ValueError(f"trajectory row does not fit TURN_SCHEMA: {exc}") from exc
        self._rows.extend(cleaned)
        if len(self._rows) >= self.shard_rows:
            self.flush()

    def flush(self) -> Path | None:
        """Write buffered rows as one new shard, atomically; return its path."""
        if not self._rows:
            return None
        table = pa.Table.from_pylist(self._rows, schema=TURN_SCHEMA)
        self.traj_dir.mkdir(parents=True, exist_ok=True)
        path = self.traj_dir / f"part-{self._next_shard:05d}.parquet"
        tmp = self.traj_dir / f".part-{self._next_shard:05d}.parquet.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self._next_shard += 1
        self.rows_written += len(self._rows)
        self._rows = []
        return path

    def close(self) -> None:
        """Flush what is left."""
        self.flush()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def shard_paths(out_dir: str | Path) -> list[Path]:
    """Return the complete shards of an output folder, in order."""
    return sorted((Path(out_dir) / "trajectories").glob("part-*.parquet"))


def read_trajectories(out_dir: str | Path) -> pa.Table:
    """Read every shard of an output folder into one Arrow table."""
    paths = shard_paths(out_dir)
    if not paths:
        return TURN_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(p, schema=TURN_SCHEMA) for p in paths])


def used_ids(out_dir: str | Path) -> tuple[set[int], int, int]:
    """What the trajectories in ``out_dir`` already use: their seeds, the next free game
    (group) id and the next free episode id (``set(), 0, 0`` for an unused folder)."""
    paths = shard_paths(out_dir)
    if not paths:
        return set(), 0, 0
    table = pa.concat_tables(
        [pq.read_table(p, columns=["seed", "group_id", "episode_id"]) for p in paths]
    )
    seeds = {int(s) for s in table.column("seed").to_pylist()}
    groups = table.column("group_id").to_pylist()
    episodes = table.column("episode_id").to_pylist()
    return seeds, max(groups, default=-1) + 1, max(episodes, default=-1) + 1

"""Per-step metrics: ``RUN/metrics.jsonl`` always; TensorBoard and W&B (offline) on request.

On resume the jsonl file is cut back to the steps the checkpoint covers, so a
step is never logged twice.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class MetricsLogger:
    """Writes one JSON line per step (flushed and fsynced) and mirrors numbers to TB / W&B."""

    def __init__(
        self,
        run_dir: Path,
        *,
        tensorboard: bool = False,
        wandb: bool = False,
        wandb_mode: str = "offline",
        wandb_project: str = "vzgym",
        config: dict[str, Any] | None = None,
        start_step: int = 0,
    ):
        self.path = run_dir / "metrics.jsonl"
        self._tb = None
        self._wandb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise RuntimeError(
                    "logging.tensorboard=true needs tensorboard: pip install tensorboard"
                ) from exc
            # purge_step: a resumed run drops the events of steps it replays
            self._tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step or None)
        if wandb:
            try:
                import wandb as wandb_lib
            except ImportError as exc:
                raise RuntimeError(
                    "logging.wandb=true needs the wandb package: pip install wandb"
                ) from exc
            run_id = _wandb_run_id(run_dir)  # one W&B run per run dir, resumed with it
            self._wandb = wandb_lib.init(
                project=wandb_project, mode=wandb_mode, dir=str(run_dir), config=config or {},
                id=run_id, resume="allow",
            )  # fmt: skip

    def truncate(self, keep_below_step: int) -> None:
        """Drop logged lines of steps ``>= keep_below_step`` (used when resuming)."""
        if not self.path.exists():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash
            if not isinstance(record, dict):
                continue
            step, at = record.get("step"), record.get("at_step")
            if isinstance(step, (int, float)) and step < keep_below_step:
                kept.append(line)
            elif "event" in record and isinstance(at, (int, float)) and at <= keep_below_step:
                kept.append(line)  # what an earlier resume repaired stays on record
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(k + "\n" for k in kept))
        os.replace(tmp, self.path)

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def event(self, at_step: int, event: str, **details: Any) -> None:
        """Append an event line (``{"event": ..., "at_step": ...}``; not a step record, so
        :func:`read_metrics` and the plots skip it)."""
        self._append({"event": event, "at_step": at_step, **details})

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Append ``metrics`` for ``step``."""
        record = {"step": step, **{k: _clean(v) for k, v in metrics.items()}}
        self._append(record)
        numbers = {
            k: float(v)
            for k, v in record.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"
        }
        if self._tb is not None:
            for key, value in numbers.items():
                self._tb.add_scalar(key, value, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(numbers, step=step)

    def close(self) -> None:
        """Close TensorBoard and W&B writers."""
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """Read ``metrics.jsonl`` of a run.

    Skipped: a line a crash cut short, bytes that are not UTF-8, and any line that
    is not a JSON object with a numeric ``step``.
    """
    out = []
    for record in _json_records(run_dir):
        step = record.get("step")
        if isinstance(step, (int, float)) and not isinstance(step, bool):
            out.append(record)
    return out


def _json_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of ``metrics.jsonl`` (cut, non-UTF-8 and non-object lines skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of ``run_dir``: made once, kept in ``wandb_run_id.txt``."""
    path = run_dir / "wandb_run_id.txt"
    if path.exists():
        return path.read_text().strip()
    import uuid

    run_id = uuid.uuid4().hex[:16]
    path.write_text(run_id + "\n")
    return run_id


def read_events(run_dir: str | Path) -> list[dict[str, Any]]:
    """Read the event lines of ``metrics.jsonl`` (what a resume repaired: fallbacks, replays)."""
    return [r for r in _json_records(run_dir) if isinstance(r.get("event"), str)]

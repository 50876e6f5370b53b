"""Batch metrics of the SVG question world and their aggregation across batches.

:func:`batch_metrics` turns one batch (one env step) into a flat dict whose
keys are ``"<phase>/<name>"`` (phase = ``propose``, ``codegen``, ``solve``).
Envs put it in every agent's ``infos["metrics"]``;
:func:`aggregate_metrics` averages a list of such dicts for logging.

Definitions (``h`` = solver self-consistency on a hard question of one
rendered image, ``s`` = share of easy answers equal to the proposer's easy answer):

* ``difficulty`` = mean of ``2 * min(h, 1 - h)`` (1 = maximally uncertain).
* ``solvability`` = mean of ``s``.
* ``easy_hard_gap`` = mean ``s`` - mean ``h`` (interpretation: how much more
  the solver agrees with the proposer on the easy question than with itself
  on the hard one).
* ``render/<status>`` = share of codegen samples with that render status
  (statuses: ok, not_svg, empty, too_large, timeout, render_error, bad_size,
  plus ``service_error``/``policy_error`` for infrastructure failures).
* ``render_success`` = share with status ok.
* ``content_type_entropy`` = Shannon entropy of the valid proposals'
  content types divided by ``log(7)`` (all types, not the observed ones).
* ``svg_length`` = mean characters of the extracted SVG code.
* ``format_ok`` = share of well-formed actions of the trained role.
Means over empty sets are omitted rather than reported as 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from vzgym.envs.svg.parsing import CONTENT_TYPES

#: Render statuses reported by ``vzgym.render`` (kept in every metrics dict).
RENDER_STATUSES: tuple[str, ...] = (
    "ok",
    "not_svg",
    "empty",
    "too_large",
    "timeout",
    "render_error",
    "bad_size",
)


def _mean(values: Iterable[float]) -> float | None:
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else None


def content_type_entropy(
    content_types: Sequence[str], num_types: int = len(CONTENT_TYPES)
) -> float:
    """Return the entropy of ``content_types`` normalised by ``log(num_types)`` (0 when empty)."""
    n = len(content_types)
    if n == 0 or num_types <= 1:
        return 0.0
    counts = Counter(content_types)
    h = -sum((c / n) * math.log(c / n) for c in counts.values())
    return max(0.0, h / math.log(num_types))


def batch_metrics(
    phase: str,
    *,
    hard_consistency: Sequence[float | None] = (),
    solvability: Sequence[float] = (),
    render_statuses: Sequence[str] = (),
    content_types: Sequence[str] = (),
    svg_lengths: Sequence[int] = (),
    format_ok: Sequence[bool] = (),
    extra: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Return the metrics of one batch as ``{"<phase>/<name>": value}``.

    ``hard_consistency`` entries that are None (no valid answer) are left out
    of the difficulty mean and counted in ``no_valid_hard``.
    """
    out: dict[str, float] = {}
    hs = [h for h in hard_consistency if h is not None]
    values: dict[str, float | None] = {
        "difficulty": _mean(2.0 * min(h, 1.0 - h) for h in hs),
        "hard_consistency": _mean(hs),
        "solvability": _mean(solvability),
        "svg_length": _mean(svg_lengths),
        "format_ok": _mean(float(f) for f in format_ok),
    }
    if values["solvability"] is not None and values["hard_consistency"] is not None:
        values["easy_hard_gap"] = values["solvability"] - values["hard_consistency"]
    if content_types:
        values["content_type_entropy"] = content_type_entropy(content_types)
    if render_statuses:
        counts = Counter(render_statuses)
        total = len(render_statuses)
        for status in sorted(set(RENDER_STATUSES) | set(counts)):
            values[f"render/{status}"] = counts.get(status, 0) / total
        values["render_success"] = counts.get("ok", 0) / total
    values["count/render"] = float(len(render_statuses))
    values["count/hard_images"] = float(len(hard_consistency))
    values["count/no_valid_hard"] = float(sum(1 for h in hard_consistency if h is None))
    values["count/actions"] = float(len(format_ok))
    for key, value in values.items():
        if value is not None:
            out[f"{phase}/{key}"] = float(value)
    for key, value in (extra or {}).items():
        out[f"{phase}/{key}"] = float(value)
    return out


def aggregate_metrics(batches: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Combine metrics dicts of several batches into one dict for logging.

    Keys containing ``count/`` are summed; every other key is the mean over
    the batches that report it (a batch without renders has no render rates).
    """
    sums: dict[str, float] = {}
    seen: dict[str, int] = {}
    for batch in batches:
        for key, value in batch.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            sums[key] = sums.get(key, 0.0) + float(value)
            seen[key] = seen.get(key, 0) + 1
    return {
        key: (total if "count/" in key else total / seen[key])
        for key, total in sorted(sums.items())
    }

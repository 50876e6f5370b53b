"""95 % intervals for measured figures (pure functions, no numpy needed).

* :func:`wilson_interval` — a share ``k / n`` (win rate, accuracy over games);
* :func:`mean_interval` — the mean of repeated measurements (e.g. over training
  seeds), normal approximation with Student's t for small ``n``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054
#: Student's t 0.975 quantiles for 1..10 degrees of freedom (then the normal's).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def wilson_interval(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share ``k / n`` (``(0, 1)`` when ``n == 0``).

    ``k`` may be fractional (a draw counts half a win).
    """
    if n <= 0:
        return 0.0, 1.0
    p = min(max(k / n, 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, low, high)``: a 95 % t-interval of the mean (one value: no spread known)."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("mean_interval needs at least one value")
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    dof = len(vals) - 1
    t = _T975[dof - 1] if dof <= len(_T975) else Z95
    half = t * sd / math.sqrt(len(vals))
    return mean, mean - half, mean + half


def fmt_share(k: float, n: int) -> str:
    """``"0.760 [0.67, 0.83] (n=100)"``: a share with its Wilson interval."""
    lo, hi = wilson_interval(k, n)
    return f"{k / n if n else float('nan'):.3f} [{lo:.2f}, {hi:.2f}] (n={n})"

"""How an SVG-world env consults the roles it does not train: callables it is given.

An env never owns a policy or calls a model.  Each frozen role (proposer,
codegen, solver, the labelling solver, the prefilter codegen) is a
:data:`RoleCall` built by the caller (seating, the trainers, the MM-Zero loop)
from whatever plays the role; the scripted bots of :mod:`vzgym.envs.svg.bots`
are RoleCalls themselves and are the defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from vzgym.envs.base import Observation

logger = logging.getLogger(__name__)

#: ``call(observations, n, max_new_tokens)`` → for each observation, ``n`` answer
#: texts; ``None`` marks a sample whose call failed (an infrastructure failure).
RoleCall = Callable[[Sequence[Observation], int, int], Sequence[Sequence["str | None"]]]


def ask(
    call: RoleCall, observations: Sequence[Observation], n: int, max_new_tokens: int = 4096
) -> tuple[list[list[str | None]], int]:
    """Ask ``call`` once for ``n`` texts per observation; return them and the failed count.

    A call that raises gives ``n`` failed samples (None) per observation;
    missing samples are padded with None.
    """
    if not observations:
        return [], 0
    try:
        result = call(list(observations), n, max_new_tokens)
    except Exception as exc:  # noqa: BLE001 - a failing role is a status, not a crash
        logger.warning("role %s failed: %r", getattr(call, "name", call), exc)
        return [[None] * n for _ in observations], n * len(observations)
    out: list[list[str | None]] = []
    failed = 0
    for i in range(len(observations)):
        row = list(result[i])[:n] if i < len(result) else []
        row = row + [None] * (n - len(row))
        failed += sum(t is None for t in row)
        out.append(row)
    return out, failed

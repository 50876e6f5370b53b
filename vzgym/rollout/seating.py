"""Who sits where: build a :class:`~vzgym.rollout.runner.PolicyMap` from specs or policies."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vzgym.core.observation import Observation
from vzgym.core.policy import Policy, SamplingParams
from vzgym.rollout.runner import PolicyMap, SeatPolicy


def batch_seed(observations: Sequence[Observation]) -> int | None:
    """A sampling seed from every observation's ``private["seed"]`` (None if one lacks it)."""
    seeds = [o.private.get("seed") if o.private else None for o in observations]
    if not seeds or not all(isinstance(s, int) for s in seeds):
        return None
    return zlib.crc32(",".join(map(str, seeds)).encode()) & 0x7FFFFFFF


class PolicyCall:
    """A policy as a role an env consults itself (:data:`vzgym.envs.svg.roles.RoleCall`).

    ``call(observations, n, max_new_tokens)`` returns ``n`` texts per observation;
    a completion whose ``finish_reason`` is ``"error"`` becomes None (a failed sample).
    ``max_new_tokens`` (the run's own answer length) caps what the env asks for (the SVG
    envs ask for up to 4096): a frozen small model that never stops cannot hold a step
    for minutes.
    """

    def __init__(self, policy: Policy, max_new_tokens: int | None = None):
        self.policy = policy
        self.name = policy.name
        self.max_new_tokens = max_new_tokens

    def __call__(
        self, observations: Sequence[Observation], n: int, max_new_tokens: int
    ) -> list[list[str | None]]:
        """Ask the policy once for the whole batch, seeded by the observations' seeds.

        Every SVG-world observation carries a seed drawn from its env's RNG; the call
        is sampled with a seed made from them, so the same items (the copies of a
        GRPO group) get the same answers from a frozen model role.
        """
        if self.max_new_tokens is not None:
            max_new_tokens = min(max_new_tokens, self.max_new_tokens)
        sampling = SamplingParams(n=n, max_new_tokens=max_new_tokens, seed=batch_seed(observations))
        result = self.policy.generate(list(observations), sampling)
        return [[c.text if c.finish_reason != "error" else None for c in row] for row in result]


def parse_role_specs(items: Iterable[str]) -> dict[str, str]:
    """Parse ``ROLE=SPEC`` strings into a dict (``ValueError`` for a malformed one)."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, spec = item.partition("=")
        if not sep or not role.strip() or not spec.strip():
            raise ValueError(f"expected ROLE=SPEC, got {item!r}")
        out[role.strip()] = spec.strip()
    return out


def build_policy_map(
    env_id: str,
    policy: str | Policy,
    role_policies: Mapping[str, str | Policy] | None = None,
    frozen: Iterable[str] = (),
    env_kwargs: dict[str, Any] | None = None,
    policy_options: dict[str, Any] | None = None,
    role_call_max_tokens: int | None = None,
) -> PolicyMap:
    """Seat policies for ``env_id``.

    ``policy`` plays every seat unless ``role_policies`` names another for a role.
    A role the env consults itself (its constructor takes ``<role>_call``, as the
    SVG envs do for the frozen roles) is handed to ``env_kwargs`` instead, as a
    :class:`PolicyCall` (answers capped at ``role_call_max_tokens``): the env gets a
    callable, never the policy.  Roles
    in ``frozen`` (``"*"`` = all) play but are not trained.  Specs are strings
    such as ``"tiny"``, ``"hf:/models/x"``, ``"scripted"``; built policies pass through.
    """
    from vzgym.agents.spec import make_policy
    from vzgym.registration import get_registry

    frozen = set(frozen)
    cache: dict[str, Policy] = {}

    def build(spec: str | Policy) -> tuple[str, Policy]:
        if isinstance(spec, Policy):
            return spec.name, spec
        if spec not in cache:
            plain = spec.split(":")[0] in ("scripted", "human")
            options = {} if plain else dict(policy_options or {})
            cache[spec] = make_policy(spec, env_id=env_id, **options)
        return spec, cache[spec]

    params = get_registry().spec(env_id).option_names() or set()
    name, default_policy = build(policy)
    default = SeatPolicy(name, default_policy, trainable="*" not in frozen)
    by_role: dict[str, SeatPolicy] = {}
    for role, spec in (role_policies or {}).items():
        role_name, role_policy = build(spec)
        if f"{role}_call" in params and env_kwargs is not None:
            env_kwargs[f"{role}_call"] = PolicyCall(role_policy, role_call_max_tokens)
        else:
            trainable = role not in frozen and "*" not in frozen
            by_role[role] = SeatPolicy(role_name, role_policy, trainable=trainable)
    for role in frozen:
        if role not in by_role and role != "*":
            by_role[role] = SeatPolicy(name, default_policy, trainable=False)
    return PolicyMap(default, by_role)

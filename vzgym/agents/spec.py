"""Policy spec strings → policies: ``tiny``, ``hf:PATH``, ``vllm:PATH``, ``openai:URL#model``,
``human``, ``scripted``; plugins add prefixes through the ``register_policies`` hook.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from vzgym.agents.base import Policy

PolicyFactory = Callable[..., Policy]


def _tiny(rest: str, **options: Any) -> Policy:
    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.agents.tiny_model import default_model_dir

    return HFPolicy(default_model_dir(), **options)


def _hf(rest: str, **options: Any) -> Policy:
    from vzgym.agents.hf_policy import HFPolicy

    if not rest:
        raise ValueError("hf policy needs a path: hf:/path/to/model")
    return HFPolicy(rest, **options)


def _vllm(rest: str, **options: Any) -> Policy:
    from vzgym.agents.vllm_policy import VLLMPolicy

    if not rest:
        raise ValueError("vllm policy needs a path: vllm:/path/to/model")
    return VLLMPolicy(rest, **options)


def _openai(rest: str, **options: Any) -> Policy:
    from vzgym.agents.openai_policy import OpenAIPolicy

    url, sep, model = rest.partition("#")
    if not url or not sep or not model:
        raise ValueError(
            "openai policy spec is openai:URL#model, e.g. openai:http://127.0.0.1:8000/v1#qwen"
        )
    return OpenAIPolicy(url, model, **options)


def _human(rest: str, **options: Any) -> Policy:
    from vzgym.agents.human import HumanPolicy

    return HumanPolicy(**options)


def _scripted(rest: str, *, env_id: str | None = None, **options: Any) -> Policy:
    from vzgym.registration import get_registry

    if env_id is None:
        raise ValueError("the scripted policy needs to know the env (env_id=...)")
    policy = get_registry().spec(env_id).make_scripted_policy(**options)
    if policy is None:
        raise ValueError(f"env {env_id!r} has no scripted policy")
    return policy


BUILTIN_POLICIES: dict[str, PolicyFactory] = {
    "tiny": _tiny,
    "hf": _hf,
    "vllm": _vllm,
    "openai": _openai,
    "human": _human,
    "scripted": _scripted,
}


def policy_factories() -> dict[str, PolicyFactory]:
    """Return all policy prefixes: built-ins plus those registered by plugins."""
    from vzgym.plugins.manager import call_hook

    factories = dict(BUILTIN_POLICIES)

    def register(prefix: str, factory: PolicyFactory) -> None:
        factories[prefix] = factory

    call_hook("register_policies", register=register)
    return factories


def make_policy(spec: str, *, env_id: str | None = None, **options: Any) -> Policy:
    """Build the policy named by ``spec`` (``"hf:/models/qwen"``, ``"tiny"``, ...)."""
    prefix, _, rest = spec.partition(":")
    factories = policy_factories()
    if prefix not in factories:
        close = difflib.get_close_matches(prefix, list(factories), n=2)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown policy {spec!r}.{hint} Known: {', '.join(sorted(factories))}")
    if prefix == "scripted":
        return factories[prefix](rest, env_id=env_id, **options)
    return factories[prefix](rest, **options)

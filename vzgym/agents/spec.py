"""Policy spec strings → policies: ``tiny`` (``tiny:v2``: an older shape), ``hf:PATH``,
``vllm:PATH``, ``openai:URL#model``, ``human``, ``scripted`` (``scripted:KEY=VALUE,...``: bot
options); plugins add prefixes through
the ``register_policies`` hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vzgym.core.policy import Policy
from vzgym.core.registry import BUILTIN, Registry

PolicyFactory = Callable[..., Policy]


def _tiny(rest: str, **options: Any) -> Policy:
    from vzgym.agents.hf_policy import HFPolicy
    from vzgym.agents.tiny_model import tiny_model_dir

    return HFPolicy(tiny_model_dir(f"tiny:{rest}"), **options)


def _check_local_dir(prefix: str, rest: str) -> None:
    """Refuse a ``prefix:PATH`` spec whose path is not a local folder (nothing is downloaded)."""
    from pathlib import Path

    if not rest:
        raise ValueError(f"{prefix} policy needs a path: {prefix}:/path/to/model")
    if not Path(rest).expanduser().is_dir():
        raise ValueError(
            f"{prefix}:{rest}: no model directory there (nothing is downloaded here; "
            "give a local folder with config.json)"
        )


def _hf(rest: str, **options: Any) -> Policy:
    from vzgym.agents.hf_policy import HFPolicy

    _check_local_dir("hf", rest)
    return HFPolicy(rest, **options)


def _vllm(rest: str, **options: Any) -> Policy:
    from vzgym.agents.vllm_policy import VLLMPolicy

    _check_local_dir("vllm", rest)
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


def bot_options(rest: str) -> dict[str, Any]:
    """Options of a ``scripted:KEY=VALUE,KEY=VALUE`` spec (integers become ``int``).

    ``scripted:kinds=object`` makes the spy bots state only one kind of fact.
    """
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"scripted:{rest}: expected KEY=VALUE, got {item!r}")
        value = value.strip()
        options[key.strip()] = int(value) if value.lstrip("-").isdigit() else value
    return options


def _scripted(rest: str, *, env_id: str | None = None, **options: Any) -> Policy:
    from vzgym.registration import get_registry

    if env_id is None:
        raise ValueError("the scripted policy needs to know the env (env_id=...)")
    extra = bot_options(rest)
    try:
        policy = get_registry().spec(env_id).make_scripted_policy(**extra, **options)
    except TypeError as exc:
        if not extra:
            raise
        raise ValueError(
            f"scripted:{rest}: the {env_id} bot does not take these options ({exc})"
        ) from exc
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


_registry: Registry[PolicyFactory] | None = None
_registry_key: tuple[Any, ...] | None = None


def policy_registry() -> Registry[PolicyFactory]:
    """Built-in prefixes first (never shadowed), then plugins' ``register_policies`` in order.

    A plugin registering a taken prefix is refused and recorded against it
    (``vzgym plugins``); cached until the plugin set changes.
    """
    global _registry, _registry_key
    from vzgym.plugins import manager

    key = manager.hook_key("register_policies")
    if _registry is not None and key == _registry_key:
        return _registry
    registry: Registry[PolicyFactory] = Registry("policy")
    for prefix, factory in BUILTIN_POLICIES.items():
        registry.add(prefix, factory, BUILTIN, builtin=True)

    def add(plugin: str, prefix: str, factory: PolicyFactory) -> None:
        if not callable(factory):
            raise TypeError(f"policy {prefix!r}: factory must be callable")
        registry.add(prefix, factory, plugin)

    manager.fill_registry("register_policies", add)
    _registry, _registry_key = registry, key
    return registry


def policy_factories() -> dict[str, PolicyFactory]:
    """Return all policy prefixes: built-ins plus those registered by plugins."""
    return {e.name: e.value for e in policy_registry().entries()}


def make_policy(spec: str, *, env_id: str | None = None, **options: Any) -> Policy:
    """Build the policy named by ``spec`` (``"hf:/models/qwen"``, ``"tiny"``, ...)."""
    prefix, _, rest = spec.partition(":")
    registry = policy_registry()
    if prefix not in registry:
        raise ValueError(registry.unknown_message(prefix, shown=repr(spec)))
    factory = registry.get(prefix)
    if prefix == "scripted":
        return factory(rest, env_id=env_id, **options)
    return factory(rest, **options)

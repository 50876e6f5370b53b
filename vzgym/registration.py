"""The env registry: ids, specs, ``make`` with "did you mean", Gymnasium mirroring.

Every env registered through the ``register_envs`` hook gets a vzgym id
(``"spy-clevr"``) and is mirrored into Gymnasium's registry as
``"vzgym/<id>-v0"``, so ``gymnasium.make("vzgym/spy-clevr-v0")`` works too.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vzgym.core.registry import Registry, RegistryCollision, did_you_mean

ENV_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
GYM_NAMESPACE = "vzgym"
_GYM_ID_PATTERN = re.compile(rf"^{GYM_NAMESPACE}/(?P<id>[a-z0-9-]+?)(?:-v0)?$")


class UnknownEnvError(KeyError):
    """Raised by :func:`make` for an id nobody registered (with close matches)."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class RegistrationError(ValueError):
    """Raised for a malformed id, a bad entry point or a duplicate registration."""


@dataclass(frozen=True)
class EnvSpec:
    """How to build one registered env.

    Attributes:
        id: the vzgym id, lowercase words joined by ``-`` (``"spy-clevr"``).
        entry_point: ``"module:Class"`` or a callable returning the env.
        description: one line shown by ``vzgym envs``.
        kwargs: default constructor arguments (overridden by ``make``'s).
        plugin: the name of the plugin that registered it.
        scripted_policy: ``"module:Class"`` of a rule-based :class:`~vzgym.agents.base.Policy`
            that can fill any seat (``vzgym play`` seats it opposite a human).
    """

    id: str
    entry_point: str | Callable[..., Any]
    description: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""
    scripted_policy: str | None = None

    @property
    def gym_id(self) -> str:
        """The id under which Gymnasium knows this env (``"vzgym/spy-clevr-v0"``)."""
        return f"{GYM_NAMESPACE}/{self.id}-v0"

    def load(self) -> Callable[..., Any]:
        """Import and return the env class (or factory)."""
        if callable(self.entry_point):
            return self.entry_point
        module_name, _, attr = self.entry_point.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError) as exc:
            raise RegistrationError(
                f"env {self.id!r} (from plugin {self.plugin or '?'}): cannot load entry point "
                f"{self.entry_point!r}: {exc}"
            ) from exc

    def option_names(self) -> set[str] | None:
        """The keyword arguments the env's constructor takes (None: it takes any).

        ``**kwargs`` is followed up the class hierarchy (``SpyClevrEnv(**game)``
        passes them on to ``SpyEnv``).
        """
        import inspect

        entry = self.load()
        names: set[str] = set()
        for cls in inspect.getmro(entry) if inspect.isclass(entry) else [entry]:
            if inspect.isclass(cls) and "__init__" not in vars(cls):
                continue
            params = inspect.signature(cls.__init__ if inspect.isclass(cls) else cls).parameters
            variadic = (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
            names.update(k for k, p in params.items() if p.kind not in variadic)
            if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                return names - {"self"}
        return None

    @property
    def facts(self) -> Any:
        """The game's declared :class:`~vzgym.core.facts.GameFacts` (read without building it)."""
        from vzgym.core.facts import GameFacts

        facts = getattr(self.load(), "facts", None)
        return facts if isinstance(facts, GameFacts) else GameFacts()

    def samples_per_prompt(self, options: dict[str, Any]) -> dict[str, int]:
        """Stage → turns of one episode that answer one prompt (the env's classmethod)."""
        method = getattr(self.load(), "samples_per_prompt", None)
        return dict(method({**self.kwargs, **options})) if callable(method) else {}

    def make(self, **kwargs: Any) -> Any:
        """Build the env with the spec's default kwargs overridden by ``kwargs``."""
        return self.load()(**{**self.kwargs, **kwargs})

    def make_scripted_policy(self, **kwargs: Any) -> Any:
        """Build this env's rule-based policy, or return None when it has none."""
        if self.scripted_policy is None:
            return None
        module_name, _, attr = self.scripted_policy.partition(":")
        return getattr(importlib.import_module(module_name), attr)(**kwargs)


class EnvRegistry:
    """A mapping of env id → :class:`EnvSpec`, filled by the ``register_envs`` hook.

    Storage, owners and "did you mean" come from :class:`vzgym.core.registry.Registry`
    (a taken id is never replaced: the later registration is refused).
    """

    def __init__(self) -> None:
        self._registry: Registry[EnvSpec] = Registry("env")

    def register(
        self,
        env_id: str,
        entry_point: str | Callable[..., Any],
        *,
        description: str = "",
        plugin: str = "",
        scripted_policy: str | None = None,
        builtin: bool = False,
        **kwargs: Any,
    ) -> EnvSpec:
        """Add an env; raises :class:`RegistrationError` for bad or duplicate ids.

        ``builtin`` marks vzgym's own games (registered first by the built-in plugin).
        """
        if not isinstance(env_id, str) or not ENV_ID_PATTERN.match(env_id):
            raise RegistrationError(
                f"invalid env id {env_id!r}: use lowercase words joined by '-', e.g. 'spy-clevr'"
            )
        if isinstance(entry_point, str) and not re.match(r"^[\w.]+:[\w.]+$", entry_point):
            raise RegistrationError(
                f"env {env_id!r}: entry point must look like 'package.module:Class', "
                f"got {entry_point!r}"
            )
        if not isinstance(entry_point, str) and not callable(entry_point):
            raise RegistrationError(f"env {env_id!r}: entry point must be a string or callable")
        spec = EnvSpec(
            env_id, entry_point, description.strip(), dict(kwargs), plugin, scripted_policy
        )
        try:
            self._registry.add(env_id, spec, plugin, builtin=builtin)
        except RegistryCollision:
            taken = self._registry.entry(env_id)
            kind = " (built-in)" if taken.builtin else ""
            raise RegistrationError(
                f"env {env_id!r} is already registered by plugin {taken.owner!r}{kind}; "
                f"plugin {plugin!r} cannot replace it"
            ) from None
        _mirror_to_gymnasium(spec)
        return spec

    def spec(self, env_id: str) -> EnvSpec:
        """Return the spec of ``env_id`` (also accepts ``"vzgym/<id>-v0"``)."""
        key = _normalise(env_id)
        if key in self._registry:
            return self._registry.get(key)
        hint = did_you_mean(key, self._registry.names())
        known = ", ".join(self._registry.names()) or "none"
        raise UnknownEnvError(f"No env registered as {env_id!r}.{hint} Known envs: {known}.")

    def make(self, env_id: str, **kwargs: Any) -> Any:
        """Build the env registered as ``env_id``."""
        return self.spec(env_id).make(**kwargs)

    def ids(self) -> list[str]:
        """Return all registered ids, sorted."""
        return self._registry.names()

    def __contains__(self, env_id: object) -> bool:
        return isinstance(env_id, str) and _normalise(env_id) in self._registry

    def __iter__(self) -> Iterator[EnvSpec]:
        return iter(self._registry.get(k) for k in self.ids())

    def __len__(self) -> int:
        return len(self._registry)


def _normalise(env_id: str) -> str:
    match = _GYM_ID_PATTERN.match(env_id.strip()) if isinstance(env_id, str) else None
    return match.group("id") if match else str(env_id).strip()


def _mirror_to_gymnasium(spec: EnvSpec) -> None:
    import gymnasium

    if spec.gym_id in gymnasium.registry:
        del gymnasium.registry[spec.gym_id]
    gymnasium.register(
        id=spec.gym_id,
        entry_point=spec.entry_point,
        kwargs=dict(spec.kwargs),
        disable_env_checker=True,  # multi-agent dict API; use vzgym.utils.check_env
    )


_registry: EnvRegistry | None = None


def get_registry() -> EnvRegistry:
    """Return the process-wide registry, calling every plugin's ``register_envs`` once."""
    global _registry
    if _registry is not None:
        return _registry
    from vzgym.plugins import manager

    registry = EnvRegistry()

    def add(plugin: str, env_id: str, entry_point: Any, **kw: Any) -> Any:
        kw.pop("builtin", None)  # only vzgym's own plugins register built-ins
        builtin = plugin in manager.DEFAULT_PLUGINS
        return registry.register(env_id, entry_point, plugin=plugin, builtin=builtin, **kw)

    # Built-ins register first, so a plugin can never take over (or knock out) a built-in id;
    # a refused id is recorded against its plugin, whose other envs still register.
    manager.fill_registry("register_envs", add)
    _registry = registry
    return registry


def reset_registry() -> None:
    """Forget the registry and loaded plugins (for tests that change plugin settings)."""
    global _registry
    from vzgym.plugins import manager

    _registry = None
    manager.reset_for_tests()


def facts_of(env_id: str) -> Any:
    """The :class:`~vzgym.core.facts.GameFacts` of ``env_id``, read without building the env.

    An unknown id, or a game whose plugin cannot be imported, gives empty facts
    (a single-stage game with no statistics): readers of old run dirs and
    plots must not fail because a plugin is gone.
    """
    from vzgym.core.facts import GameFacts

    try:
        return get_registry().spec(env_id).facts
    except (UnknownEnvError, RegistrationError):
        return GameFacts()


def make(env_id: str, **kwargs: Any) -> Any:
    """Create the env registered as ``env_id`` with constructor ``kwargs``.

    Raises :class:`UnknownEnvError` (with "did you mean") for unknown ids.
    """
    return get_registry().make(env_id, **kwargs)


def check_env_options(env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Check that the env exists, takes ``env_kwargs`` and accepts their values.

    One env is built and closed, so a bad id, option name or value (a missing
    folder) is a :class:`ValueError` before any model is loaded or anything written.
    """
    try:
        spec = get_registry().spec(env_id)
    except UnknownEnvError as exc:
        raise ValueError(str(exc)) from None
    names = spec.option_names()
    unknown = sorted(set(env_kwargs) - names) if names is not None else []
    if unknown:
        known = sorted(names or ())
        raise ValueError(f"env {env_id!r} has no option(s) {unknown}; it takes {known}")
    try:
        env = spec.make(**env_kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"env {env_id!r}: {exc}") from exc
    close = getattr(env, "close", None)
    if callable(close):
        close()

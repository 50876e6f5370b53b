"""Loads plugins (built-in and entry-point ``vzgym``) into one pluggy manager.

* Built-in plugins (:data:`DEFAULT_PLUGINS`) are registered through the same
  hooks as third-party ones and always load.
* External plugins come from the ``vzgym`` entry-point group.  The environment
  variable ``VZGYM_LOAD_PLUGINS`` limits which load: unset loads all, an empty
  string loads none, ``"a,b"`` loads only those (entry-point or distribution names).
* A plugin that fails to import, or whose hook raises, is reported as a
  :class:`PluginWarning` and recorded in :func:`failures`; everything else keeps working.
* A plugin whose import is slow is named on stderr after a few seconds, with how to
  skip it; one still importing after ``VZGYM_PLUGIN_TIMEOUT`` seconds (default 60) is
  skipped and recorded as a failure, so a plugin that blocks never hangs vzgym.
* What an external plugin prints while it imports or registers goes to stderr, so it
  never mixes into machine-readable output (``vzgym envs --json``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from vzgym.plugins import hookspecs

ENTRY_POINT_GROUP = "vzgym"
ENV_VAR = "VZGYM_LOAD_PLUGINS"
TIMEOUT_VAR = "VZGYM_PLUGIN_TIMEOUT"
#: Seconds an external plugin may take to import before it is skipped (``VZGYM_PLUGIN_TIMEOUT``).
DEFAULT_TIMEOUT = 60.0
#: Seconds after which a still-importing plugin is named on stderr.
WARN_AFTER = 5.0
DEFAULT_PLUGINS: tuple[str, ...] = (
    "vzgym.plugins.builtin_envs",
    "vzgym.plugins.builtin_commands",
)


class PluginWarning(UserWarning):
    """A plugin failed to import or one of its hooks raised."""


@dataclass(frozen=True)
class PluginFailure:
    """One plugin error: which plugin, at which stage (``import`` or a hook name), why."""

    plugin: str
    stage: str
    error: str


@dataclass(frozen=True)
class PluginInfo:
    """A loaded plugin: its name, distribution version and implemented hooks."""

    name: str
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool


_manager: pluggy.PluginManager | None = None
_failures: list[PluginFailure] = []
_versions: dict[str, str | None] = {}


def _canonical(name: str) -> str:
    """A plugin or distribution name compared PEP 503 style (case, ``-``/``_``/``.`` folded)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _allowed_external() -> set[str] | None:
    value = os.environ.get(ENV_VAR)
    if value is None:
        return None
    return {_canonical(part.strip()) for part in value.split(",") if part.strip()}


def record_failure(plugin: str, stage: str, exc: BaseException) -> None:
    """Record (and warn about) a plugin failure, as a failed import or hook is recorded."""
    _record(plugin, stage, exc)


@contextlib.contextmanager
def stdout_to_stderr() -> Any:
    """Send what is printed meanwhile (Python's ``sys.stdout`` and file descriptor 1) to stderr."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no usable descriptors (a daemon): Python-level redirection only
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _timeout() -> float:
    try:
        return max(0.1, float(os.environ.get(TIMEOUT_VAR, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _load_entry_point(ep: Any) -> Any:
    """``ep.load()`` in a watched thread: named on stderr when slow, skipped past the timeout."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["plugin"] = ep.load()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result["error"] = exc

    timeout = _timeout()
    worker = threading.Thread(target=target, name=f"vzgym-plugin-{ep.name}", daemon=True)
    worker.start()
    worker.join(min(WARN_AFTER, timeout / 2))
    if worker.is_alive():
        dist = f" (distribution {ep.dist.name})" if ep.dist is not None else ""
        print(
            f"vzgym: still loading plugin {ep.name!r}{dist}; to skip it, list only the "
            f"plugins you want in {ENV_VAR} (e.g. {ENV_VAR}= loads none); it is skipped "
            f"after {timeout:g} s ({TIMEOUT_VAR})",
            file=sys.__stderr__,
            flush=True,
        )
        worker.join(max(0.0, timeout - min(WARN_AFTER, timeout / 2)))
    if worker.is_alive():
        raise TimeoutError(f"import did not finish within {timeout:g} s; skipped")
    if "error" in result:
        raise result["error"]
    return result["plugin"]


def _record(plugin: str, stage: str, exc: BaseException) -> None:
    failure = PluginFailure(plugin, stage, f"{type(exc).__name__}: {exc}")
    _failures.append(failure)
    warnings.warn(
        f"vzgym plugin {plugin!r} failed at {stage}: {failure.error}", PluginWarning, stacklevel=3
    )


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading all plugins on first call."""
    global _manager
    if _manager is not None:
        return _manager
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        _versions[module_name] = None
    allowed = _allowed_external()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else ""
        names = {_canonical(ep.name), _canonical(dist_name)}
        if allowed is not None and not names & allowed:
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            with stdout_to_stderr():
                plugin = _load_entry_point(ep)
            pm.register(plugin, name=ep.name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin must not kill vzgym
            _record(ep.name, "import", exc)
            continue
        _versions[ep.name] = ep.dist.version if ep.dist is not None else None
    _manager = pm
    return pm


def hook_key(name: str) -> tuple[Any, ...]:
    """Identify the current implementations of hook ``name`` (to invalidate caches)."""
    pm = get_plugin_manager()
    impls = getattr(pm.hook, name).get_hookimpls()
    return (id(pm), *((impl.plugin_name, id(impl.function)) for impl in impls))


def run_register_hook(name: str, add: Callable[..., Any]) -> None:
    """Call every plugin's ``name(register)`` hook: built-ins first, then load order.

    Each plugin gets its own ``register(*args, **kwargs)`` that forwards to
    ``add(plugin_name, *args, **kwargs)``.  A plugin whose hook raises (or calls
    ``sys.exit``) is recorded as a failure; the others still register.
    """
    pm = get_plugin_manager()
    impls = sorted(
        getattr(pm.hook, name).get_hookimpls(), key=lambda i: i.plugin_name not in DEFAULT_PLUGINS
    )
    for impl in impls:
        plugin = impl.plugin_name

        def register(*args: Any, _p: str = plugin, **kwargs: Any) -> Any:
            return add(_p, *args, **kwargs)

        try:
            with _quiet(plugin):
                impl.function(register=register)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken plugin must not kill the rest
            _record(plugin, name, exc)


def fill_registry(name: str, add: Callable[..., Any]) -> None:
    """Run hook ``name`` (:func:`run_register_hook`) with every registration guarded.

    ``add(plugin, *args, **kwargs)`` stores one registration (usually into a
    :class:`vzgym.core.registry.Registry`); a registration it refuses
    (``ValueError``/``TypeError``: a bad name, a collision with a built-in or an
    earlier plugin) is recorded against *that* plugin and its other
    registrations go on.
    """

    def guarded(plugin: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return add(plugin, *args, **kwargs)
        except (ValueError, TypeError) as exc:
            _record(plugin, name, exc)
            return None

    run_register_hook(name, guarded)


def call_hook(name: str, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` on every plugin separately, so one raising plugin spoils nothing.

    Returns the non-None results; failures are warned about and recorded.
    """
    pm = get_plugin_manager()
    caller = getattr(pm.hook, name)
    results: list[Any] = []
    for impl in reversed(caller.get_hookimpls()):
        try:
            with _quiet(impl.plugin_name):
                result = impl.function(**{k: kwargs[k] for k in impl.argnames})
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - isolate plugin errors
            _record(impl.plugin_name, name, exc)
            continue
        if result is not None:
            results.append(result)
    return results


def _quiet(plugin: str) -> Any:
    """Redirect an external plugin's prints to stderr (built-ins print nothing)."""
    return contextlib.nullcontext() if plugin in DEFAULT_PLUGINS else stdout_to_stderr()


def call_hook_each(name: str, kwargs_for: Callable[[str], dict[str, Any]]) -> None:
    """Call hook ``name`` on each plugin with its own keyword arguments (``kwargs_for(plugin)``),
    built-ins first; a plugin that raises is recorded as a failure."""
    pm = get_plugin_manager()
    impls = sorted(
        getattr(pm.hook, name).get_hookimpls(), key=lambda i: i.plugin_name not in DEFAULT_PLUGINS
    )
    for impl in impls:
        kwargs = kwargs_for(impl.plugin_name)
        try:
            with _quiet(impl.plugin_name):
                impl.function(**{k: kwargs[k] for k in impl.argnames})
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - isolate plugin errors
            _record(impl.plugin_name, name, exc)


def failures() -> list[PluginFailure]:
    """Return every plugin failure recorded in this process."""
    return list(_failures)


def list_plugins() -> list[PluginInfo]:
    """Return the loaded plugins with their versions and implemented hooks."""
    pm = get_plugin_manager()
    out = []
    for name, plugin in pm.list_name_plugin():
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or []))
        out.append(PluginInfo(name, _versions.get(name), hooks, name in DEFAULT_PLUGINS))
    return sorted(out, key=lambda p: (not p.builtin, p.name))


def reset_for_tests() -> None:
    """Forget the loaded manager and failures (tests that change ``VZGYM_LOAD_PLUGINS``)."""
    global _manager
    _manager = None
    _failures.clear()
    _versions.clear()

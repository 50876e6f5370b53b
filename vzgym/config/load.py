"""Reading a run configuration: TOML files, nested data and ``section.key=value`` overrides.

Overrides (``load_config(path, ["trainer.lr=3e-5", "env.options.num_players=5"])``):

* the value is parsed as a TOML value (``3e-5``, ``true``, ``[1, 2]``,
  ``{clue = "rae"}``, ``"quoted"``); if that fails it is the raw string
  (``trainer.backend=local``);
* a ``str`` field always takes the text as written (``policy.model=123`` is
  the string ``"123"``), unless it is a quoted TOML string;
* an optional field (``X | None``) is unset with ``none`` or ``null``;
* a ``list[str]`` field also takes comma-separated text (``policy.frozen_roles=spy,civilian``);
* a dict field takes one key per override (``trainer.advantages.clue=rae``),
  merged into the file's table, or a whole inline table (``env.options={}``).

Unknown sections and keys are :class:`~vzgym.config.schema.ConfigError` with a
"did you mean"; wrongly typed values name the key and the expected type.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vzgym.config.schema import SECTIONS, ConfigError, RunConfig, describe, did_you_mean
from vzgym.config.validate import validate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of a section (resolved on first use: ``import vzgym`` stays cheap)."""
    return typing.get_type_hints(cls)


def _is_optional(tp: Any) -> tuple[bool, Any]:
    """Return ``(True, X)`` for ``X | None``, else ``(False, tp)``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return True, args[0]
    return False, tp


def _type_name(tp: Any) -> str:
    optional, inner = _is_optional(tp)
    if optional:
        return f"{_type_name(inner)} or none"
    origin = typing.get_origin(tp)
    if origin is None:
        return getattr(tp, "__name__", str(tp))
    args = typing.get_args(tp)
    if origin is dict:
        return "table" if args[1] is Any else f"table of {_type_name(args[1])}"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is tuple:
        return f"list of {len(args)} {_type_name(args[0])}s"
    return str(tp)


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against type ``tp``; return it converted (int→float, list→tuple)."""
    optional, inner = _is_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got none")
    tp = inner
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{key}: expected {_type_name(tp)}, got {describe(value)}")
    if tp is Any:
        return _check_toml_value(key, value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(f"{key}[{i}]", item, v) for i, v in enumerate(value)]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise bad
        return tuple(_coerce(f"{key}[{i}]", a, v) for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        _, val_tp = typing.get_args(tp)
        if not isinstance(value, Mapping):
            raise bad
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{key}: keys must be strings, got {describe(k)}")
            out[k] = _coerce(f"{key}.{k}", val_tp, v)
        return out
    raise ConfigError(f"{key}: unsupported field type {tp!r}")  # pragma: no cover


def _check_toml_value(key: str, value: Any) -> Any:
    """Free-form values (``env.options`` ...) must be representable in TOML."""
    if isinstance(value, (bool, int, float, str, _dt.date, _dt.time)):
        return value
    if isinstance(value, (list, tuple)):
        return [_check_toml_value(f"{key}[{i}]", v) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{key}: keys must be strings, got {describe(k)}")
            out[k] = _check_toml_value(f"{key}.{k}", v)
        return out
    raise ConfigError(f"{key}: {describe(value)} cannot be written in TOML")


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def plain_copy(value: Any) -> Any:
    """Return a deep copy of nested data with mappings as dicts and sequences as lists."""
    if isinstance(value, Mapping):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(v) for v in value]
    return value


def from_dict(data: Mapping[str, Any], *, check: bool = True) -> RunConfig:
    """Build a :class:`RunConfig` from nested plain data (``{"trainer": {"lr": 3e-5}}``).

    Missing sections and keys take their defaults; unknown ones and wrongly
    typed values raise :class:`ConfigError`.  With ``check`` (default) the
    result is also :func:`~vzgym.config.validate.validate`-d.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"config must be a table, got {describe(data)}")
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in SECTIONS:
            raise ConfigError(
                f"unknown config section [{name}].{did_you_mean(name, list(SECTIONS))}"
            )
        if not isinstance(raw, Mapping):
            raise ConfigError(f"[{name}] must be a table, got {describe(raw)}")
        cls = SECTIONS[name]
        hints = _hints(cls)
        kwargs = {}
        for key, value in raw.items():
            if key not in hints:
                raise ConfigError(
                    f"unknown key {name}.{key}.{did_you_mean(key, _field_names(cls))}"
                )
            kwargs[key] = _coerce(f"{name}.{key}", hints[key], value)
        sections[name] = cls(**kwargs)
    config = RunConfig(**sections)
    if check:
        validate(config)
    return config


def _parse_value(text: str) -> tuple[Any, bool]:
    """Parse ``text`` as a TOML value; return ``(value, parsed_ok)``."""
    try:
        return tomllib.loads(f"v = {text}")["v"], True
    except tomllib.TOMLDecodeError:
        return text, False


def _override_value(key: str, tp: Any, text: str) -> Any:
    """Turn an override's text into a value for a field of type ``tp``."""
    text = text.strip()
    optional, inner = _is_optional(tp)
    if optional and text.lower() in ("none", "null"):
        return None
    value, parsed = _parse_value(text)
    if inner is str or (inner is Any and not parsed):
        return value if parsed and isinstance(value, str) else text
    if typing.get_origin(inner) is list and not parsed:
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of nested config data with ``section.key[.subkey]=value`` overrides applied.

    Raises:
        ConfigError: malformed override, unknown section or key, or a sub-key
            on a field that is not a table.
    """
    out: dict[str, Any] = {
        name: {k: plain_copy(v) for k, v in sec.items()} if isinstance(sec, Mapping) else sec
        for name, sec in data.items()
    }
    for item in overrides:
        path, sep, text = item.partition("=")
        parts = [p.strip() for p in path.split(".")]
        if not sep or len(parts) < 2 or not all(parts):
            raise ConfigError(f"bad override {item!r}: use section.key=value, e.g. trainer.lr=3e-5")
        name, key, rest = parts[0], parts[1], parts[2:]
        if name not in SECTIONS:
            raise ConfigError(
                f"override {item!r}: unknown section {name!r}.{did_you_mean(name, list(SECTIONS))}"
            )
        cls = SECTIONS[name]
        hints = _hints(cls)
        if key not in hints:
            raise ConfigError(
                f"override {item!r}: unknown key {name}.{key}."
                f"{did_you_mean(key, _field_names(cls))}"
            )
        section = out.setdefault(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] must be a table, got {describe(section)}")
        tp = hints[key]
        if not rest:
            section[key] = _override_value(f"{name}.{key}", tp, text)
            continue
        if typing.get_origin(tp) is not dict:
            raise ConfigError(f"override {item!r}: {name}.{key} is a {_type_name(tp)}, not a table")
        _, val_tp = typing.get_args(tp)
        if key not in section:
            default = next(f for f in dataclasses.fields(cls) if f.name == key)
            section[key] = default.default_factory()  # type: ignore[misc]
        table = section[key]
        for sub in rest[:-1]:
            if not isinstance(table, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts)} crosses a non-table")
            table = table.setdefault(sub, {})
        if not isinstance(table, dict):
            raise ConfigError(f"override {item!r}: {'.'.join(parts)} crosses a non-table")
        leaf_tp = val_tp if len(rest) == 1 else Any
        table[rest[-1]] = _override_value(".".join(parts), leaf_tp, text)
    return out


def load_config(
    path: str | Path | None = None, overrides: Sequence[str] = (), preset: str | None = None
) -> RunConfig:
    """Load a TOML file (or only defaults when ``path`` is None), apply overrides, validate.

    A paper preset (``preset``, else the file's top-level ``preset = "..."``) supplies
    every value the file and the overrides do not set (:mod:`vzgym.presets`).

    Raises:
        ConfigError: unreadable or invalid TOML, unknown sections or keys
            ("did you mean"), an unknown preset, wrong types or invalid values.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {str(path)!r} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {str(path)!r} is not UTF-8 text (byte "
                f"{exc.object[exc.start : exc.start + 1]!r} at position {exc.start})"
            ) from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {str(path)!r}: {exc}") from exc
    from vzgym.presets import apply_preset

    named = data.pop("preset", None)
    if named is not None and not isinstance(named, str):
        raise ConfigError(f"preset must be a string, got {describe(named)}")
    preset = preset or named
    try:
        merged, decided = apply_preset(preset, apply_overrides(data, overrides))
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    config = from_dict(merged)
    config.preset, config.preset_keys = preset, tuple(decided)
    return config

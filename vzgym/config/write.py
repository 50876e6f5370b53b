"""Writing a run configuration: plain data and TOML (through ``tomli-w``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from vzgym.config.load import plain_copy
from vzgym.config.schema import SECTIONS, ConfigError, RunConfig


def to_dict(config: RunConfig) -> dict[str, dict[str, Any]]:
    """Return the config as nested plain data (tuples become lists; JSON-safe)."""
    return {name: plain_copy(dataclasses.asdict(getattr(config, name))) for name in SECTIONS}


def to_toml(config: RunConfig) -> str:
    """Write the config as TOML that :func:`~vzgym.config.load_config` reads back to an equal one.

    Each section is a table; unset optional values (None, which TOML cannot
    hold) are written as ``# key = (unset)`` comments under the section header.  A
    config made from a preset starts with ``preset = "..."`` (every value is written too).
    """
    import tomli_w

    parts: list[str] = []
    if config.preset is not None:
        parts.append(tomli_w.dumps({"preset": config.preset}))
    for name, section in to_dict(config).items():
        unset = [key for key, value in section.items() if value is None]
        values = {key: value for key, value in section.items() if value is not None}
        try:
            text = tomli_w.dumps({name: values})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[{name}] cannot be written in TOML: {exc}") from exc
        if unset:
            header, _, body = text.partition("\n")
            comments = "".join(f"# {key} = (unset)\n" for key in unset)
            text = f"{header}\n{comments}{body}"
        parts.append(text)
    return "\n".join(part.rstrip("\n") + "\n" for part in parts)

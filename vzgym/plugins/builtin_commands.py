"""Built-in extra commands, attached through the ``register_commands`` hook."""

from __future__ import annotations

from typing import Any

from vzgym.plugins.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Attach commands that live outside :mod:`vzgym.cli`."""
    try:
        from vzgym.render.command import render_command
    except ImportError:  # renderer extra not installed
        return
    cli.add_command(render_command)

"""Built-in extra commands, attached through the ``register_commands`` hook."""

from __future__ import annotations

from typing import Any

from vzgym.plugins.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Attach commands that live outside :mod:`vzgym.cli`."""
    from vzgym.cli_eval import arena_command, eval_command, serve_command
    from vzgym.render.command import render_command
    from vzgym.view.command import view_command

    cli.add_command(render_command)
    cli.add_command(view_command)
    cli.add_command(eval_command)
    cli.add_command(serve_command)
    cli.add_command(arena_command)

"""The ``vzgym`` command line (click).  Plugins add commands via ``register_commands``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from vzgym import __version__


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """Parse ``key=value`` pairs; values are JSON when they parse (``3``, ``true``, ``[3,5]``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint="-o")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


class _PluginGroup(click.Group):
    """A click group that lets plugins add commands the first time it is used."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from vzgym.plugins.manager import call_hook

            call_hook("register_commands", cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_PluginGroup)
@click.version_option(__version__, prog_name="vzgym")
def cli() -> None:
    """vzgym: self-play games in which vision-language models improve themselves."""


@cli.command("envs")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def envs_command(as_json: bool) -> None:
    """List the registered envs (id and one-line description)."""
    from vzgym.registration import get_registry

    specs = list(get_registry())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "gym_id": s.gym_id,
                        "description": s.description,
                        "plugin": s.plugin,
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return
    width = max((len(s.id) for s in specs), default=0)
    for spec in specs:
        click.echo(f"{spec.id.ljust(width)}  {spec.description}")


@cli.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include built-in plugins.")
def plugins_command(show_all: bool) -> None:
    """List loaded plugins (name, version, hooks) and any that failed."""
    from vzgym.plugins.manager import failures, list_plugins
    from vzgym.registration import get_registry

    get_registry()
    rows = [p for p in list_plugins() if show_all or not p.builtin]
    if not rows:
        click.echo("No external plugins loaded (use --all to see built-in ones).")
    for info in rows:
        version = info.version or "built-in"
        click.echo(f"{info.name}  {version}  hooks: {', '.join(info.hooks)}")
    for failure in failures():
        click.echo(f"FAILED {failure.plugin} at {failure.stage}: {failure.error}", err=True)


@cli.command("play")
@click.option("--env", "env_id", required=True, help="Env id, e.g. spy-clevr.")
@click.option("--seat", default="1", show_default=True, help="Your seat: a number or agent id.")
@click.option("--seed", type=int, default=None, help="Episode seed (same seed, same game).")
@click.option("-o", "--env-option", "options", multiple=True, help="Env option key=value.")
@click.option(
    "--image-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write images when the terminal cannot show them.",
)
@click.option("--bots-only", is_flag=True, help="Scripted bots take every seat (a demo).")
def play_command(
    env_id: str,
    seat: str,
    seed: int | None,
    options: tuple[str, ...],
    image_dir: str | None,
    bots_only: bool,
) -> None:
    """Play an env in the terminal against scripted bots."""
    from vzgym.agents.human import TerminalIO
    from vzgym.play import play
    from vzgym.registration import UnknownEnvError

    try:
        play(
            env_id,
            seat=None if bots_only else seat,
            seed=seed,
            env_kwargs=parse_options(options),
            terminal=TerminalIO(image_dir=image_dir),
        )
    except (UnknownEnvError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc


def main() -> None:
    """Entry point of the ``vzgym`` script."""
    cli(prog_name="vzgym")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

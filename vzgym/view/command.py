"""``vzgym view PATH``: write (and optionally serve) the HTML report of trajectories."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("view")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write (default: PATH/view.html).",
)
@click.option("--inline", is_flag=True, help="Embed the images in the HTML (one portable file).")
@click.option("--serve", is_flag=True, help="Serve the report on 127.0.0.1 and print its URL.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port for --serve (0: any free port).",
)
def view_command(path: Path, out: Path | None, inline: bool, serve: bool, port: int) -> None:
    """Write an offline HTML report of a run dir, a rollout/eval output or one step's folder."""
    from vzgym.view.report import build_report

    try:
        stats = build_report(path, out, inline=inline)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {stats.out} ({stats.episodes} games, {stats.turns} turns, {stats.images} images, "
        f"{stats.seconds:.1f} s)"
    )
    for problem in stats.problems:
        click.echo(f"warning: {problem}", err=True)
    if not serve:
        return
    from vzgym.view.serve import make_server

    try:
        server, url = make_server(stats.out, path, port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on 127.0.0.1:{port}: {exc}") from exc
    click.echo(f"serving {url}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

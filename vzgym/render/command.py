"""``vzgym render in.svg -o out.png``: the sandboxed renderer as a CLI command.

Exposes :data:`render_command` (a ``click.Command``) to be attached to the ``vzgym``
CLI through a plugin hook. Prints ``<status>: <message>`` and exits 0 only for ``ok``
(1 for any other status, 2 for usage errors).
"""

from __future__ import annotations

from pathlib import Path

import click

from vzgym.render.limits import RenderLimits
from vzgym.render.results import RenderStatus

__all__ = ["render_command"]

_D = RenderLimits()


@click.command("render")
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG to write (default: INPUT with .png suffix).")
@click.option("--timeout", type=float, default=_D.timeout, show_default=True,
              help="Seconds before the render worker is killed.")
@click.option("--max-bytes", type=int, default=_D.max_bytes, show_default=True,
              help="Input size cap in bytes.")
@click.option("--max-side", type=int, default=_D.max_side, show_default=True,
              help="Maximum output width/height in px.")
@click.option("--max-area", type=int, default=_D.max_area, show_default=True,
              help="Maximum output width*height in px.")
@click.option("--width", "output_width", type=int, default=None,
              help="Scale the output to this width in px (aspect ratio kept).")
@click.option("--default-size", nargs=2, type=int, default=_D.default_size, show_default=True,
              help="Size used when the SVG gives none.")
@click.option("--write-empty/--no-write-empty", default=False, show_default=True,
              help="Also write the PNG when the status is 'empty' (fully transparent).")
def render_command(
    input_path: Path,
    output: Path | None,
    timeout: float,
    max_bytes: int,
    max_side: int,
    max_area: int,
    output_width: int | None,
    default_size: tuple[int, int],
    write_empty: bool,
) -> None:
    """Render the SVG file INPUT to PNG in a sandboxed worker (no file/network access)."""
    from vzgym.render.sandbox import SVGRenderer

    try:
        limits = RenderLimits(
            max_bytes=max_bytes, max_side=max_side, max_area=max_area, timeout=timeout,
            default_size=tuple(default_size), output_width=output_width,
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        with open(input_path, "rb") as f:
            data = f.read(max_bytes + 1)  # never read more than the cap
    except OSError as e:
        raise click.UsageError(f"cannot read {input_path}: {e}") from None
    with SVGRenderer(limits, workers=1) as renderer:
        res = renderer.render(data)
    out = output or input_path.with_suffix(".png")
    wrote = ""
    if res.png is not None and (res.status is RenderStatus.OK or write_empty):
        try:
            out.write_bytes(res.png)
        except OSError as e:
            raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from e
        wrote = f" -> {out} ({res.width}x{res.height})"
    click.echo(f"{res.status.value}: {res.message}{wrote}")
    if not res.ok:
        raise SystemExit(1)

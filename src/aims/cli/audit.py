"""``aims audit verify`` and ``aims audit log``."""

from __future__ import annotations

from datetime import datetime

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace

app = typer.Typer(help="Verify and read the tamper-evident audit log.", no_args_is_help=True)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


@app.command("verify")
def verify(fmt: Format = FORMAT) -> None:
    """Check the whole hash chain; exit 1 naming the first edited/deleted/inserted/reordered event."""
    from aims.services.audit import verify as run

    report = run(open_workspace().db)
    data = report.to_dict()

    def render(d: dict) -> None:
        if d["ok"]:
            console.print(f"audit chain intact: {d['n_events']} events, head #{d['head_seq']}")
        else:
            console.print(f"[red]audit chain BROKEN[/red]: {d['problem']['message']}")

    emit(data, fmt, render)
    if not report.ok:
        raise typer.Exit(1)


@app.command("log")
def log(
    subject: str | None = typer.Option(None, help="e.g. model:churn or model:churn@2."),
    actor: str | None = typer.Option(None, help="Who acted."),
    action: str | None = typer.Option(None, help="e.g. model.promote, or model.* ."),
    since: datetime | None = typer.Option(None, help="ISO date/time (UTC)."),
    limit: int | None = typer.Option(None, help="Only the newest N events."),
    fmt: Format = FORMAT,
) -> None:
    """List audit events, oldest first, with filters."""
    from aims.services.audit import EventFilter, query

    rows = query(open_workspace().db, EventFilter(subject, actor, action, since, limit))
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "payload": _short(x["payload"])} for x in r],
            ["seq", "ts", "actor", "action", "subject", "payload"],
        ),
    )


def _short(payload: dict) -> str:
    import json

    text = json.dumps(payload, default=str)
    return text if len(text) <= 80 else text[:77] + "..."

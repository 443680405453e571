"""``aims audit verify``, ``aims audit checkpoint``, ``aims audit public-key`` and ``aims audit log``."""

from __future__ import annotations

from datetime import datetime

import typer

from aims.cli._output import Format, console, emit, err_console, print_table
from aims.cli._state import STATE, open_workspace

app = typer.Typer(help="Verify and read the tamper-evident audit log.", no_args_is_help=True)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


@app.command("verify")
def verify(
    checkpoint: str | None = typer.Option(
        None,
        "--checkpoint",
        help="A checkpoint file or fsspec URL (a folder URL ending in / uses its newest one): "
        "also prove the chain still extends it.",
    ),
    public_key: str | None = typer.Option(
        None,
        "--public-key",
        help="The base64 key from 'aims audit public-key' to check the checkpoint's signature "
        "with (default: this workspace's own key).",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Verify the audit log; exit 1 naming every problem found.

    Checks the hash chain (edited, deleted, inserted, reordered, forged events:
    keyed hashes need the audit key), the chain against a checkpoint kept
    outside the store (wiped, truncated, rolled-back, rewritten, missing-store,
    bad-signature), and every approval, risk assessment, evaluation and stage
    change against the audit event that recorded it (unanchored).
    """
    from aims.services import audit_checkpoint as cps

    cp = None
    if checkpoint is not None:
        cp, _ = cps.read_checkpoint(checkpoint)
        missing = _missing_store()
        if missing is not None:
            problem = {"kind": missing.kind, "seq": 0, "message": missing.message}
            _emit_report({"ok": False, "problems": [problem], "problem": problem}, fmt)
            raise typer.Exit(1)
    data = cps.report(open_workspace().db, cp, public_key)
    _emit_report(data, fmt)
    if not data["ok"]:
        raise typer.Exit(1)


def _missing_store():  # -> ChainProblem | None
    from aims.services.audit_checkpoint import missing_store
    from aims.settings import load_settings
    from aims.workspace import find_root

    return missing_store(load_settings(find_root(STATE.workspace)))


def _emit_report(data: dict, fmt: Format) -> None:
    def render(d: dict) -> None:
        if d["ok"]:
            line = f"audit chain intact: {d['n_events']} events, head #{d['head_seq']}"
            if "checkpoint" in d:
                cp = d["checkpoint"]
                line += f"; extends the checkpoint of {cp['time']} ({cp['events']} events)"
            console.print(line)
            return
        console.print(f"[red]audit log BROKEN[/red]: {len(d['problems'])} problem(s)")
        for p in d["problems"]:
            console.print(f"  - {p['kind']}: {p['message']}", markup=False)

    emit(data, fmt, render)


@app.command("checkpoint")
def checkpoint(
    out: str | None = typer.Option(
        None,
        "--out",
        help="File or fsspec URL to write to (a URL ending in / gets a new file per checkpoint); "
        "default: print it, e.g. to paste into a ticket.",
    ),
) -> None:
    """Write a signed statement of the chain's size and head, to keep outside the store.

    Later, 'aims audit verify --checkpoint FILE' proves the chain still extends
    it. Refused (exit 1) when the chain is already broken.
    """
    from aims.services.audit_checkpoint import write_checkpoint

    cp, where = write_checkpoint(open_workspace().db, out)
    if where is None:
        typer.echo(cp.to_text(), nl=False)
    else:
        err_console.print(f"checkpoint of {cp.events} events written to {where}")


@app.command("public-key")
def public_key_cmd() -> None:
    """Print the key that verifies this workspace's checkpoints (safe to share with auditors)."""
    from aims.services.audit_checkpoint import public_key

    typer.echo(public_key(open_workspace().db))


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

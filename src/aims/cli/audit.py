"""``aims audit verify``, ``aims audit checkpoint``, ``aims audit public-key`` and ``aims audit log``."""

from __future__ import annotations

from datetime import datetime

import typer

from aims.cli._output import Format, console, emit, err_console, print_table, working
from aims.cli._state import STATE, open_workspace
from aims.cli.remote import remote

app = typer.Typer(help="Verify and read the tamper-evident audit log.", no_args_is_help=True)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")
PAGE = 1000
"""Events asked for at a time when paging through the server's log."""


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
    r = remote()
    if checkpoint is not None:
        cp, _ = cps.read_checkpoint(checkpoint)
    if r is not None:
        body = {"checkpoint": None if cp is None else cp.to_text(), "public_key": public_key}
        data = r.call("POST", "/v1/audit/verify", json=body)
        _emit_report(data, fmt)
        if not data["ok"]:
            raise typer.Exit(1)
        return
    if cp is not None:
        missing = _missing_store()
        if missing is not None:
            problem = {"kind": missing.kind, "seq": 0, "message": missing.message}
            _emit_report({"ok": False, "problems": [problem], "problem": problem}, fmt)
            raise typer.Exit(1)
    with working("verifying the audit chain and the rows it anchors"):
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
    from aims.core.audit_checkpoint import Checkpoint
    from aims.services.audit_checkpoint import save_checkpoint, write_checkpoint

    if (r := remote()) is not None:
        answer = r.call("POST", "/v1/audit/checkpoints")
        cp = Checkpoint.parse(answer["text"], source=f"the checkpoint from {r.url}")
        where = None if out is None else save_checkpoint(cp, out)
    else:
        cp, where = write_checkpoint(open_workspace().db, out)
    if where is None:
        typer.echo(cp.to_text(), nl=False)
    else:
        err_console.print(f"checkpoint of {cp.events} events written to {where}")


@app.command("public-key")
def public_key_cmd() -> None:
    """Print the key that verifies this workspace's checkpoints (safe to share with auditors)."""
    from aims.services.audit_checkpoint import public_key

    if (r := remote()) is not None:
        typer.echo(r.call("GET", "/v1/audit/public-key")["public_key"])
        return
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

    if (r := remote()) is not None:
        rows = _remote_log(r, subject, actor, action, since, limit)
    else:
        rows = query(open_workspace().db, EventFilter(subject, actor, action, since, limit))
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "payload": _short(x["payload"])} for x in r],
            ["seq", "ts", "actor", "action", "subject", "payload"],
        ),
    )


def _remote_log(
    r: object,
    subject: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    limit: int | None,
) -> list[dict]:
    """The events the server answers, filtered by subject as locally (a model's subject
    also covers its versions)."""
    from typing import Any

    from aims.errors import InvalidInput

    model = None
    if subject is not None:
        kind, _, rest = subject.partition(":")
        if kind != "model" or not rest:
            raise InvalidInput(
                f"--subject {subject!r}: in remote mode give a model's subject, "
                "model:NAME or model:NAME@VERSION"
            )
        model = rest.split("@", 1)[0]
    params = {"actor": actor, "action": action, "model": model, "since": since}
    client: Any = r
    if subject is None or "@" not in subject:
        return list(client.call("GET", "/v1/audit/events", params={**params, "limit": limit}))
    # One version's events: page through the model's events and keep that version's.
    rows: list[dict] = []
    after = 0
    while True:
        query = {**params, "after": after, "limit": PAGE}
        page = client.call("GET", "/v1/audit/events", params=query)
        rows.extend(e for e in page if e["subject"] == subject)
        if len(page) < PAGE:
            break
        after = page[-1]["seq"]
    return rows[-limit:] if limit else rows


def _short(payload: dict) -> str:
    import json

    text = json.dumps(payload, default=str)
    return text if len(text) <= 80 else text[:77] + "..."

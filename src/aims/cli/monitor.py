"""``aims monitor run|windows`` and ``aims incidents list|show|ack|resolve``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_json, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import remote, segment
from aims.workspace import current_actor

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")

monitor_app = typer.Typer(
    help="Compute monitoring windows, fire triggers, open incidents, run actions.",
    no_args_is_help=True,
)
incidents_app = typer.Typer(
    help="Incidents opened by the monitor: list, show, acknowledge, resolve.",
    no_args_is_help=True,
)


def _parse_at(text: str | None) -> datetime | None:
    from aims.errors import InvalidInput

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--at {text!r}: give an ISO 8601 time, e.g. 2026-03-01T10:00Z"
        ) from None


def _clock(iso: str | None) -> str:
    return datetime.fromisoformat(iso).strftime("%H:%M UTC") if iso else "-"


def _print_summary(data: dict[str, Any]) -> None:
    console.print(
        f"{data['windows']} window result(s) computed, {data['refreshed']} refreshed with new "
        f"labels; incidents opened: {len(data['incidents_opened'])}"
        + (
            f" ({', '.join(f'#{i}' for i in data['incidents_opened'])})"
            if data["incidents_opened"]
            else ""
        )
        + f", updated: {len(data['incidents_updated'])}",
        highlight=False,
    )
    if data.get("provisional"):
        console.print(
            f"{data['provisional']} provisional result(s) of windows not final yet stored; "
            "they fire no trigger and are recomputed when the window closes",
            highlight=False,
        )
    for action in data["actions"]:
        what = action.get("error") or action.get("reason") or ""
        console.print(
            f"  incident #{action['incident']}: {action['type']}"
            + (f" {action['target']}" if action.get("target") else "")
            + f" -> {action['status']}"
            + (f" ({what})" if what else ""),
            highlight=False,
        )
    for item in data.get("waiting") or []:
        who = f"{item['model']}: " if item.get("model") else ""
        console.print(f"  {who}{item['reason']}", highlight=False, soft_wrap=True)
    for error in data["errors"]:
        console.print(f"  [red]error:[/red] {error}", highlight=False)
    if not data["windows"] and data.get("next_close"):
        console.print(f"next window closes at {_clock(data['next_close'])}", highlight=False)


@monitor_app.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="One pass, then exit (default: loop)."),
    interval: float | None = typer.Option(
        None, "--interval", help="Seconds between passes (default: monitor.interval in aims.yaml)."
    ),
    model: list[str] = typer.Option([], "--model", "-m", help="Only this model (repeatable)."),
    now: bool = typer.Option(
        False,
        "--now",
        help="Also compute the windows not final yet (the one still open, and one ended "
        "but within monitor.grace), marked provisional: they fire no trigger and are "
        "recomputed when they close.",
    ),
    at: str | None = typer.Option(
        None, "--at", help="Treat this ISO 8601 time as the current time (replays and tests)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Compute closed windows of every served model and role, and of every LLM application
    version from its traces (docs/llm-monitoring.md), evaluate triggers, act.

    Without --once it runs until interrupted, one pass every interval. A pass
    that computes nothing says why (no predictions yet, window still open
    until HH:MM UTC, no version in production ...) and when the next window
    closes (its end plus monitor.grace)."""
    when = _parse_at(at)
    if (r := remote()) is not None:
        _remote_run(r, once=once, now=now, at=at, models=model, fmt=fmt)
        return
    ws = open_workspace()
    from aims.services.llm_monitor import full_pass
    from aims.services.monitor import run_forever

    if once:
        summary = full_pass(ws, now=when, models=model or None, provisional=now)
        data = summary.to_dict()
        emit(data, fmt, _print_summary)
        if data["errors"]:
            raise typer.Exit(1)
        return

    def report(summary: Any) -> None:
        data = summary.to_dict()
        if fmt is Format.json:
            print_json(data)
        else:
            _print_summary(data)

    if fmt is Format.table:
        console.print("monitoring; press Ctrl-C to stop")
    run_forever(ws, interval=interval, on_run=report, provisional=now, one_pass=full_pass)


def _remote_run(
    r: Any, *, once: bool, now: bool, at: str | None, models: list[str], fmt: Format
) -> None:
    """One monitoring pass run by the server (its own loop runs with aims serve --monitor)."""
    from aims.errors import InvalidInput

    if not once:
        raise InvalidInput(
            "in remote mode the monitor runs one pass per call: give --once (the server "
            "runs the loop itself with aims serve --monitor)"
        )
    if at is not None:
        raise InvalidInput(
            "--at replays a local workspace's log; in remote mode the server's clock is the time"
        )
    data = r.call("POST", "/v1/monitor/runs", json={"now": now, "models": models or None})
    emit(data, fmt, _print_summary)
    if data["errors"]:
        raise typer.Exit(1)


@monitor_app.command("windows")
def windows(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version."),
    role: str | None = typer.Option(
        None, "--role", help="production, canary, shadow, or llm (LLM application windows)."
    ),
    limit: int = typer.Option(24, "--limit", "-n", help="Newest windows to show."),
    fmt: Format = FORMAT,
) -> None:
    """The newest stored window results of a model, newest first.

    A window still open computed by 'aims monitor run --now' is marked
    provisional until the monitor recomputes it once the window closes."""
    from aims.services.monitor.window_list import window_rows

    if (r := remote()) is not None:
        params = {"version": version, "role": role, "limit": limit}
        data = r.call("GET", f"/v1/models/{segment(name)}/windows", params=params)
    else:
        data = window_rows(open_workspace(), name, version=version, role=role, limit=limit)

    def render(rows: list[dict[str, Any]]) -> None:
        def fmt_value(v: Any) -> str:
            return "" if v is None else f"{v:.3g}"

        table = [
            {
                **r,
                "provisional": "yes" if r["provisional"] else "",
                "share drifted": fmt_value(r["values"].get("share_drifted")),
                "max psi": fmt_value(r["values"].get("max_psi")),
                "volume change": fmt_value(r["values"].get("volume_change")),
                "health issues": fmt_value(r["values"].get("health_issues")),
                "accuracy": fmt_value(r["values"].get("accuracy")),
                "fired": ", ".join(r["fired"]),
            }
            for r in rows
        ]
        print_table(
            table,
            [
                "window_start",
                "version",
                "role",
                "provisional",
                "predictions",
                "labelled",
                "share drifted",
                "max psi",
                "volume change",
                "health issues",
                "accuracy",
                "fired",
            ],
        )

    emit(data, fmt, render)


# --------------------------------------------------------------------------- incidents
def _observed(values: Any) -> str:
    """What a window observed, as ``name=value`` pairs rather than a Python dict."""
    if not isinstance(values, dict):
        return str(values)

    def one(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        if isinstance(v, list | tuple):
            return ", ".join(one(x) for x in v)
        if isinstance(v, dict):
            return "{" + _observed(v) + "}"
        return str(v)

    return "; ".join(f"{k}={one(v)}" for k, v in values.items())


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _about(i: dict[str, Any]) -> str:
    """A model incident's version and role, else its subject ("MCP server files")."""
    if i["model"] is None:
        return str(i["about"])
    ref = i["model"] if i["version"] is None else f"{i['model']}@{i['version']}"
    return f"{ref} ({i['role']})" if i["role"] else str(ref)


@incidents_app.command("list")
def list_(
    status: str = typer.Option(
        "active", "--status", "-s", help="open, acked, resolved, active (not resolved) or all."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model."),
    subject_kind: str | None = typer.Option(
        None,
        "--subject-kind",
        help="Only incidents about this kind of subject: model, mcp_server, agent, principal, "
        "api_key or client.",
    ),
    limit: int | None = typer.Option(None, "--limit", "-n", help="Newest N only."),
    fmt: Format = FORMAT,
) -> None:
    """Incidents, newest first (default: those not yet resolved).

    An incident is about a model version, or about something of a project that
    is no model: an MCP server whose tool changed, an agent refused too often.
    """
    from aims.services.monitor.incidents import list_incidents

    if (r := remote()) is not None:
        params = {"status": status, "model": model, "subject_kind": subject_kind, "limit": limit}
        rows = r.call("GET", "/v1/incidents", params=params)
    else:
        rows = list_incidents(
            open_workspace(), status=status, model=model, subject_kind=subject_kind, limit=limit
        )

    def render(items: list[dict[str, Any]]) -> None:
        print_table(
            [
                {
                    **i,
                    "about": _about(i),
                    "since": (i["first_window"] or str(i["opened_at"]))[:16],
                    "windows": i["window_count"],
                }
                for i in items
            ],
            ["id", "severity", "status", "trigger", "about", "since", "windows", "owner"],
        )

    emit(rows, fmt, render)


@incidents_app.command("show")
def show(incident_id: int = typer.Argument(..., help="Incident id."), fmt: Format = FORMAT) -> None:
    """One incident: what fired, on which windows, the actions taken, who resolved it and why."""
    from aims.services.monitor.incidents import show_incident

    r = remote()
    if r is not None:
        data = r.call("GET", f"/v1/incidents/{incident_id}")
    else:
        data = show_incident(open_workspace(), incident_id)

    def render(i: dict[str, Any]) -> None:
        from rich.text import Text

        # Text, not markup: a severity such as "[critical]" or a summary with brackets
        # is shown as it is.
        head = Text(f"incident #{i['id']}", style="bold")
        head.append(f"  {i['severity']} · {i['status']}")
        console.print(head)
        console.print(Text(str(i["summary"])))
        facts = [
            ("about", _about(i)),
            ("project", i["project"]),
            ("owner", i["owner"] or "-"),
        ]
        if i["model"] is not None:
            facts += [
                ("condition", i["condition"]),
                ("windows", f"{i['window_count']}: {i['first_window']} to {i['last_window']}"),
            ]
        facts.append(("opened", i["opened_at"]))
        if i["acked_at"]:
            facts.append(
                (
                    "acknowledged",
                    f"{i['acked_at']} by {i['acked_by']} (after {_ago(i['time_to_ack_seconds'])})",
                )
            )
        if i["resolved_at"]:
            facts.append(
                (
                    "resolved",
                    f"{i['resolved_at']} by {i['resolved_by']} "
                    f"(after {_ago(i['time_to_resolve_seconds'])})",
                )
            )
            facts.append(("resolution", i["resolution"]))
        print_table([{"": k, "value": v} for k, v in facts], ["", "value"])
        windows = i["evidence"].get("windows", [])[-5:]
        if windows:
            print_table(
                [{"window": w["start"], "observed": _observed(w["observed"])} for w in windows],
                ["window", "observed"],
                title="latest windows",
            )
        if i["actions"]:
            print_table(
                [
                    {
                        "action": a["type"],
                        "target": a.get("target") or "",
                        "status": a["status"],
                        "detail": a.get("error")
                        or a.get("reason")
                        or a.get("new_version")
                        or a.get("to")
                        or "",
                    }
                    for a in i["actions"]
                ],
                ["action", "target", "status", "detail"],
                title="actions",
            )

    emit(data, fmt, render)


@incidents_app.command("ack")
def ack(
    incident_id: int = typer.Argument(..., help="Incident id."),
    note: str = typer.Option("", "--note", help="What you are doing about it."),
    fmt: Format = FORMAT,
) -> None:
    """Acknowledge an open incident (you are on it)."""
    from aims.services.monitor.incidents import ack_incident

    if (r := remote()) is not None:
        data = r.call("POST", f"/v1/incidents/{incident_id}/acknowledge", json={"note": note})
    else:
        data = ack_incident(open_workspace(), incident_id, actor=current_actor(), note=note)
    emit(data, fmt, lambda i: console.print(f"incident #{i['id']} acknowledged by {i['acked_by']}"))


@incidents_app.command("resolve")
def resolve(
    incident_id: int = typer.Argument(..., help="Incident id."),
    note: str = typer.Option(
        ..., "--note", help="Root cause and corrective action (kept as the resolution)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Resolve an incident with a note of the root cause and the corrective action."""
    from aims.services.monitor.incidents import resolve_incident

    if (r := remote()) is not None:
        data = r.call("POST", f"/v1/incidents/{incident_id}/resolve", json={"note": note})
    else:
        data = resolve_incident(open_workspace(), incident_id, actor=current_actor(), note=note)
    emit(data, fmt, lambda i: console.print(f"incident #{i['id']} resolved by {i['resolved_by']}"))

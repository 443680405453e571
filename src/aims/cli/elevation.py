"""``aims elevate`` and ``aims elevation list|approve|deny|revoke``: just-in-time elevation.

A principal asks for a role on a project for a while; another principal
holding that role approves or denies it; approved, it lapses by itself. In
remote mode each command runs through the server under the caller's own key.
See :mod:`aims.services.elevation` and docs/security.md.
"""

from __future__ import annotations

from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.workspace import current_actor

elevation_app = typer.Typer(
    help="Just-in-time elevations: time-bound roles, approved by another principal.",
    no_args_is_help=True,
)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")
COLUMNS = ["id", "principal", "project", "role", "status", "seconds", "decided_by", "ends_at"]


def _remote() -> Any:
    from aims.cli.remote import remote

    return remote()


def _render(verb: str):  # -> Callable[[dict], None]
    def render(d: dict[str, Any]) -> None:
        until = f" until {d['ends_at']:%Y-%m-%d %H:%M:%S} UTC" if d.get("ends_at") else ""
        console.print(
            f"{verb} elevation {d['id']}: {d['principal']} as {d['role']} on {d['project']} "
            f"({d['status']}{until})",
            highlight=False,
            soft_wrap=True,
        )

    return render


def _dated(d: dict[str, Any]) -> dict[str, Any]:
    """A remote answer's times back as datetimes, so one renderer serves both modes."""
    from datetime import datetime

    return {
        k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v
        for k, v in d.items()
    }


def elevate(
    role: str = typer.Option(..., "--role", "-r", help="The role asked for, e.g. operator."),
    project: str | None = typer.Option(
        None, "--project", "-p", help="The project (default: the workspace's)."
    ),
    for_: str = typer.Option(
        ..., "--for", help="How long, from approval: 30m, 2h, 90s (at most access.elevation_max)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Ask for a time-bound role on a project; another principal holding it approves it
    with 'aims elevation approve ID'. It lapses by itself after --for."""
    from aims.services.elevation import duration_seconds, request_elevation

    seconds = duration_seconds(for_)
    if (r := _remote()) is not None:
        body = {"role": role, "project": project, "seconds": seconds, "reason": reason}
        data = _dated(r.call("POST", "/v1/elevations", json=body))
    else:
        ws = open_workspace()
        data = request_elevation(
            ws,
            actor=current_actor(),
            role=role,
            project=project or ws.settings.project,
            seconds=seconds,
            reason=reason,
        )
    emit(data, fmt, _render("requested"))


@elevation_app.command("list")
def list_(
    project: str | None = typer.Option(None, "--project", "-p", help="Only this project."),
    status: str | None = typer.Option(
        None, "--status", help="Only pending, active, lapsed, denied or revoked ones."
    ),
    fmt: Format = FORMAT,
) -> None:
    """List elevations, newest first."""
    from aims.services.elevation import list_elevations

    if (r := _remote()) is not None:
        params = {k: v for k, v in (("project", project), ("status", status)) if v is not None}
        rows = [_dated(x) for x in r.call("GET", "/v1/elevations", params=params)]
    else:
        rows = list_elevations(open_workspace(), project=project, status=status)
    emit(rows, fmt, lambda r: print_table(r, COLUMNS))


def _decide(elevation_id: int, verb: str, note: str, fmt: Format) -> None:
    from aims.services.elevation import decide, revoke_elevation

    if (r := _remote()) is not None:
        body = {"reason": note} if verb == "revoke" else {"note": note}
        data = _dated(r.call("POST", f"/v1/elevations/{elevation_id}/{verb}", json=body))
    elif verb == "revoke":
        data = revoke_elevation(open_workspace(), elevation_id, actor=current_actor(), reason=note)
    else:
        data = decide(
            open_workspace(),
            elevation_id,
            actor=current_actor(),
            approve=verb == "approve",
            note=note,
        )
    emit(data, fmt, _render({"approve": "approved", "deny": "denied"}.get(verb, "revoked")))


ID = typer.Argument(..., help="The elevation's id (see 'aims elevation list').")


@elevation_app.command("approve")
def approve(
    elevation_id: int = ID,
    note: str = typer.Option("", "--note", help="A note kept with the decision."),
    fmt: Format = FORMAT,
) -> None:
    """Approve someone else's pending elevation (you must hold its role on its project)."""
    _decide(elevation_id, "approve", note, fmt)


@elevation_app.command("deny")
def deny(
    elevation_id: int = ID,
    note: str = typer.Option("", "--note", help="Why it is denied."),
    fmt: Format = FORMAT,
) -> None:
    """Deny someone else's pending elevation."""
    _decide(elevation_id, "deny", note, fmt)


@elevation_app.command("revoke")
def revoke(
    elevation_id: int = ID,
    reason: str = typer.Option("", "--reason", help="Why it ends early."),
    fmt: Format = FORMAT,
) -> None:
    """End an active elevation now (its requester, or someone who could approve it)."""
    _decide(elevation_id, "revoke", reason, fmt)

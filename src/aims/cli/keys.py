"""``aims keys create|revoke|list``: API keys of the prediction server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import remote, segment
from aims.clock import utc
from aims.errors import InvalidInput
from aims.workspace import current_actor

app = typer.Typer(help="Create, revoke and list API keys of the server.", no_args_is_help=True)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_expiry(text: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h`` (from now) or an ISO 8601 date/time (UTC when no zone is given).

    Examples
    --------
    >>> parse_expiry("2h", datetime(2026, 1, 1, tzinfo=UTC)).isoformat()
    '2026-01-01T02:00:00+00:00'
    >>> parse_expiry("2026-06-30").isoformat()
    '2026-06-30T00:00:00+00:00'
    """
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        return now + timedelta(seconds=float(match.group(1)) * _UNIT[match.group(2)])
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--expires {text!r}: give a duration (90d, 12h), a date (2026-06-30) or never"
        ) from None
    return utc(stamp)


@app.command("create")
def create(
    project: str | None = typer.Option(
        None,
        "--project",
        "-p",
        help="Project the key may act on ('*' for every project; default: the workspace's).",
    ),
    role: str | None = typer.Option(
        None,
        "--role",
        "-r",
        help="viewer, predictor, scientist, approver, operator or admin "
        "(required without --principal; default with it: the principal's grant).",
    ),
    principal: str | None = typer.Option(
        None,
        "--principal",
        help="The principal the key acts for; the key carries at most its grant on the project.",
    ),
    expires: str | None = typer.Option(
        None,
        "--expires",
        help="Expiry: a duration (30d, 12h), a date (2026-06-30) or 'never' "
        "(default: server.key_expiry_days in aims.yaml, 90 days).",
    ),
    name: str = typer.Option("", "--name", "-n", help="What the key is for (shown in lists)."),
    fmt: Format = FORMAT,
) -> None:
    """Create an API key. The key is printed once: store it now, it cannot be shown again."""
    from aims.server.config import ServerConfig
    from aims.services.keys import create_key

    if (r := remote()) is not None:
        _remote_create(r, project, role, principal, expires, name, fmt)
        return
    ws = open_workspace()
    target = project or ws.settings.project
    if role is None:
        role = _granted_role(ws, principal, target)
    if expires is None:
        days = ServerConfig.from_workspace(ws).key_expiry_days
        expires_at: datetime | None = datetime.now(UTC) + timedelta(days=days)
    elif expires.strip().lower() == "never":
        expires_at = None
    else:
        expires_at = parse_expiry(expires)
    info, secret = create_key(
        ws,
        project=target,
        role=role,
        actor=current_actor(),
        name=name,
        expires_at=expires_at,
        principal=principal,
    )
    emit({**info, "api_key": secret}, fmt, _render_created)


def _remote_create(
    r: Any,
    project: str | None,
    role: str | None,
    principal: str | None,
    expires: str | None,
    name: str,
    fmt: Format,
) -> None:
    """Create the key on the server (admin); its default expiry is the server's."""
    from aims.cli.principals import _remote_project

    body: dict[str, Any] = {
        "project": _remote_project(r, project),
        "role": role,
        "principal": principal,
        "name": name,
    }
    if expires is not None and expires.strip().lower() == "never":
        body["never_expires"] = True
    elif expires is not None:
        body["expires_at"] = parse_expiry(expires).isoformat()
    data = r.call("POST", "/v1/keys", json=body)
    if data.get("expires_at"):
        data["expires_at"] = utc(datetime.fromisoformat(data["expires_at"]))
    emit(data, fmt, _render_created)


def _render_created(d: dict[str, Any]) -> None:
    console.print(
        f"created key {d['key_id']} (project {d['project']}, role {d['role']}"
        + (f", for {d['principal']}" if d.get("principal") else "")
        + (f", expires {d['expires_at']:%Y-%m-%d %H:%M} UTC" if d["expires_at"] else "")
        + ")",
        soft_wrap=True,
    )
    console.print(d["api_key"], highlight=False, soft_wrap=True)
    err_console.print("store this key now: it is not kept and cannot be shown again")


def _granted_role(ws: Any, principal: str | None, project: str) -> str:
    """The role a key gets without --role: its principal's grant on ``project``."""
    from aims.services.identity import grant_role_of

    if principal is None:
        raise InvalidInput("give --role ROLE (or --principal NAME to take the principal's grant)")
    return grant_role_of(ws, principal, project)


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key id (the part after 'aims.')."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Revoke a key; running servers refuse its tokens within their poll interval."""
    from aims.services.keys import revoke_key

    if (r := remote()) is not None:
        data = r.call("POST", f"/v1/keys/{segment(key_id)}/revoke", json={"reason": reason})
    else:
        data = revoke_key(open_workspace(), key_id, actor=current_actor(), reason=reason)
    emit(data, fmt, lambda d: console.print(f"revoked key {d['key_id']}"))


@app.command("list")
def list_(
    project: str | None = typer.Option(None, "--project", "-p", help="Only this project."),
    all_: bool = typer.Option(False, "--all", help="Include revoked and expired keys."),
    fmt: Format = FORMAT,
) -> None:
    """List API keys (never their secrets)."""
    from aims.services.keys import list_keys

    if (r := remote()) is not None:
        rows = r.call("GET", "/v1/keys", params={"project": project, "all": all_})
    else:
        rows = list_keys(open_workspace(), project=project, include_inactive=all_)
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "principal": x.get("principal") or ""} for x in r],
            [
                "key_id",
                "name",
                "principal",
                "project",
                "role",
                "status",
                "created_by",
                "expires_at",
            ],
        ),
    )


@app.command("rotate")
def rotate(
    key_id: str = typer.Argument(..., help="The key id to replace (the part after 'aims.')."),
    overlap: str = typer.Option(
        "1h", "--overlap", help="How long the old key keeps working: 1h, 30m, 0s (at once)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Replace a key by a new one (same principal, role, project and lifetime length); the
    old one expires after --overlap. The new key is printed once: store it now."""
    from aims.cli.remote import remote
    from aims.services.elevation import duration_seconds
    from aims.services.keys import rotate_key

    seconds = 0 if overlap.strip() in ("0", "0s") else duration_seconds(overlap, "--overlap")
    if (r := remote()) is not None:
        body = {"overlap_seconds": seconds}
        data = r.call("POST", f"/v1/keys/{key_id}/rotate", json=body)
    else:
        info, secret = rotate_key(
            open_workspace(), key_id, actor=current_actor(), overlap_seconds=seconds
        )
        data = {**info, "api_key": secret}

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"key {d['rotated_from']} replaced by {d['key_id']} (project {d['project']}, role "
            f"{d['role']}); the old key stops at {_stamp(d['old_expires_at'])} UTC",
            soft_wrap=True,
        )
        console.print(d["api_key"], highlight=False, soft_wrap=True)
        err_console.print("store this key now: it is not kept and cannot be shown again")

    emit(data, fmt, render)


def _stamp(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value:%Y-%m-%d %H:%M:%S}"

"""``aims principals add|list|disable``, ``aims grant``, ``aims revoke-grant``, ``aims team enable``.

Principals are who acts (people, services, agents); grants give them a role per
project. See :mod:`aims.services.identity` and docs/security.md.
"""

from __future__ import annotations

from typing import Any

import typer

from aims.cli._output import Format, console, emit, err_console, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import remote, segment
from aims.errors import InvalidInput
from aims.workspace import current_actor

principals_app = typer.Typer(
    help="People, services and agents who act on the workspace, and their owners.",
    no_args_is_help=True,
)
team_app = typer.Typer(
    help="Team mode: every governance act made by a principal.", no_args_is_help=True
)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def _grants_text(grants: dict[str, str]) -> str:
    return ", ".join(f"{role}@{project}" for project, role in grants.items()) or "-"


def _render_one(verb: str):  # -> Callable[[dict], None]
    def render(d: dict[str, Any]) -> None:
        owner = f", owner {d['owner']}" if d["owner"] else ""
        console.print(
            f"{verb} {d['kind']} {d['name']}{owner} ({d['status']}; grants: "
            f"{_grants_text(d['grants'])})",
            highlight=False,
            soft_wrap=True,
        )

    return render


@principals_app.command("add")
def add(
    name: str = typer.Argument(..., help="Login or email address of the principal."),
    kind: str = typer.Option(..., "--kind", "-k", help="human, service or agent."),
    email: str | None = typer.Option(None, "--email", help="Contact address (humans)."),
    owner: str | None = typer.Option(
        None, "--owner", help="The enabled human principal who answers for a service or agent."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Add a principal. Services and agents need --owner (a human principal)."""
    from aims.services.identity import add_principal

    if (r := remote()) is not None:
        body = {"name": name, "kind": kind, "email": email, "owner": owner}
        data = r.call("POST", "/v1/principals", json=body)
    else:
        data = add_principal(
            open_workspace(), name, kind=kind, email=email, owner=owner, actor=current_actor()
        )
    emit(data, fmt, _render_one("added"))


@principals_app.command("list")
def list_(
    enabled: bool = typer.Option(False, "--enabled", help="Only enabled principals."),
    fmt: Format = FORMAT,
) -> None:
    """List principals with their kind, owner, status, grants and active keys."""
    from aims.services.identity import list_principals

    if (r := remote()) is not None:
        rows = r.call("GET", "/v1/principals", params={"enabled": enabled})
    else:
        rows = list_principals(open_workspace(), include_disabled=not enabled)
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "grants": _grants_text(x["grants"]), "owner": x["owner"] or ""} for x in r],
            ["name", "kind", "owner", "status", "grants", "keys", "email"],
        ),
    )


@principals_app.command("kind")
def kind(
    name: str = typer.Argument(..., help="The principal."),
    kind: str = typer.Option(..., "--kind", "-k", help="human, service or agent."),
    owner: str | None = typer.Option(
        None, "--owner", help="The enabled human principal who answers for a service or agent."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Change a principal's kind (e.g. one 'aims team enable' added as a human)."""
    from aims.services.identity import set_kind

    if (r := remote()) is not None:
        body = {"kind": kind, "owner": owner}
        data = r.call("PUT", f"/v1/principals/{segment(name)}/kind", json=body)
    else:
        data = set_kind(open_workspace(), name, kind=kind, owner=owner, actor=current_actor())
    emit(data, fmt, _render_one("now"))


@principals_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="The principal to disable."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Disable a principal: its keys stop working at once; its history stays."""
    from aims.services.identity import disable_principal

    if (r := remote()) is not None:
        path = f"/v1/principals/{segment(name)}/disable"
        data = r.call("POST", path, json={"reason": reason})
    else:
        data = disable_principal(open_workspace(), name, actor=current_actor(), reason=reason)
    emit(data, fmt, _render_one("disabled"))


def grant(
    name: str = typer.Argument(..., help="The principal."),
    role: str | None = typer.Option(
        None,
        "--role",
        "-r",
        help="viewer, predictor, scientist, approver, operator or admin (not with --remove).",
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Project ('*' for every project; default: the workspace's)."
    ),
    remove: bool = typer.Option(
        False, "--remove", help="Take the grant on --project back instead (same as revoke-grant)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Give a principal a role on a project (replacing the one it held there)."""
    from aims.services import identity

    if (r := remote()) is not None:
        if not remove and role is None:
            raise InvalidInput("give --role ROLE (or --remove to take the grant back)")
        path = f"/v1/principals/{segment(name)}/grants/{segment(_remote_project(r, project))}"
        if remove:
            emit(r.call("DELETE", path), fmt, _render_one("revoked a grant of"))
        else:
            emit(r.call("PUT", path, json={"role": role}), fmt, _render_one("granted"))
        return
    ws = open_workspace()
    target = project or ws.settings.project
    if remove:
        data = identity.revoke_grant(ws, name, project=target, actor=current_actor())
        emit(data, fmt, _render_one("revoked a grant of"))
        return
    if role is None:
        raise InvalidInput("give --role ROLE (or --remove to take the grant back)")
    data = identity.grant(ws, name, role=role, project=target, actor=current_actor())
    emit(data, fmt, _render_one("granted"))


def revoke_grant(
    name: str = typer.Argument(..., help="The principal."),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Project of the grant (default: the workspace's)."
    ),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Take back a principal's grant on a project; its keys lose it at their next use."""
    from aims.services.identity import revoke_grant as run

    if (r := remote()) is not None:
        path = f"/v1/principals/{segment(name)}/grants/{segment(_remote_project(r, project))}"
        emit(
            r.call("DELETE", path, params={"reason": reason}),
            fmt,
            _render_one("revoked a grant of"),
        )
        return
    ws = open_workspace()
    target = project or ws.settings.project
    data = run(ws, name, project=target, actor=current_actor(), reason=reason)
    emit(data, fmt, _render_one("revoked a grant of"))


def _remote_project(r: Any, project: str | None) -> str:
    """--project, else the project of the key the CLI acts with (a workspace's default
    project is not known remotely)."""
    if project:
        return project
    held = str(r.session().get("project") or "")
    if not held or held == "*":
        raise InvalidInput(
            "give --project PROJECT: in remote mode the default is the project of your key, "
            "and yours acts on every project"
        )
    return held


@team_app.command("enable")
def team_enable(
    admin: str | None = typer.Option(
        None, "--admin", help="Principal granted admin on every project (default: you)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Move this workspace to team mode: actors seen so far become human principals, each
    existing key gets a service principal of its own, and aims.yaml says identity: team.

    Nothing in the audit chain is rewritten; only new events are appended."""
    from aims.cli.remote import local_only
    from aims.services.team_mode import enable_team

    local_only("team enable", "it changes a workspace's own settings")
    ws = open_workspace()
    data = enable_team(ws, actor=current_actor(), admin=admin)
    _set_team_mode(ws.root / "aims.yaml")

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"team mode on: {len(d['principals'])} principal(s) from the history, "
            f"{len(d['keys'])} key(s) attached, {d['admin']} is admin of every project",
            highlight=False,
            soft_wrap=True,
        )
        if d["principals"]:
            err_console.print(
                "added as humans (re-kind any service or agent among them): "
                + ", ".join(d["principals"]),
                highlight=False,
                soft_wrap=True,
            )
        if d["skipped"]:
            err_console.print(
                "not valid principal names, left as they are in the history: "
                + ", ".join(d["skipped"]),
                highlight=False,
                soft_wrap=True,
            )

    emit(data, fmt, render)


def _set_team_mode(config: Any) -> None:
    """Set ``identity: team`` in ``aims.yaml``, keeping the rest of the text (and comments)."""
    import re

    text = config.read_text(encoding="utf-8")
    line = re.compile(r"^identity:.*$", re.MULTILINE)
    if line.search(text):
        text = line.sub("identity: team", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n# Who acts (see docs/security.md).\nidentity: team\n"
    config.write_text(text, encoding="utf-8")

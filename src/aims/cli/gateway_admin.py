"""``aims gateway server|allow|revoke|pins|calls``: the MCP gateway's inventory and rules.

- ``aims gateway server add|list|remove``: upstream MCP servers, their owners and
  where the gateway's own credential for each lives (never the secret);
- ``aims gateway allow AGENT SERVER TOOL`` (and ``revoke``): an agent's allow-list,
  with argument constraints (``--prefix path=/data/``, ``--max amount=100``,
  ``--enum currency=EUR,USD``, ``--pattern ticket=^OPS-[0-9]+$``,
  ``--domains to=acme.example``);
- ``aims gateway pins list|approve``: the approved definitions of upstream tools;
- ``aims gateway calls pending|approve|deny``: calls waiting for a person.

In remote mode (``AIMS_URL`` and ``AIMS_API_KEY``, or ``aims login``) each command
acts through the server's governance API (:mod:`aims.server.governance.gateway`)
as the key's principal, and prints what it prints locally. See docs/gateway.md.
"""

from __future__ import annotations

from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.errors import InvalidInput
from aims.workspace import current_actor

__all__ = ["calls_app", "pins_app", "register", "server_app"]

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")

server_app = typer.Typer(help="Upstream MCP servers behind the gateway.", no_args_is_help=True)
pins_app = typer.Typer(
    help="Approved definitions (hashes) of upstream tools; a changed one is blocked.",
    no_args_is_help=True,
)
calls_app = typer.Typer(
    help="Calls waiting for a person's approval: high-risk tools, and risky calls after "
    "untrusted text.",
    no_args_is_help=True,
)


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def _remote() -> Any:
    """The server's client in remote mode (the act goes to its governance API), else None."""
    from aims.cli.remote import remote

    return remote()


@server_app.command("add")
def server_add(
    name: str = typer.Argument(..., help="Short name; prefixes its tools (NAME__TOOL)."),
    url: str | None = typer.Option(
        None, "--url", help="Its streamable HTTP endpoint, e.g. https://files.example/mcp."
    ),
    command: str | None = typer.Option(
        None, "--command", help="Or: the command that starts it, spoken to over stdio."
    ),
    owner: str = typer.Option(
        ..., "--owner", help="The principal who answers for it and approves its tools."
    ),
    credential: str | None = typer.Option(
        None,
        "--credential",
        help="Where the gateway's own secret for it lives: env:VARIABLE or file:PATH (never the secret).",
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Its project (default: the workspace's)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Register an upstream MCP server: --url for one that listens, --command for one the
    gateway starts itself."""
    from aims.services.gateway.inventory import add_server

    if (url is None) == (command is None):
        raise InvalidInput(
            "give the server's --url, or the --command that starts it (one of the two)"
        )
    if (r := _remote()) is not None:
        body = {
            "name": name,
            "url": url,
            "command": command,
            "owner": owner,
            "credential": credential,
            "project": project,
        }
        data = r.call("POST", "/v1/gateway/servers", json=body)
    else:
        data = add_server(
            open_workspace(),
            name,
            owner=owner,
            url=url or command or "",
            transport="http" if url else "stdio",
            credential=credential,
            project=project,
            actor=current_actor(),
        )
    emit(
        data,
        fmt,
        lambda d: _say(f"registered MCP server {d['name']} ({d['url']}), owner {d['owner']}"),
    )


@server_app.command("list")
def server_list(fmt: Format = FORMAT) -> None:
    """The registered servers."""
    from aims.services.gateway.inventory import list_servers

    r = _remote()
    rows = r.call("GET", "/v1/gateway/servers") if r else list_servers(open_workspace())
    emit(
        rows,
        fmt,
        lambda r: print_table(r, ["name", "owner", "transport", "url", "credential", "project"]),
    )


@server_app.command("remove")
def server_remove(
    name: str = typer.Argument(..., help="The server's name."), fmt: Format = FORMAT
) -> None:
    """Remove a server with its allow-list entries and pins."""
    from aims.services.gateway.inventory import remove_server

    if (r := _remote()) is not None:
        from aims.cli.remote import segment

        data = r.call("DELETE", f"/v1/gateway/servers/{segment(name)}")
    else:
        data = remove_server(open_workspace(), name, actor=current_actor())
    emit(data, fmt, lambda d: _say(f"removed MCP server {d['name']}"))


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        arg, sep, value = item.partition("=")
        if not sep or not arg:
            raise InvalidInput(
                f"{option} takes ARGUMENT=VALUE, e.g. {option} path=/data/; got {item!r}"
            )
        out.append((arg, value))
    return out


def _constraints(
    prefix: list[str], maximum: list[str], enum: list[str], pattern: list[str], domains: list[str]
) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for arg, value in _pairs(prefix, "--prefix"):
        rules.setdefault(arg, {})["prefix"] = value
    for arg, value in _pairs(maximum, "--max"):
        try:
            rules.setdefault(arg, {})["max"] = float(value) if "." in value else int(value)
        except ValueError:
            raise InvalidInput(f"--max {arg}= needs a number, got {value!r}") from None
    for arg, value in _pairs(enum, "--enum"):
        rules.setdefault(arg, {})["enum"] = [v for v in value.split(",") if v]
    for arg, value in _pairs(pattern, "--pattern"):
        rules.setdefault(arg, {})["pattern"] = value
    for arg, value in _pairs(domains, "--domains"):
        rules.setdefault(arg, {})["domains"] = [v.strip().lower() for v in value.split(",") if v]
    return rules


def allow(
    agent: str = typer.Argument(..., help="The agent principal."),
    server: str = typer.Argument(..., help="The server's name."),
    tool: str = typer.Argument(
        ..., help="The tool's name on that server, or '*' for all its tools."
    ),
    prefix: list[str] = typer.Option(
        [], "--prefix", help="ARG=/path/: the argument must be a path under it."
    ),
    maximum: list[str] = typer.Option(
        [], "--max", help="ARG=N: the argument must be a number at most N."
    ),
    enum: list[str] = typer.Option(
        [], "--enum", help="ARG=A,B,C: the argument must be one of these."
    ),
    pattern: list[str] = typer.Option(
        [], "--pattern", help="ARG=REGEX: the whole argument must match."
    ),
    domains: list[str] = typer.Option(
        [],
        "--domains",
        help="ARG=A,B: every e-mail address and URL host in the argument must be one of "
        "these domains or under one.",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Allow an agent to call a tool of a server, within the constraints given."""
    from aims.services.gateway.allowlist import allow as allow_tool

    rules = _constraints(prefix, maximum, enum, pattern, domains)
    if (r := _remote()) is not None:
        body = {"agent": agent, "server": server, "tool": tool, "constraints": rules}
        data = r.call("POST", "/v1/gateway/allowed", json=body)
    else:
        data = allow_tool(
            open_workspace(), agent, server, tool, constraints=rules, actor=current_actor()
        )
    emit(
        data,
        fmt,
        lambda d: _say(f"{d['agent']} may call {d['server']}/{d['tool']} {d['constraints'] or ''}"),
    )


def revoke(
    agent: str = typer.Argument(..., help="The agent principal."),
    server: str = typer.Argument(..., help="The server's name."),
    tool: str = typer.Argument(..., help="The tool's name, or '*'."),
    fmt: Format = FORMAT,
) -> None:
    """Remove one entry of an agent's allow-list."""
    from aims.services.gateway.allowlist import revoke as revoke_tool

    if (r := _remote()) is not None:
        body = {"agent": agent, "server": server, "tool": tool}
        data = r.call("POST", "/v1/gateway/allowed/revoke", json=body)
    else:
        data = revoke_tool(open_workspace(), agent, server, tool, actor=current_actor())
    emit(data, fmt, lambda d: _say(f"{d['agent']} may no longer call {d['server']}/{d['tool']}"))


def allowed(
    agent: str | None = typer.Argument(None, help="Only this agent's entries."),
    fmt: Format = FORMAT,
) -> None:
    """The allow-lists."""
    from aims.services.gateway.allowlist import list_allowed

    if (r := _remote()) is not None:
        rows = r.call("GET", "/v1/gateway/allowed", params={"agent": agent})
    else:
        rows = list_allowed(open_workspace(), agent)
    emit(rows, fmt, lambda r: print_table(r, ["agent", "server", "tool", "constraints"]))


@pins_app.command("list")
def pins_list(
    server: str | None = typer.Argument(None, help="Only this server's tools."),
    fmt: Format = FORMAT,
) -> None:
    """Every tool the gateway has seen, with its pin's status (new, approved, changed)."""
    from aims.services.gateway.pins import list_pins

    if (r := _remote()) is not None:
        rows = r.call("GET", "/v1/gateway/pins", params={"server": server})
    else:
        rows = list_pins(open_workspace(), server)
    emit(
        rows,
        fmt,
        lambda r: print_table(
            r, ["server", "tool", "status", "seen_sha256", "approved_by", "incident"]
        ),
    )


@pins_app.command("approve")
def pins_approve(
    server: str = typer.Argument(..., help="The server's name."),
    tool: str = typer.Argument(..., help="The tool's name on that server."),
    fmt: Format = FORMAT,
) -> None:
    """Approve a tool's definition as last seen (the server's owner only)."""
    from aims.services.gateway.pins import approve_pin

    if (r := _remote()) is not None:
        data = r.call("POST", "/v1/gateway/pins/approve", json={"server": server, "tool": tool})
    else:
        data = approve_pin(open_workspace(), server, tool, actor=current_actor())
    emit(data, fmt, lambda d: _say(f"approved {d['server']}/{d['tool']} as {d['sha256'][:12]}"))


@calls_app.command("pending")
def calls_pending(
    every: bool = typer.Option(False, "--all", help="Decided and expired calls too."),
    fmt: Format = FORMAT,
) -> None:
    """Calls waiting for a person's decision."""
    from aims.services.gateway.calls import list_calls

    if (r := _remote()) is not None:
        rows = r.call("GET", "/v1/gateway/calls", params={"status": "all" if every else "pending"})
    else:
        rows = list_calls(open_workspace(), status=None if every else "pending")
    columns = [
        "id",
        "agent",
        "owner",
        "server",
        "tool",
        "arguments",
        "reason",
        "status",
        "expires_at",
        "decided_by",
    ]
    emit(rows, fmt, lambda r: print_table(r, columns))


def _decide(call_id: int, approve: bool, note: str, fmt: Format) -> None:
    from aims.services.gateway.calls import decide

    if (r := _remote()) is not None:
        verb = "approve" if approve else "deny"
        data = r.call("POST", f"/v1/gateway/calls/{call_id}/{verb}", json={"note": note})
    else:
        data = decide(open_workspace(), call_id, approve=approve, actor=current_actor(), note=note)
    emit(
        data,
        fmt,
        lambda d: _say(
            f"call {d['call']} of {d['server']}/{d['tool']} by {d['agent']}: {d['status']}"
        ),
    )


@calls_app.command("approve")
def calls_approve(
    call_id: int = typer.Argument(..., help="The call's id (aims gateway calls pending)."),
    note: str = typer.Option("", "--note", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Let a waiting call through (not the agent's owner: another person)."""
    _decide(call_id, True, note, fmt)


@calls_app.command("deny")
def calls_deny(
    call_id: int = typer.Argument(..., help="The call's id (aims gateway calls pending)."),
    note: str = typer.Option("", "--note", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Refuse a waiting call; the agent is told it was denied."""
    _decide(call_id, False, note, fmt)


def register(app: typer.Typer) -> None:
    """Attach these commands to the ``aims gateway`` group."""
    app.add_typer(server_app, name="server")
    app.add_typer(pins_app, name="pins")
    app.add_typer(calls_app, name="calls")
    app.command("allow")(allow)
    app.command("revoke")(revoke)
    app.command("allowed")(allowed)

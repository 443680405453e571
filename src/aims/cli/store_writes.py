"""Team mode at the command line: governance writes straight to the store are refused.

In a workspace with ``identity: team`` every governance act goes through the
server, whose actor is the authenticated principal; a command that would write
governance records straight to the store stops with a message saying so. The
one way past is ``--break-glass --reason TEXT``, for someone with store access
in an emergency: every audit event the command writes then carries
``break_glass: true`` and the reason, and the evidence report lists them.

:func:`guard_store_writes` adds the two options to each command of
:data:`GOVERNANCE_WRITES` and checks them before the command runs, so the
commands themselves need not know about the mode.
"""

from __future__ import annotations

import functools
from typing import Any

import typer

from aims.errors import InvalidInput, PermissionDenied

__all__ = ["GOVERNANCE_WRITES", "guard_store_writes"]

GOVERNANCE_WRITES = frozenset(
    {
        "dataset register",
        "model register",
        "model owners",
        "evaluate",
        "risk assess",
        "approve",
        "promote",
        "rollback",
        "keys create",
        "keys revoke",
        "incidents ack",
        "incidents resolve",
        "principals add",
        "principals kind",
        "principals disable",
        "grant",
        "revoke-grant",
        # What people record for an audit: evidence kept outside aims, the statement of
        # applicability (its approvals are four-eyes), audits and their findings.
        "evidence add",
        "evidence review",
        "evidence approve",
        "evidence remove",
        "soa exclude",
        "soa include",
        "soa approve",
        "review add",
        "review finding",
        "review close",
        "elevate",
        "elevation approve",
        "elevation deny",
        "elevation revoke",
        "keys rotate",
        # Labels decide measured performance (gates, triggers): who supplied them must
        # be authenticated. 'audit checkpoint' is not here: it writes nothing to the
        # store, only a signed statement of the chain kept outside it.
        "labels ingest",
        # Imported versions, datasets and promotion requests, and their decisions.
        "import mlflow",
        "promotion-requests decide",
        # The MCP gateway's inventory, allow-lists, pin approvals and four-eyes decisions.
        "gateway server add",
        "gateway server remove",
        "gateway allow",
        "gateway revoke",
        "gateway pins approve",
        "gateway calls approve",
        "gateway calls deny",
    }
)
"""Commands (paths below ``aims``) that write governance records to the store."""

_HELP_BREAK = (
    "Team mode only: write straight to the store anyway, in an emergency "
    "(needs --reason; flagged in the audit log and the evidence report)."
)


def _options() -> dict[str, Any]:
    """Click options ``--break-glass`` and ``--reason``, made by Typer like any other."""
    probe = typer.Typer()

    @probe.command()
    def _probe(
        break_glass: bool = typer.Option(False, "--break-glass", help=_HELP_BREAK),
        reason: str = typer.Option("", "--reason", help="Why (recorded in the audit log)."),
    ) -> None:
        """Never run: only its options are used."""

    command = typer.main.get_command(probe)
    return {p.name: p for p in command.params}


def _walk(command: Any, path: str = "") -> list[tuple[str, Any]]:
    subs = getattr(command, "commands", None)
    if subs is None:
        return [(path, command)]
    out = []
    for name, sub in subs.items():
        out.extend(_walk(sub, f"{path} {name}".strip()))
    return out


def _guarded(path: str, callback: Any, *, owns_reason: bool) -> Any:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from aims.cli._state import open_workspace
        from aims.cli.remote import target
        from aims.services.audit import marked
        from aims.services.team_mode import store_write_refusal

        break_glass = kwargs.pop("break_glass", False)
        reason = (kwargs.get("reason") if owns_reason else kwargs.pop("reason", "")) or ""
        if target() is not None:
            # Remote mode: the act goes through the server, which decides.
            if break_glass:
                raise InvalidInput(
                    "--break-glass writes straight to a workspace's store; in remote mode "
                    "the server decides, so run the command without it"
                )
            return callback(*args, **kwargs)
        ws = open_workspace()
        refusal = store_write_refusal(ws, path)
        if refusal is None:
            if break_glass:
                raise InvalidInput(
                    "--break-glass is for workspaces in team mode; this one runs in local "
                    "mode, so run the command without it"
                )
            return callback(*args, **kwargs)
        if not break_glass:
            raise PermissionDenied(refusal)
        if not reason.strip():
            raise InvalidInput("--break-glass needs --reason TEXT saying why (it is recorded)")
        with marked(break_glass=True, break_glass_reason=reason.strip()):
            return callback(*args, **kwargs)

    return run


def guard_store_writes(root: Any) -> Any:
    """Add ``--break-glass`` (and ``--reason`` where missing) to every governance write
    under ``root`` (the Click command of ``aims``), refusing it in team mode without them."""
    options = _options()
    for path, command in _walk(root):
        if path not in GOVERNANCE_WRITES or command.callback is None:
            continue
        names = {p.name for p in command.params}
        owns_reason = "reason" in names
        command.params.append(options["break_glass"])
        if not owns_reason:
            command.params.append(options["reason"])
        command.callback = _guarded(path, command.callback, owns_reason=owns_reason)
    return root

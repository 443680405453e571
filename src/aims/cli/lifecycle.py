"""``aims promote``, ``aims rollback`` and ``aims history``."""

from __future__ import annotations

from enum import Enum

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import remote, segment, version_path
from aims.workspace import current_actor

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


class PromoteStage(str, Enum):
    """Stages ``aims promote --stage`` accepts; anything else is a usage error (exit 2)."""

    staging = "staging"
    production = "production"


def promote(
    ref: str = typer.Argument(..., help="NAME@VERSION to promote."),
    stage: PromoteStage = typer.Option(
        PromoteStage.production,
        "--stage",
        "-s",
        help="staging or production (canary and shadow: --canary PCT, --shadow).",
    ),
    canary: float | None = typer.Option(
        None, "--canary", help="Serve beside production on PCT percent of traffic."
    ),
    shadow: bool = typer.Option(
        False,
        "--shadow",
        help="Receive a copy of production traffic; outputs logged, never returned.",
    ),
    reason: str = typer.Option("", "--reason", "-r", help="Why (recorded in the audit log)."),
    override: bool = typer.Option(
        False,
        "--override",
        help="Promote despite unmet rules (admin role only; needs --reason; marked in the audit log).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Promote although the version's input contract refuses requests production "
        "accepts (needs --reason; the difference is audited).",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Promote a version through the promotion checks (policy gates, approvals, owners).

    A refusal lists every unmet rule (see 'aims gates NAME@VERSION')."""
    from aims.errors import InvalidInput
    from aims.services.lifecycle import promote as do_promote

    if canary is not None and shadow:
        raise InvalidInput("choose one of --canary PCT and --shadow")
    target = "canary" if canary is not None else "shadow" if shadow else stage.value
    if (r := remote()) is not None:
        body = {
            "stage": stage.value,
            "canary": canary,
            "shadow": shadow,
            "reason": reason,
            "override": override,
            "force": force,
        }
        data = r.call("POST", version_path(ref) + "/promotions", json=body)
        emit(data, fmt, _render_promoted)
        return
    data = do_promote(
        open_workspace(),
        ref,
        target,
        actor=current_actor(),
        reason=reason,
        traffic=canary,
        override_reason=reason if override else None,
        force_reason=reason if force else None,
    )
    emit(data, fmt, _render_promoted)


def _render_promoted(d: dict) -> None:
    console.print(f"{d['name']}@{d['version']} is now in {d['stage']}")


def rollback(
    name: str = typer.Argument(..., help="Model name."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (recorded in the audit log)."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Roll back although the earlier version's input contract refuses requests the "
        "current one accepts (needs --reason; the difference is audited).",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Put the previous production version back into production.

    Refused, showing the difference, when the earlier version's input contract
    would refuse requests the current one accepts; --force --reason overrides."""
    from aims.services.lifecycle import rollback as do_rollback

    if (r := remote()) is not None:
        body = {"reason": reason, "force": force}
        data = r.call("POST", f"/v1/models/{segment(name)}/rollback", json=body)
    else:
        data = do_rollback(
            open_workspace(),
            name,
            actor=current_actor(),
            reason=reason,
            force_reason=reason if force else None,
        )
    emit(
        data,
        fmt,
        lambda d: console.print(f"rolled back: {d['name']}@{d['version']} is in production again"),
    )


def history(name: str = typer.Argument(..., help="Model name."), fmt: Format = FORMAT) -> None:
    """The stage history of a model: who moved which version where, when and why."""
    from aims.services.lifecycle import history as get

    r = remote()
    rows = (
        r.call("GET", f"/v1/models/{segment(name)}/history")
        if r is not None
        else get(open_workspace(), name)
    )
    emit(rows, fmt, lambda r: print_table(r, ["at", "version", "from", "to", "actor", "reason"]))

"""``aims promote``, ``aims rollback`` and ``aims history``."""

from __future__ import annotations

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.workspace import current_actor

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def promote(
    ref: str = typer.Argument(..., help="NAME@VERSION to promote."),
    stage: str = typer.Option("production", "--stage", "-s", help="staging | production."),
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
    fmt: Format = FORMAT,
) -> None:
    """Promote a version through the promotion checks (policy gates, approvals, owners).

    A refusal lists every unmet rule (see 'aims gates NAME@VERSION')."""
    from aims.errors import InvalidInput
    from aims.services.lifecycle import promote as do_promote

    if canary is not None and shadow:
        raise InvalidInput("choose one of --canary PCT and --shadow")
    target = "canary" if canary is not None else "shadow" if shadow else stage
    if target == stage and stage not in ("staging", "production"):
        raise InvalidInput(f"--stage {stage!r}: use staging or production")
    data = do_promote(
        open_workspace(),
        ref,
        target,
        actor=current_actor(),
        reason=reason,
        traffic=canary,
        override_reason=reason if override else None,
    )
    emit(data, fmt, lambda d: console.print(f"{d['name']}@{d['version']} is now in {d['stage']}"))


def rollback(
    name: str = typer.Argument(..., help="Model name."),
    reason: str = typer.Option("", "--reason", "-r", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Put the previous production version back into production."""
    from aims.services.lifecycle import rollback as do_rollback

    data = do_rollback(open_workspace(), name, actor=current_actor(), reason=reason)
    emit(
        data,
        fmt,
        lambda d: console.print(f"rolled back: {d['name']}@{d['version']} is in production again"),
    )


def history(name: str = typer.Argument(..., help="Model name."), fmt: Format = FORMAT) -> None:
    """The stage history of a model: who moved which version where, when and why."""
    from aims.services.lifecycle import history as get

    rows = get(open_workspace(), name)
    emit(rows, fmt, lambda r: print_table(r, ["at", "version", "from", "to", "actor", "reason"]))

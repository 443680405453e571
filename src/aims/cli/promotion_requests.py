"""``aims promotion-requests``: proposed promotions (MLflow aliases, agents), decided by a person."""

from __future__ import annotations

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.errors import InvalidInput
from aims.workspace import current_actor

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")

promotion_requests_app = typer.Typer(
    help="Proposed promotions (MLflow aliases, agents), decided by a person through the gates.",
    no_args_is_help=True,
)


def list_requests(
    status: str | None = typer.Option(
        None, "--status", help="Only requests that are open, approved or refused."
    ),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's."),
    fmt: Format = FORMAT,
) -> None:
    """List promotion requests, oldest first."""
    from aims.services.promotion_requests import list_requests as get

    rows = get(open_workspace(), status=status, model=model)
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "ref": f"{x['model']}@{x['version']}"} for x in r],
            ["id", "ref", "stage", "status", "source", "requested_by", "decided_by"],
        ),
    )


def decide(
    request_id: int = typer.Argument(..., help="The request's id (see 'list')."),
    approve: bool = typer.Option(
        False, "--approve", help="Promote the version through the gates (as 'aims promote')."
    ),
    refuse: bool = typer.Option(False, "--refuse", help="Decline the request."),
    note: str = typer.Option("", "--note", "-n", help="Why (recorded in the audit log)."),
    fmt: Format = FORMAT,
) -> None:
    """Decide a promotion request: --approve runs the promotion through the policy gates (a refusal lists every unmet rule and leaves the request open), --refuse declines it."""
    from aims.services.promotion_requests import decide as run

    if approve == refuse:
        raise InvalidInput("choose one of --approve and --refuse")
    data = run(open_workspace(), request_id, actor=current_actor(), approve=approve, note=note)
    emit(
        data,
        fmt,
        lambda d: console.print(
            f"promotion request {d['id']} {d['status']}: {d['model']}@{d['version']} is in "
            f"{d['version_stage']}"
        ),
    )


promotion_requests_app.command("list")(list_requests)
promotion_requests_app.command("decide")(decide)

"""``aims soa …``: the statement of applicability, which ISO/IEC 42001 Annex A
controls apply, and the approved exclusions of those that do not.

An exclusion is proposed by one person and takes effect once another approves
it (four-eyes); including a control takes effect at once. The evidence report
reads the statement. In remote mode (:mod:`aims.cli.remote`) each command is a
call to the server's ``/v1/soa`` routes, answered with the document the local
command prints.
"""

from __future__ import annotations

from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.cli.evidence import (
    FORMAT,
    ORGANISATION,
    PROJECT,
    project_params,
    project_scope,
    remote_client,
)
from aims.workspace import current_actor

__all__ = ["soa_app"]

soa_app = typer.Typer(
    help="The statement of applicability: which ISO/IEC 42001 Annex A controls apply.",
    no_args_is_help=True,
)


# -- aims soa --------------------------------------------------------------------------------


@soa_app.command("show")
def soa_show(
    project: str | None = PROJECT, organisation: bool = ORGANISATION, fmt: Format = FORMAT
) -> None:
    """Every Annex A control: applicable or excluded (with why and who approved), pending
    exclusions, and how many versions its entry has had."""
    from aims.services.applicability import statement

    where = project_scope(project, organisation)
    if (r := remote_client()) is not None:
        d = r.call("GET", "/v1/soa", params=project_params(where))
    else:
        d = statement(open_workspace(), where)
    emit(d, fmt, _render_statement)


def _render_statement(d: dict[str, Any]) -> None:
    rows = [
        {
            "control": c["control"],
            "title": c["title"],
            "state": c["state"] + (" (exclusion pending)" if c["pending"] else ""),
            "justification": c["justification"] or (c["pending"] or {}).get("justification", ""),
            "approved by": c["approved_by"] or "",
            "versions": len(c["history"]) or "",
        }
        for c in d["controls"]
    ]
    n = d["counts"]
    print_table(
        rows,
        ["control", "title", "state", "justification", "approved by", "versions"],
        title=f"Statement of applicability ({d['project']}): {n['applicable']} applicable, "
        f"{n['excluded']} excluded, {n['pending']} pending",
    )


def _entry_line(d: dict[str, Any]) -> None:
    console.print(
        f"{d['control']} v{d['version']} ({d['project']}): {d['state']}"
        + (f", approved by {d['approved_by']}" if d["approved_by"] else "")
        + (
            f"; a second person approves it with 'aims soa approve {d['control']}'"
            if d["state"] == "pending"
            else ""
        )
    )


@soa_app.command("exclude")
def soa_exclude(
    control: str = typer.Argument(..., help="Annex A control, e.g. A.10.4."),
    justification: str = typer.Option(
        ..., "--justification", "-j", help="Why the control does not apply."
    ),
    project: str | None = PROJECT,
    organisation: bool = ORGANISATION,
    fmt: Format = FORMAT,
) -> None:
    """Propose excluding a control; it is excluded once another person approves."""
    from aims.cli.remote import segment
    from aims.services.applicability import exclude

    if (r := remote_client()) is not None:
        path = f"/v1/soa/{segment(control.strip())}/exclude"
        body = {"justification": justification}
        d = r.call(
            "POST", path, params=project_params(project_scope(project, organisation)), json=body
        )
        emit(d, fmt, _entry_line)
        return
    d = exclude(
        open_workspace(),
        control,
        justification=justification,
        actor=current_actor(),
        project=project_scope(project, organisation),
    )
    emit(d, fmt, _entry_line)


@soa_app.command("include")
def soa_include(
    control: str = typer.Argument(..., help="Annex A control, e.g. A.2.2."),
    evidence_approval: bool = typer.Option(
        False,
        "--evidence-approval",
        help="Documents kept outside aims for this control count only once a second "
        "person approves them (aims evidence approve).",
    ),
    note: str = typer.Option("", "--note", help="Why, or how it is met."),
    project: str | None = PROJECT,
    organisation: bool = ORGANISATION,
    fmt: Format = FORMAT,
) -> None:
    """Record that a control applies (ends an exclusion)."""
    from aims.cli.remote import segment
    from aims.services.applicability import include

    if (r := remote_client()) is not None:
        path = f"/v1/soa/{segment(control.strip())}/include"
        body = {"evidence_approval": evidence_approval, "note": note}
        d = r.call(
            "POST", path, params=project_params(project_scope(project, organisation)), json=body
        )
        emit(d, fmt, _entry_line)
        return
    d = include(
        open_workspace(),
        control,
        actor=current_actor(),
        project=project_scope(project, organisation),
        evidence_approval=evidence_approval,
        note=note,
    )
    emit(d, fmt, _entry_line)


@soa_app.command("approve")
def soa_approve(
    control: str = typer.Argument(..., help="Annex A control whose exclusion is pending."),
    project: str | None = PROJECT,
    organisation: bool = ORGANISATION,
    fmt: Format = FORMAT,
) -> None:
    """Approve a pending exclusion (four-eyes: not by the person who proposed it)."""
    from aims.cli.remote import segment
    from aims.services.applicability import approve

    if (r := remote_client()) is not None:
        path = f"/v1/soa/{segment(control.strip())}/approve"
        d = r.call("POST", path, params=project_params(project_scope(project, organisation)))
        emit(d, fmt, _entry_line)
        return
    d = approve(
        open_workspace(),
        control,
        actor=current_actor(),
        project=project_scope(project, organisation),
    )
    emit(d, fmt, _entry_line)

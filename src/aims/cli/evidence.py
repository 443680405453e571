"""``aims evidence …`` and ``aims review …``: what people record for an audit.

Evidence kept outside aims (documents and links with an owner and a review
date), and internal audits and management reviews with their findings and
corrective actions. The evidence report reads both, and the statement of
applicability (``aims soa …``, :mod:`aims.cli.applicability`).

In remote mode (:mod:`aims.cli.remote`) each command is a call to the
server's governance API, answered with the document the local command
prints; a document is uploaded with its SHA-256, and a link is hashed here,
where it can be read, and sent with its hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.workspace import current_actor

evidence_app = typer.Typer(
    help="Evidence kept outside aims: documents and links that evidence a control.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="Internal audits and management reviews, their findings and corrective actions.",
    no_args_is_help=True,
)
FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")
PROJECT = typer.Option(
    None, "--project", "-p", help="The project (default: the workspace's project)."
)
ORGANISATION = typer.Option(
    False, "--organisation", "--org", help="For the whole organisation, not one project."
)


def project_scope(project: str | None, organisation: bool) -> str | None:
    """The project an act names: ``*`` (the organisation) with ``--organisation``."""
    return "*" if organisation else project


def remote_client():  # -> aims.cli.remote.Remote | None
    """The server's client in remote mode, else None (see :mod:`aims.cli.remote`)."""
    from aims.cli.remote import remote

    return remote()


def project_params(project: str | None) -> dict[str, str | None]:
    """The query parameters that name the project of a remote call."""
    return {"project": project}


# -- aims evidence ---------------------------------------------------------------------------


@evidence_app.command("add")
def evidence_add(
    controls: list[str] = typer.Argument(
        ..., help="Control(s) the document evidences, e.g. A.2.2 (any catalogue's ids)."
    ),
    file: Path | None = typer.Option(
        None, "--file", help="The document; stored in the artifact store."
    ),
    url: str | None = typer.Option(
        None, "--url", help="A link to the document; its content is hashed now."
    ),
    sha256: str | None = typer.Option(
        None, "--sha256", help="With --url: the document's hash, when aims cannot fetch it."
    ),
    owner: str = typer.Option(..., "--owner", help="E-mail of who keeps the document current."),
    review_every: str = typer.Option(
        "12m", "--review-every", help="Review interval: 90d, 6w, 12m or 1y."
    ),
    note: str = typer.Option("", "--note", help="What the document is."),
    project: str | None = PROJECT,
    organisation: bool = ORGANISATION,
    fmt: Format = FORMAT,
) -> None:
    """Record a document or link as evidence of one or more controls."""
    from aims.services.external_evidence import add

    if (r := remote_client()) is not None:
        rows = _add_remotely(
            r, controls, file, url, sha256, owner, review_every, note,
            project_scope(project, organisation),
        )  # fmt: skip
        emit(rows, fmt, _render_added)
        return
    rows = add(
        open_workspace(),
        controls,
        actor=current_actor(),
        owner=owner,
        review_every=review_every,
        file=file,
        url=url,
        sha256=sha256,
        note=note,
        project=project_scope(project, organisation),
    )
    emit(rows, fmt, _render_added)


def _add_remotely(
    r: Any,
    controls: list[str],
    file: Path | None,
    url: str | None,
    sha256: str | None,
    owner: str,
    review_every: str,
    note: str,
    project: str | None,
) -> list[dict[str, Any]]:
    """``aims evidence add`` through the server: the file uploaded with its SHA-256, or the
    link with the hash of what it serves from here."""
    from aims.cli.remote import file_sha256
    from aims.errors import InvalidInput, NotFound
    from aims.services.external_evidence import hash_url

    if (file is None) == (url is None):
        raise InvalidInput("give exactly one of --file DOC or --url URL")
    if file is not None:
        if not Path(file).is_file():
            raise NotFound(f"--file {file} does not exist or is not a file")
        form = {"control": controls, "owner": owner, "review_every": review_every, "note": note}
        return r.call(
            "POST",
            "/v1/evidence/files",
            params=project_params(project),
            files={"file": Path(file)},
            data={**form, "sha256": file_sha256(Path(file))},
        )
    url = str(url)  # given: exactly one of the two was, and it was not the file
    size = None
    if sha256 is None:
        sha256, size = hash_url(url)
    body = {
        "controls": controls,
        "url": url,
        "sha256": sha256,
        "size": size,
        "owner": owner,
        "review_every": review_every,
        "note": note,
    }
    return r.call("POST", "/v1/evidence/links", params=project_params(project), json=body)


def _render_added(rows: list[dict[str, Any]]) -> None:
    for p in rows:
        console.print(
            f"evidence #{p['id']} for {p['control']}: {p['name']} (sha256 {p['sha256'][:12]}…), "
            f"owner {p['owner']}, next review {p['next_review']}"
        )


@evidence_app.command("list")
def evidence_list(
    control: str | None = typer.Option(None, "--control", "-c", help="Only this control."),
    removed: bool = typer.Option(False, "--removed", help="Include removed evidence."),
    project: str | None = PROJECT,
    fmt: Format = FORMAT,
) -> None:
    """Evidence kept outside aims; overdue reviews are marked (exit 1 if any)."""
    from aims.services.external_evidence import list_evidence

    if (r := remote_client()) is not None:
        query = {"project": project, "control": control, "removed": removed}
        rows = r.call("GET", "/v1/evidence", params=query)
    else:
        rows = list_evidence(open_workspace(), project, control=control, removed=removed)
    emit(rows, fmt, _render_list)
    if any(r["overdue"] and not r["removed_at"] for r in rows):
        raise typer.Exit(1)


def _render_list(rows: list[dict[str, Any]]) -> None:
    print_table(
        [
            {
                **r,
                "sha256": r["sha256"][:12],
                "next review": r["next_review"] + (" OVERDUE" if r["overdue"] else ""),
                "approved": r["approved_by"] or "",
                "removed": r["removed_at"] or "",
            }
            for r in rows
        ],
        ["id", "control", "name", "sha256", "owner", "next review", "approved", "removed"],
        title="Evidence kept outside aims",
    )


def _one(d: dict[str, Any], what: str) -> None:
    console.print(f"evidence #{d['id']} ({d['control']}, {d['name']}) {what}")


@evidence_app.command("review")
def evidence_review(
    evidence_id: int = typer.Argument(..., help="Evidence number (aims evidence list)."),
    note: str = typer.Option("", "--note", help="What the review found."),
    fmt: Format = FORMAT,
) -> None:
    """Record that a document was reviewed today; its next review moves one interval on."""
    from aims.services.external_evidence import review

    if (r := remote_client()) is not None:
        d = r.call("POST", f"/v1/evidence/{evidence_id}/review", json={"note": note})
    else:
        d = review(open_workspace(), evidence_id, actor=current_actor(), note=note)
    emit(d, fmt, lambda d: _one(d, f"reviewed; next review {d['next_review']}"))


@evidence_app.command("approve")
def evidence_approve(
    evidence_id: int = typer.Argument(..., help="Evidence number (aims evidence list)."),
    fmt: Format = FORMAT,
) -> None:
    """Approve a piece of evidence (four-eyes: not by the person who added it)."""
    from aims.services.external_evidence import approve

    if (r := remote_client()) is not None:
        d = r.call("POST", f"/v1/evidence/{evidence_id}/approve")
    else:
        d = approve(open_workspace(), evidence_id, actor=current_actor())
    emit(d, fmt, lambda d: _one(d, f"approved by {d['approved_by']}"))


@evidence_app.command("remove")
def evidence_remove(
    evidence_id: int = typer.Argument(..., help="Evidence number (aims evidence list)."),
    reason: str = typer.Option(..., "--reason", help="Why the evidence is withdrawn."),
    fmt: Format = FORMAT,
) -> None:
    """Withdraw a piece of evidence (it is kept, marked removed, and stops counting)."""
    from aims.services.external_evidence import remove

    if (r := remote_client()) is not None:
        d = r.call("POST", f"/v1/evidence/{evidence_id}/remove", json={"reason": reason})
    else:
        d = remove(open_workspace(), evidence_id, actor=current_actor(), reason=reason)
    emit(d, fmt, lambda d: _one(d, "removed"))


# -- aims review -----------------------------------------------------------------------------


@review_app.command("add")
def review_add(
    kind: str = typer.Option(..., "--kind", help="internal-audit | management-review."),
    title: str = typer.Option(..., "--title", help="What was audited or reviewed."),
    held_on: str = typer.Option(..., "--held-on", help="Date held, YYYY-MM-DD."),
    summary: str = typer.Option("", "--summary", help="Conclusions in a sentence or two."),
    project: str | None = PROJECT,
    organisation: bool = ORGANISATION,
    fmt: Format = FORMAT,
) -> None:
    """Record an internal audit (clause 9.2) or a management review (clause 9.3)."""
    from aims.services.management_review import record_review

    if (r := remote_client()) is not None:
        body = {"kind": kind, "title": title, "held_on": held_on, "summary": summary}
        d = r.call(
            "POST",
            "/v1/reviews",
            params=project_params(project_scope(project, organisation)),
            json=body,
        )
        emit(
            d,
            fmt,
            lambda d: console.print(f"{d['kind']} #{d['id']}: {d['title']} ({d['held_on']})"),
        )
        return
    d = record_review(
        open_workspace(),
        kind=kind,
        title=title,
        held_on=held_on,
        summary=summary,
        actor=current_actor(),
        project=project_scope(project, organisation),
    )
    emit(d, fmt, lambda d: console.print(f"{d['kind']} #{d['id']}: {d['title']} ({d['held_on']})"))


@review_app.command("finding")
def review_finding(
    review_id: int = typer.Argument(..., help="Audit or review number (aims review list)."),
    kind: str = typer.Option(
        "nonconformity", "--kind", help="nonconformity | observation | improvement."
    ),
    summary: str = typer.Option(..., "--summary", help="What was found."),
    owner: str = typer.Option(..., "--owner", help="Who acts on it (e-mail)."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
    control: str | None = typer.Option(None, "--control", help="The control it is about."),
    action: str = typer.Option("", "--action", help="The corrective action decided."),
    incident: int | None = typer.Option(None, "--incident", help="Linked incident number."),
    fmt: Format = FORMAT,
) -> None:
    """Add a finding, with owner, due date and corrective action (clause 10.2)."""
    from aims.services.management_review import add_finding

    if (r := remote_client()) is not None:
        body = {
            "kind": kind,
            "summary": summary,
            "owner": owner,
            "due": due,
            "control": control,
            "corrective_action": action,
            "incident": incident,
        }
        d = r.call("POST", f"/v1/reviews/{review_id}/findings", json=body)
        emit(d, fmt, lambda d: console.print(f"finding #{d['id']} ({d['kind']}), due {d['due']}"))
        return
    d = add_finding(
        open_workspace(),
        review_id,
        kind=kind,
        summary=summary,
        owner=owner,
        due=due,
        control=control,
        corrective_action=action,
        incident=incident,
        actor=current_actor(),
    )
    emit(d, fmt, lambda d: console.print(f"finding #{d['id']} ({d['kind']}), due {d['due']}"))


@review_app.command("close")
def review_close(
    finding_id: int = typer.Argument(..., help="Finding number (aims review list)."),
    note: str = typer.Option(..., "--note", help="What was done to close it."),
    fmt: Format = FORMAT,
) -> None:
    """Close a finding once its corrective action is done."""
    from aims.services.management_review import close_finding

    if (r := remote_client()) is not None:
        d = r.call("POST", f"/v1/findings/{finding_id}/close", json={"note": note})
    else:
        d = close_finding(open_workspace(), finding_id, actor=current_actor(), closure=note)
    emit(d, fmt, lambda d: console.print(f"finding #{d['id']} closed by {d['closed_by']}"))


@review_app.command("list")
def review_list(project: str | None = PROJECT, fmt: Format = FORMAT) -> None:
    """Audits and reviews with their findings; open overdue findings are marked (exit 1 if any)."""
    from aims.services.management_review import list_reviews

    if (r := remote_client()) is not None:
        rows = r.call("GET", "/v1/reviews", params=project_params(project))
    else:
        rows = list_reviews(open_workspace(), project)
    emit(rows, fmt, _render_reviews)
    if any(f["overdue"] for r in rows for f in r["findings"]):
        raise typer.Exit(1)


def _render_reviews(rows: list[dict[str, Any]]) -> None:
    print_table(
        [
            {
                "finding": f"#{f['id']}",
                "from": f"{r['kind']} #{r['id']} ({r['held_on']})",
                "kind": f["kind"],
                "control": f["control"] or "",
                "summary": f["summary"],
                "owner": f["owner"],
                "due": f["due"] + (" OVERDUE" if f["overdue"] else ""),
                "status": f["status"],
            }
            for r in rows
            for f in r["findings"]
        ],
        ["finding", "from", "kind", "control", "summary", "owner", "due", "status"],
        title=f"{len(rows)} audit(s) and review(s)",
    )

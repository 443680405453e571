"""The statement of applicability (ISO/IEC 42001 clause 6.1.3): which Annex A controls apply.

Every Annex A control applies unless the statement excludes it. A statement
is kept per project, or for the whole organisation (project ``*``); a
project's own entry wins over the organisation's. Each change is a new
version of the control's entry and an audit event:

* :func:`include` records that a control applies, in force at once. It can
  ask that documents kept outside aims for the control be approved by a
  second person before they count (``evidence_approval``).
* :func:`exclude` proposes an exclusion, which needs a justification and is
  *pending* until :func:`approve` is run by someone else (four-eyes; agents
  never approve). Until then the earlier entry stays in force.

:func:`in_force` gives the entries the report reads; :func:`statement` the
whole statement, with pending proposals and history, for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aims.core.standards import ISO42001
from aims.errors import InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.storage.schema import Applicability
from aims.workspace import Workspace

__all__ = [
    "ORGANISATION",
    "Entry",
    "approve",
    "check_control",
    "exclude",
    "in_force",
    "include",
    "statement",
]

ORGANISATION = "*"
"""The project name of organisation-wide entries."""

MIN_JUSTIFICATION = 15
"""Characters: a justification an auditor can read, not ``n/a``."""


@dataclass(frozen=True)
class Entry:
    """One version of a control's entry, as the report and the CLI show it."""

    control: str
    project: str
    version: int
    applicable: bool
    justification: str
    evidence_approval: bool
    proposed_by: str
    proposed_at: dt.datetime
    approved_by: str | None
    approved_at: dt.datetime | None
    audit_seq: int | None

    @property
    def state(self) -> str:
        """``applicable``, ``excluded`` (approved) or ``pending`` (an exclusion awaiting approval)."""
        if self.applicable:
            return "applicable"
        return "excluded" if self.approved_by else "pending"

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control,
            "project": self.project,
            "version": self.version,
            "state": self.state,
            "applicable": self.applicable,
            "justification": self.justification,
            "evidence_approval": self.evidence_approval,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(timespec="seconds"),
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat(timespec="seconds")
            if self.approved_at
            else None,
            "audit_seq": self.audit_seq,
        }


def _entry(row: Applicability, approved: bool = True) -> Entry:
    return Entry(
        row.control_id,
        row.project,
        row.version,
        bool(row.applicable),
        row.justification,
        bool(row.evidence_approval),
        row.proposed_by,
        row.proposed_at,
        row.approved_by if approved else None,
        row.approved_at if approved else None,
        row.audit_seq,
    )


def check_control(control: str) -> str:
    """``control`` as an Annex A identifier, or :class:`InvalidInput` naming the known ones."""
    text = control.strip()
    if text not in ISO42001.ids:
        raise InvalidInput(
            f"{control!r} is not an ISO/IEC 42001 Annex A control; the statement of "
            f"applicability covers {', '.join(ISO42001.ids)}"
        )
    return text


def _project(ws: Workspace, project: str | None) -> str:
    name = (project or ws.settings.project).strip()
    if not name:
        raise InvalidInput("give a project name, or --organisation for every project")
    return name


def _subject(project: str, control: str) -> str:
    return f"soa:{project}:{control}"


def _add(
    ws: Workspace,
    control: str,
    project: str | None,
    *,
    applicable: bool,
    justification: str,
    evidence_approval: bool,
    actor: str,
) -> dict[str, Any]:
    control = check_control(control)
    proj = _project(ws, project)
    with ws.db.session() as s:
        newest = s.scalar(
            select(func.max(Applicability.version)).where(
                Applicability.project == proj, Applicability.control_id == control
            )
        )
        row = Applicability(
            project=proj,
            control_id=control,
            version=(newest or 0) + 1,
            applicable=applicable,
            justification=justification,
            evidence_approval=evidence_approval,
            proposed_by=actor,
            proposed_at=audit.now_utc(),
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="soa.include" if applicable else "soa.exclude",
            subject=_subject(proj, control),
            payload={
                "version": row.version,
                "justification": justification,
                "evidence_approval": evidence_approval,
            },
            anchors=(row,),
        )
        return _entry(row).to_dict()


def include(
    ws: Workspace,
    control: str,
    *,
    actor: str,
    project: str | None = None,
    evidence_approval: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """Record that ``control`` applies (in force at once); returns the new entry.

    ``evidence_approval`` makes documents kept outside aims for this control
    count only once a second person approves them.
    """
    return _add(
        ws,
        control,
        project,
        applicable=True,
        justification=note.strip(),
        evidence_approval=evidence_approval,
        actor=actor,
    )


def exclude(
    ws: Workspace, control: str, *, justification: str, actor: str, project: str | None = None
) -> dict[str, Any]:
    """Propose excluding ``control``; it stays applicable until another person approves."""
    text = " ".join(justification.split())
    if len(text) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"an exclusion needs a justification an auditor can read (at least "
            f"{MIN_JUSTIFICATION} characters), got {justification!r}; say why the control "
            "does not apply, e.g. --justification 'no AI system is supplied to customers'"
        )
    return _add(
        ws,
        control,
        project,
        applicable=False,
        justification=text,
        evidence_approval=False,
        actor=actor,
    )


def approve(
    ws: Workspace, control: str, *, actor: str, project: str | None = None
) -> dict[str, Any]:
    """Approve the pending exclusion of ``control``; never by its proposer, never by an agent."""
    from aims.services import identity

    control = check_control(control)
    proj = _project(ws, project)
    with ws.db.session() as s:
        row = _newest(s, proj, control)
        if row is None or row.applicable or row.approved_by is not None:
            raise NotFound(
                f"no exclusion of {control} awaits approval in {_where(proj)}; propose one with "
                f"'aims soa exclude {control} --justification TEXT'"
            )
        person = identity.approver(s, ws, actor, proj if proj != ORGANISATION else "*")
        proposer = identity.person_name(s, row.proposed_by)
        if person.kind == "agent":
            raise PermissionDenied(
                f"{person.name} is an agent, and agents never approve; a person must run "
                f"'aims soa approve {control}'"
            )
        if person.name == proposer:
            raise PermissionDenied(
                f"{person.name} proposed excluding {control} and may not approve it "
                "(four-eyes rule); ask another person to run "
                f"'aims soa approve {control}'"
            )
        row.approved_by = person.name
        row.approved_at = audit.now_utc()
        audit.record(
            s,
            actor=person.name,
            action="soa.approve",
            subject=_subject(proj, control),
            payload={"version": row.version, "justification": row.justification},
        )
        return _entry(row).to_dict()


def _where(project: str) -> str:
    return "the organisation's statement" if project == ORGANISATION else f"project {project}"


def _newest(s: Session, project: str, control: str) -> Applicability | None:
    return s.scalar(
        select(Applicability)
        .where(Applicability.project == project, Applicability.control_id == control)
        .order_by(Applicability.version.desc())
        .limit(1)
    )


def _rows(s: Session, project: str) -> list[Entry]:
    """The entries of ``project`` and the organisation that the audit log vouches for; an
    approval counts only when its event does too (see :mod:`aims.services.evidence_anchors`)."""
    from aims.services.evidence_anchors import Voucher

    voucher = Voucher(s)
    out = []
    for row in s.scalars(
        select(Applicability)
        .where(Applicability.project.in_((project, ORGANISATION)))
        .order_by(Applicability.control_id, Applicability.version)
    ).all():
        subject = _subject(row.project, row.control_id)
        if voucher.entry(row, subject):
            out.append(_entry(row, approved=voucher.entry_approval(row, subject)))
    return out


def in_force(ws: Workspace, project: str | None = None) -> dict[str, Entry]:
    """The entry in force for each control that has one: the project's newest entry in force,
    else the organisation's. A pending exclusion is never in force."""
    proj = _project(ws, project)
    with ws.db.session() as s:
        rows = _rows(s, proj)
    out: dict[str, Entry] = {}
    for scope in (ORGANISATION, proj):
        for entry in rows:
            if entry.project == scope and entry.state != "pending":
                out[entry.control] = entry  # later versions replace earlier ones
    return out


def statement(ws: Workspace, project: str | None = None) -> dict[str, Any]:
    """The statement for ``project``: every Annex A control with its entry in force, pending
    proposals and the history of its entries."""
    proj = _project(ws, project)
    force = in_force(ws, proj)
    with ws.db.session() as s:
        rows = _rows(s, proj)
    controls = []
    for c in ISO42001.controls:
        mine = [e for e in rows if e.control == c.id]
        entry = force.get(c.id)
        newest = mine[-1] if mine else None
        controls.append(
            {
                "control": c.id,
                "title": c.title,
                "state": entry.state if entry else "applicable",
                "justification": entry.justification if entry else "",
                "approved_by": entry.approved_by if entry else None,
                "version": entry.version if entry else 0,
                "set_for": (entry.project if entry else None),
                "evidence_approval": bool(entry and entry.evidence_approval),
                "pending": newest.to_dict() if newest and newest.state == "pending" else None,
                "history": [e.to_dict() for e in mine],
            }
        )
    counts = {
        k: sum(c["state"] == k for c in controls) for k in ("applicable", "excluded", "pending")
    }
    counts["pending"] = sum(c["pending"] is not None for c in controls)
    if project == ORGANISATION:
        proj = ORGANISATION
    return {"project": proj, "controls": controls, "counts": counts}

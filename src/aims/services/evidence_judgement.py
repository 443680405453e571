"""The report's last word on each control: the store's checks, then what people recorded.

The checks of :mod:`aims.core.standards` judge what the store holds. Three
records made by people then finish the judgement:

* the **statement of applicability** (:mod:`aims.services.applicability`): an
  Annex A control it excludes, with an approved justification, is shown
  *excluded* with that justification, and nothing else is;
* **evidence kept outside aims** (:mod:`aims.services.external_evidence`):
  a control aims cannot check itself is *evidence kept outside aims* when its
  documents are current, *partial* when one is past its review date (or
  awaits a required approval) and *missing* when there are none. A control
  that aims checks gets the documents as one more rule;
* **open nonconformities** of internal audits and management reviews
  (:mod:`aims.services.management_review`) make the control they name partial.

A control is therefore never "not applicable" merely because aims keeps no
evidence for it. Evidence recorded against an Annex A control counts for its
NIST AI RMF and EU AI Act counterparts too (:mod:`aims.core.standards.crosswalk`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aims.core.standards.crosswalk import related, sources
from aims.core.standards.report import ComplianceReport, ControlResult
from aims.core.standards.result import Evidence, Level, Outcome, combine, fold
from aims.services.applicability import Entry
from aims.services.external_evidence import Piece
from aims.workspace import Workspace

__all__ = ["JudgedReport", "finish", "judge"]


@dataclass(frozen=True)
class JudgedReport(ComplianceReport):
    """A :class:`ComplianceReport` finished with the statement of applicability, the evidence
    kept outside aims and the open nonconformities it was judged with."""

    pieces: tuple[Piece, ...] = ()
    nonconformities: tuple[Mapping[str, Any], ...] = ()
    statement: tuple[Entry, ...] = field(default=())
    """The entries in force that exclude a control."""
    trace_content: Mapping[str, Any] = field(default_factory=dict)
    """What LLM trace message content is stored, per project (:func:`aims.services.trace_settings.content_evidence`)."""
    screening: Mapping[str, Any] = field(default_factory=dict)
    """How well tool-call screening does on its labelled corpus (:func:`aims.services.screening_eval.screening_evidence`)."""

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        today = self.facts.today
        for c in d["controls"]:
            c["crosswalk"] = list(related(c["id"]))
        d["external_evidence"] = [p.to_dict(today) for p in self.pieces]
        d["nonconformities"] = [dict(n) for n in self.nonconformities]
        d["trace_content"] = dict(self.trace_content)
        d["screening"] = dict(self.screening)
        d["gateway"] = self.facts.gateway.to_dict(self.facts.now)
        d["statement_of_applicability"] = {
            "excluded": [e.to_dict() for e in self.statement if e.state == "excluded"],
        }
        return d


def _piece_text(p: Piece, today: dt.date) -> str:
    where = "file" if p.kind == "file" else "link"
    text = (
        f"{p.control}: {p.name} ({where}, sha256 {p.sha256[:12]}…), owner {p.owner}, "
        f"reviewed {p.reviewed_on}, next review {p.next_review}"
    )
    if p.overdue(today):
        text += " (OVERDUE)"
    if p.note:
        text += f"; {p.note}"
    return text


def _external_outcome(pieces: Sequence[Piece], needs_approval: set[str], today: dt.date) -> Outcome:
    levels, evidence, gaps = [], [], []
    for p in pieces:
        level = Level.FULL
        if p.overdue(today):
            level = Level.SOME
            gaps.append(
                f"review evidence #{p.id} ({p.name}, owner {p.owner}; due {p.next_review}) and "
                f"record it with 'aims evidence review {p.id}'"
            )
        if p.control in needs_approval and not p.approved_by:
            level = Level.SOME
            gaps.append(
                f"evidence #{p.id} ({p.name}) needs a second person's approval: "
                f"'aims evidence approve {p.id}' by someone other than {p.added_by}"
            )
        levels.append(level)
        evidence.append(
            Evidence(
                _piece_text(p, today),
                event=p.audit_seq,
                command=f"aims evidence list --control {p.control}",
            )
        )
    status = fold(levels)
    n_ok = sum(level is Level.FULL for level in levels)
    return Outcome(
        rule="external_evidence",
        label="Evidence kept outside aims, current and reviewed",
        status=status,
        detail=f"{n_ok} of {len(levels)} document(s) current",
        evidence=tuple(evidence),
        gaps=tuple(gaps),
    )


def _nonconformity_outcome(found: Sequence[Mapping[str, Any]]) -> Outcome:
    evidence = tuple(
        Evidence(
            f"finding #{f['id']} of {f['review_title']} ({f['held_on']}): {f['summary']}; owner "
            f"{f['owner']}, due {f['due']}{' (OVERDUE)' if f['overdue'] else ''}"
            + (f"; corrective action: {f['corrective_action']}" if f["corrective_action"] else "")
            + (f"; incident #{f['incident']}" if f["incident"] else ""),
            event=f["audit_seq"],
            command="aims review list",
        )
        for f in found
    )
    return Outcome(
        rule="nonconformities",
        label="No open nonconformity from internal audits or management reviews",
        status="partial",
        detail=f"{len(found)} open nonconformit{'y' if len(found) == 1 else 'ies'}",
        evidence=evidence,
        gaps=tuple(
            f"carry out the corrective action of finding #{f['id']} and close it with "
            f"'aims review close {f['id']} --note TEXT'"
            for f in found
        ),
    )


def _missing_outside(result: ControlResult, iso: bool) -> ControlResult:
    c = result.control
    gaps = [
        f"{c.outside} Then record the document with 'aims evidence add {c.id} --file DOC "
        "--owner EMAIL --review-every 12m'".strip()
    ]
    if iso:
        gaps.append(
            f"or, if {c.id} does not apply, exclude it in the statement of applicability: "
            f"'aims soa exclude {c.id} --justification TEXT', approved by a second person "
            f"with 'aims soa approve {c.id}'"
        )
    outcome = Outcome(
        rule="external_evidence",
        label="Evidence kept outside aims, current and reviewed",
        status="missing",
        detail="no document recorded",
        gaps=tuple(gaps),
    )
    return ControlResult(c, "missing", (outcome,), "")


def _judge_one(
    result: ControlResult,
    *,
    iso: bool,
    excluded: Mapping[str, Entry],
    pending: set[str],
    pieces: Sequence[Piece],
    needs_approval: set[str],
    open_ncs: Sequence[Mapping[str, Any]],
    today: dt.date,
) -> ControlResult:
    c = result.control
    if iso and c.id in excluded:
        e = excluded[c.id]
        where = "the organisation" if e.project == "*" else f"project {e.project}"
        why = (
            f"{e.justification} (statement of applicability for {where}, v{e.version}; "
            f"proposed by {e.proposed_by}, approved by {e.approved_by})"
        )
        return ControlResult(c, "excluded", (), why)
    counted = set(sources(c.id))
    mine = [p for p in pieces if p.control in counted]
    ncs = [f for f in open_ncs if f.get("control") in counted]
    if not c.rules:
        if not mine:
            judged = _missing_outside(result, iso)
        else:
            ext = _external_outcome(mine, needs_approval, today)
            judged = ControlResult(c, "outside" if ext.status == "met" else "partial", (ext,), "")
    elif result.status == "not_applicable" and result.reason and not result.outcomes:
        return result  # the control is about models that are not in scope (e.g. high-risk only)
    elif result.status == "not_applicable" and mine:
        # Nothing in the store to judge (no MCP server behind the gateway, say): the
        # documents alone evidence the control, as for a control aims cannot check.
        ext = _external_outcome(mine, needs_approval, today)
        judged = ControlResult(
            c, "outside" if ext.status == "met" else "partial", (*result.outcomes, ext), ""
        )
    else:
        extra = (_external_outcome(mine, needs_approval, today),) if mine else ()
        outcomes = result.outcomes + extra
        status = combine(o.status for o in outcomes)
        judged = ControlResult(
            c, status, outcomes, result.reason if status == "not_applicable" else ""
        )
        if iso and status == "not_applicable" and c.outside:
            # Nothing in the store to judge (no incident yet, say): what the control asks
            # outside aims still has to be shown, or excluded in the statement.
            missing = _missing_outside(result, iso)
            judged = ControlResult(c, "missing", result.outcomes + missing.outcomes, "")
    if ncs:
        outcomes = (*judged.outcomes, _nonconformity_outcome(ncs))
        worse = judged.status in ("met", "outside", "not_applicable")
        judged = ControlResult(c, "partial" if worse else judged.status, outcomes, "")
    if iso and c.id in pending and judged.status != "excluded":
        note = Outcome(
            rule="applicability",
            label="Statement of applicability",
            status="not_applicable",
            detail=f"an exclusion of {c.id} awaits a second person's approval",
            gaps=(f"approve or withdraw it: 'aims soa approve {c.id}'",),
        )
        judged = ControlResult(c, judged.status, (*judged.outcomes, note), judged.reason)
    return judged


def judge(
    report: ComplianceReport,
    *,
    statement: Mapping[str, Entry],
    pending: set[str],
    pieces: Sequence[Piece],
    nonconformities: Sequence[Mapping[str, Any]],
) -> JudgedReport:
    """Finish ``report`` with the statement in force, the pending exclusions, the pieces of
    evidence kept outside aims and the open nonconformities (pure: no store access)."""
    today = report.facts.today
    iso = report.standard.key == "iso42001"
    excluded = {k: e for k, e in statement.items() if e.state == "excluded"}
    needs_approval = {k for k, e in statement.items() if e.applicable and e.evidence_approval}
    open_ncs = [n for n in nonconformities if n.get("kind") == "nonconformity"]
    controls = tuple(
        _judge_one(
            r,
            iso=iso,
            excluded=excluded,
            pending=pending,
            pieces=pieces,
            needs_approval=needs_approval,
            open_ncs=open_ncs,
            today=today,
        )
        for r in report.controls
    )
    return JudgedReport(
        report.standard,
        report.facts,
        controls,
        pieces=tuple(pieces),
        nonconformities=tuple(open_ncs),
        statement=tuple(excluded.values()),
    )


def finish(ws: Workspace, report: ComplianceReport, project: str | None) -> JudgedReport:
    """``report`` finished with what the store holds for ``project`` (default: the
    workspace's): the statement in force, pending exclusions, evidence kept outside aims
    and open nonconformities."""
    from dataclasses import replace

    from aims.services import applicability, external_evidence, management_review
    from aims.services.screening_eval import screening_evidence
    from aims.services.trace_settings import content_evidence

    proj = project or ws.settings.project
    statement = applicability.statement(ws, proj)
    judged = judge(
        report,
        statement=applicability.in_force(ws, proj),
        pending={c["control"] for c in statement["controls"] if c["pending"]},
        pieces=external_evidence.pieces(ws, proj),
        nonconformities=management_review.findings(ws, proj, today=report.facts.today),
    )
    return replace(judged, trace_content=content_evidence(ws, proj), screening=screening_evidence())

"""Evidence kept outside aims: documents and links that evidence a control, with an owner
and a review date.

An AI policy, training records, a procedure for raising concerns, supplier
agreements: only people can evidence these controls, so aims tracks the
documents. A file is stored in the content-addressed artifact store (its
sha256 is its address); a link keeps the sha256 of what it served when it was
added. Each piece has an owner and a review interval; a piece past its review
date turns its control *partial* until someone reviews it
(:func:`review`). Where the statement of applicability asks for it, a piece
counts only once a second person approves it (:func:`approve`).

Every change is an audit event; removal is a mark, never a delete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aims.core.standards import STANDARDS
from aims.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from aims.services import audit
from aims.storage.schema import ExternalEvidence
from aims.workspace import Workspace

__all__ = [
    "Piece",
    "add",
    "approve",
    "check_control",
    "hash_url",
    "list_evidence",
    "parse_interval",
    "pieces",
    "remove",
    "review",
]

_INTERVAL = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_LIMIT = 64 << 20
"""Bytes read from a link to hash it (a larger document is refused: store it with --file)."""


def parse_interval(text: str) -> int:
    """A review interval (``90d``, ``6w``, ``12m``, ``1y``) in days; a month counts 30 days.

    Examples
    --------
    >>> parse_interval("12m"), parse_interval("1y"), parse_interval("90d")
    (360, 365, 90)
    """
    m = _INTERVAL.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise InvalidInput(
            f"review interval {text!r} is not a number of days, weeks, months or years; "
            "write e.g. 90d, 6w, 12m or 1y"
        )
    return int(m.group(1)) * _DAYS[m.group(2).lower()]


def check_control(control: str) -> str:
    """``control`` as an identifier of one of the catalogues, or :class:`InvalidInput`."""
    text = control.strip()
    for std in STANDARDS.values():
        if text in std.ids:
            return text
    known = "; ".join(f"{s.title}: {', '.join(s.ids)}" for s in STANDARDS.values())
    raise InvalidInput(f"{control!r} is not a control of any catalogue aims knows ({known})")


@dataclass(frozen=True)
class Piece:
    """One piece of evidence kept outside aims, as the report reads it."""

    id: int
    control: str
    project: str
    kind: str
    name: str
    sha256: str
    size: int | None
    owner: str
    reviewed_on: dt.date
    review_every_days: int
    note: str
    added_by: str
    added_at: dt.datetime
    approved_by: str | None
    removed_by: str | None
    removed_at: dt.datetime | None
    audit_seq: int | None

    @property
    def next_review(self) -> dt.date:
        return self.reviewed_on + dt.timedelta(days=self.review_every_days)

    def overdue(self, today: dt.date) -> bool:
        """Whether its review date has passed."""
        return self.next_review < today

    @property
    def file_name(self) -> str:
        """The name it has in an evidence pack: hash prefix and its own name."""
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name.rsplit("/", 1)[-1]) or "document"
        return f"{self.sha256[:12]}-{base}"

    def to_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "control": self.control,
            "project": self.project,
            "kind": self.kind,
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "file_name": self.file_name,
            "owner": self.owner,
            "reviewed_on": self.reviewed_on.isoformat(),
            "review_every_days": self.review_every_days,
            "next_review": self.next_review.isoformat(),
            "note": self.note,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(timespec="seconds"),
            "approved_by": self.approved_by,
            "removed_by": self.removed_by,
            "removed_at": self.removed_at.isoformat(timespec="seconds")
            if self.removed_at
            else None,
            "audit_seq": self.audit_seq,
        }
        if today is not None:
            d["overdue"] = self.overdue(today)
        return d


def _piece(row: ExternalEvidence, reviewed_on: str | None = None, approved: bool = True) -> Piece:
    return Piece(
        row.id,
        row.control_id,
        row.project,
        row.kind,
        row.name,
        row.sha256,
        row.size,
        row.owner,
        dt.date.fromisoformat(reviewed_on or row.reviewed_on),
        row.review_every_days,
        row.note,
        row.created_by,
        row.created_at,
        row.approved_by if approved else None,
        row.removed_by,
        row.removed_at,
        row.audit_seq,
    )


def _hash_url(url: str) -> tuple[str, int]:
    """The sha256 and size of what ``url`` serves now (read in chunks, bounded)."""
    import urllib.error
    import urllib.request

    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput(
            f"--url {url!r} must be an http:// or https:// link; use --file for a file"
        )
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            while block := resp.read(1 << 20):
                size += len(block)
                if size > URL_LIMIT:
                    raise InvalidInput(
                        f"{url} serves more than {URL_LIMIT >> 20} MiB; store the document "
                        "with --file instead"
                    )
                digest.update(block)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InvalidInput(
            f"cannot read {url} to record its hash ({reason}); check the link, or give its "
            "hash as it is now with --sha256"
        ) from None
    return digest.hexdigest(), size


def hash_url(url: str) -> tuple[str, int]:
    """The sha256 and size of what ``url`` serves now: what :func:`add` records for a link.

    In remote mode the CLI calls it where the link can be reached, and sends the
    hash: the server never fetches an address a caller gives it.
    """
    return _hash_url(url)


def add(
    ws: Workspace,
    controls: list[str],
    *,
    actor: str,
    owner: str,
    review_every: str,
    file: Path | None = None,
    url: str | None = None,
    sha256: str | None = None,
    note: str = "",
    project: str | None = None,
    reviewed_on: dt.date | None = None,
    url_size: int | None = None,
) -> list[dict[str, Any]]:
    """Record a document (``file``) or a link (``url``) as evidence of each of ``controls``.

    Checked before anything is written: the controls exist, exactly one of
    ``file`` and ``url`` is given, ``owner`` is an e-mail address and the
    interval reads as one. A file goes into the artifact store; a link is
    fetched once to hash it (or ``sha256`` is taken as its hash).
    """
    from aims.storage.artifacts import check_sha256

    if not controls:
        raise InvalidInput("name the control(s) the document evidences, e.g. A.2.2")
    ids = list(dict.fromkeys(check_control(c) for c in controls))
    if (file is None) == (url is None):
        raise InvalidInput("give exactly one of --file DOC or --url URL")
    if not _EMAIL.match(owner or ""):
        raise InvalidInput(
            f"--owner {owner!r} is not an e-mail address; name the person who keeps the "
            "document up to date, e.g. --owner dpo@example.org"
        )
    days = parse_interval(review_every)
    proj = (project or ws.settings.project).strip()
    size: int | None
    if file is not None:
        path = Path(file)
        if not path.is_file():
            raise NotFound(f"--file {path} does not exist or is not a file")
        ref = ws.artifacts.put_file(path)
        digest, size, kind, name = ref.sha256, ref.size, "file", path.name
    elif url is not None:
        if sha256 is not None:
            # The size, when given, is that of what served the hash (read by a client).
            digest, size = check_sha256(sha256), url_size
        else:
            digest, size = _hash_url(url)
        kind, name = "url", url
    else:  # unreachable: exactly one of file and url was checked above
        raise InvalidInput("give exactly one of --file DOC or --url URL")
    today = reviewed_on or audit.now_utc().date()
    out = []
    with ws.db.session() as s:
        for control in ids:
            row = ExternalEvidence(
                project=proj,
                control_id=control,
                kind=kind,
                name=name,
                sha256=digest,
                size=size,
                owner=owner,
                review_every_days=days,
                reviewed_on=today.isoformat(),
                note=note,
                created_by=actor,
                created_at=audit.now_utc(),
            )
            s.add(row)
            s.flush()
            audit.record(
                s,
                actor=actor,
                action="evidence.add",
                subject=f"evidence:{row.id}",
                payload={
                    "control": control,
                    "project": proj,
                    "kind": kind,
                    "name": name,
                    "sha256": digest,
                    "owner": owner,
                    "review_every_days": days,
                    "reviewed_on": row.reviewed_on,
                },
                anchors=(row,),
            )
            out.append(_piece(row).to_dict(today))
    return out


def _get(s: Any, evidence_id: int) -> ExternalEvidence:
    row = s.get(ExternalEvidence, int(evidence_id))
    if row is None:
        raise NotFound(f"no evidence #{evidence_id}; 'aims evidence list' shows their numbers")
    return row


def review(ws: Workspace, evidence_id: int, *, actor: str, note: str = "") -> dict[str, Any]:
    """Record that the document was reviewed today: its next review moves one interval on."""
    with ws.db.session() as s:
        row = _get(s, evidence_id)
        if row.removed_at is not None:
            raise Conflict(f"evidence #{row.id} was removed; add the document again instead")
        row.reviewed_on = audit.now_utc().date().isoformat()
        audit.record(
            s,
            actor=actor,
            action="evidence.review",
            subject=f"evidence:{row.id}",
            payload={"control": row.control_id, "reviewed_on": row.reviewed_on, "note": note},
        )
        return _piece(row).to_dict(audit.now_utc().date())


def approve(ws: Workspace, evidence_id: int, *, actor: str) -> dict[str, Any]:
    """Approve a piece of evidence; never by the person who added it, never by an agent."""
    from aims.services import identity

    with ws.db.session() as s:
        row = _get(s, evidence_id)
        person = identity.approver(s, ws, actor, row.project)
        if person.kind == "agent":
            raise PermissionDenied(f"{person.name} is an agent, and agents never approve")
        if person.name == identity.person_name(s, row.created_by):
            raise PermissionDenied(
                f"{person.name} added evidence #{row.id} and may not approve it (four-eyes "
                f"rule); ask another person to run 'aims evidence approve {row.id}'"
            )
        if row.approved_by is not None:
            raise Conflict(f"evidence #{row.id} is already approved by {row.approved_by}")
        row.approved_by = person.name
        row.approved_at = audit.now_utc()
        audit.record(
            s,
            actor=person.name,
            action="evidence.approve",
            subject=f"evidence:{row.id}",
            payload={"control": row.control_id, "sha256": row.sha256},
        )
        return _piece(row).to_dict(audit.now_utc().date())


def remove(ws: Workspace, evidence_id: int, *, actor: str, reason: str) -> dict[str, Any]:
    """Withdraw a piece of evidence (kept, marked removed); ``reason`` is required."""
    if not reason.strip():
        raise InvalidInput("say why the evidence is withdrawn: --reason TEXT")
    with ws.db.session() as s:
        row = _get(s, evidence_id)
        if row.removed_at is not None:
            raise Conflict(f"evidence #{row.id} is already removed")
        row.removed_by = actor
        row.removed_at = audit.now_utc()
        audit.record(
            s,
            actor=actor,
            action="evidence.remove",
            subject=f"evidence:{row.id}",
            payload={"control": row.control_id, "reason": reason},
        )
        return _piece(row).to_dict(audit.now_utc().date())


def pieces(ws: Workspace, project: str | None = None, *, removed: bool = False) -> list[Piece]:
    """The pieces of ``project`` and of the organisation (``*``) that the audit log vouches
    for, oldest first (see :mod:`aims.services.evidence_anchors`)."""
    proj = (project or ws.settings.project).strip()
    query = select(ExternalEvidence).where(ExternalEvidence.project.in_((proj, "*")))
    if not removed:
        query = query.where(ExternalEvidence.removed_at.is_(None))
    from aims.services.evidence_anchors import Voucher

    with ws.db.session() as s:
        voucher = Voucher(s)
        # Only pieces the audit log vouches for, with the review date and approval it gives.
        return [
            _piece(r, voucher.reviewed_on(r), voucher.piece_approval(r))
            for r in s.scalars(query.order_by(ExternalEvidence.id)).all()
            if voucher.piece(r)
        ]


def list_evidence(
    ws: Workspace,
    project: str | None = None,
    *,
    control: str | None = None,
    removed: bool = False,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The pieces as dictionaries (``overdue`` measured on ``today``)."""
    day = today or audit.now_utc().date()
    rows = pieces(ws, project, removed=removed)
    if control is not None:
        wanted = check_control(control)
        rows = [p for p in rows if p.control == wanted]
    return [p.to_dict(day) for p in rows]

"""Access review: who can act on what, since when, last used when, and what looks wrong.

:func:`access_review` lists every principal with its kind, owner, grants (with
their last use), active elevations and keys (age, last use, expiry), and the
findings a periodic review must act on:

``grant.unused``
    A grant not used for ``access.unused_grant`` (default 90 days): no act of
    the principal on the grant's project in the audit log, and no use of its
    keys there. New grants are judged only once they are that old.
``key.rotation``
    An active key older than ``access.key_rotation`` (default 90 days):
    replace it with ``aims keys rotate KEY_ID``.
``owner.missing``
    A service or an agent without a human owner who answers for it.
``owner.disabled``
    An enabled service or agent whose owner is disabled, still holding grants
    or active keys.
``grant.standing_admin``
    An admin grant without an expiry: admin rights held all the time, where a
    time-bound grant or an elevation would do.

Last use comes from the audit log: acts recorded under the principal's name or
one of its keys (``apikey:<id>``), and the server's notes of tokens issued for
a key. An act on a model or dataset counts for the grant on its project; an
act on nothing of a project (e.g. managing keys) counts for every grant. The
newest act per principal and subject is kept as the log grows
(:mod:`aims.services.access_uses`), so a review does not read the whole log.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.clock import utc
from aims.core.roles import ALL_PROJECTS
from aims.core.standards.facts import ReviewFacts
from aims.services import access_uses, audit
from aims.services.access_settings import access_settings
from aims.services.grants import active_grants
from aims.services.keys import key_payload
from aims.storage.schema import ApiKey, Dataset, Elevation, Grant, Model, Principal
from aims.workspace import Workspace

__all__ = ["RULES", "access_review", "review_facts"]

RULES = {
    "grant.unused": "a grant not used for access.unused_grant",
    "key.rotation": "an active key older than access.key_rotation",
    "owner.missing": "a service or agent without a human owner",
    "owner.disabled": "an enabled service or agent whose owner is disabled",
    "grant.standing_admin": "an admin grant without an expiry",
}
"""Every finding an access review may report, with what it means."""


def _project_of_subjects(s: Session) -> dict[str, str]:
    """Audit subjects that belong to a project (``model:NAME``, ``dataset:NAME``) -> project."""
    out = {f"model:{n}": p for n, p in s.execute(select(Model.name, Model.project))}
    out.update({f"dataset:{n}": p for n, p in s.execute(select(Dataset.name, Dataset.project))})
    return out


def _subject_project(subject: str, projects: dict[str, str]) -> str | None:
    base = subject.split("@", 1)[0]
    return projects.get(base)


def _latest(stamps: Any) -> dt.datetime | None:
    values = [v for v in stamps if v is not None]
    return max(values) if values else None


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def access_review(
    ws: Workspace, *, project: str | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The access review of the workspace (or of principals with access to ``project``).

    Returns ``{"generated_at", "project", "settings", "principals": [...],
    "findings": [...], "summary": {rule: count}}``; each finding names its
    ``rule`` (one of :data:`RULES`), the ``principal``, and a ``message`` saying
    what to do.
    """
    access_uses.catch_up(ws.db)
    with ws.db.session() as s:
        return _review(s, ws, project, utc(now) or audit.now_utc())


@dataclass
class _Pass:
    """What one review reads once and the findings it collects."""

    settings: Any
    now: dt.datetime
    uses: dict[str, dict[str | None, dt.datetime]]
    findings: list[dict[str, Any]] = field(default_factory=list)

    def flag(self, rule: str, who: str, message: str) -> None:
        self.findings.append({"rule": rule, "principal": who, "message": message})

    def older_than(self, since: dt.datetime | None, days: float) -> bool:
        return since is None or self.now - since > dt.timedelta(days=days)


def _key_rows(run: _Pass, who: Principal, mine: list[ApiKey]) -> list[dict[str, Any]]:
    rows = []
    for key in mine:
        info = key_payload(key, run.now, who.name)
        age = run.now - utc(key.created_at)
        rows.append(
            {
                "key_id": key.key_id,
                "project": key.project,
                "role": key.role,
                "status": info["status"],
                "age_days": _days(age),
                "last_used": _latest(run.uses.get(f"apikey:{key.key_id}", {}).values()),
                "expires_at": info["expires_at"],
            }
        )
        rotation = run.settings.key_rotation_days
        if (
            info["status"] == "active"
            and who.disabled_at is None
            and run.older_than(utc(key.created_at), rotation)
        ):
            run.flag(
                "key.rotation",
                who.name,
                f"key {key.key_id} is {_days(age):g} days old (rotation age "
                f"{rotation:g}); replace it with 'aims keys rotate {key.key_id}'",
            )
    return rows


def _grant_rows(
    run: _Pass, who: Principal, grants: list[Grant], mine: list[ApiKey]
) -> list[dict[str, Any]]:
    acts = run.uses.get(who.name, {})
    rows = []
    for g in grants:
        own = [t for p, t in acts.items() if p is None or g.project in (p, ALL_PROJECTS)]
        via = [
            t
            for k in mine
            if g.project in (k.project, ALL_PROJECTS)
            for t in run.uses.get(f"apikey:{k.key_id}", {}).values()
        ]
        used = _latest([*own, *via])
        rows.append(
            {
                "project": g.project,
                "role": g.role,
                "since": utc(g.created_at),
                "expires_at": utc(g.expires_at),
                "last_used": used,
            }
        )
        if who.disabled_at is not None:
            continue
        if g.role == "admin" and g.expires_at is None:
            run.flag(
                "grant.standing_admin",
                who.name,
                f"{who.name} holds admin on {g.project} with no expiry; give it an expiry "
                f"(aims grant {who.name} --role admin --project {g.project} --expires 30d) "
                "or use elevations",
            )
        unused = run.settings.unused_grant_days
        if run.older_than(utc(g.created_at), unused) and run.older_than(used, unused):
            last = f"last used {used:%Y-%m-%d}" if used else "never used"
            run.flag(
                "grant.unused",
                who.name,
                f"{who.name}'s {g.role} grant on {g.project} is {last}; take it back with "
                f"'aims revoke-grant {who.name} --project {g.project}' if it is not needed",
            )
    return rows


def _owner_findings(run: _Pass, who: Principal, owner: Principal | None, acts: bool) -> None:
    if who.disabled_at is not None or who.kind == "human":
        return
    if owner is None:
        run.flag(
            "owner.missing",
            who.name,
            f"{who.kind} {who.name} has no human owner; set one with 'aims principals kind "
            f"{who.name} --kind {who.kind} --owner PERSON'",
        )
    elif owner.disabled_at is not None and acts:
        run.flag(
            "owner.disabled",
            who.name,
            f"{who.kind} {who.name} is owned by {owner.name}, who is disabled, and still "
            f"acts; give it a new owner or disable it ('aims principals disable {who.name}')",
        )


def _elevations(s: Session, who: Principal, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """The principal's elevations in force, by project."""
    rows = s.scalars(
        select(Elevation).where(Elevation.principal_id == who.id, Elevation.status == "approved")
    ).all()
    return {
        e.project: {"role": e.role, "until": utc(e.ends_at)}
        for e in rows
        if e.ends_at is not None and utc(e.ends_at) > now
    }


def _review(s: Session, ws: Workspace, project: str | None, now: dt.datetime) -> dict[str, Any]:
    settings = access_settings(ws)
    projects = _project_of_subjects(s)
    run = _Pass(settings, now, access_uses.last_uses(s, lambda x: _subject_project(x, projects)))
    everyone = {p.id: p for p in s.scalars(select(Principal).order_by(Principal.name))}
    keys_of: dict[int | None, list[ApiKey]] = defaultdict(list)
    for key in s.scalars(select(ApiKey).order_by(ApiKey.id)):
        keys_of[key.principal_id].append(key)
    principals = []
    for who in everyone.values():
        grants = active_grants(s, who.id, now)
        mine = keys_of.get(who.id, [])
        if project is not None and not any(
            p in (project, ALL_PROJECTS)
            for p in [g.project for g in grants] + [k.project for k in mine]
        ):
            continue
        owner = everyone.get(who.owner_id) if who.owner_id is not None else None
        key_rows = _key_rows(run, who, mine)
        grant_rows = _grant_rows(run, who, grants, mine)
        live = bool(grants) or any(k["status"] == "active" for k in key_rows)
        _owner_findings(run, who, owner, live)
        principals.append(
            {
                "name": who.name,
                "kind": who.kind,
                "email": who.email,
                "owner": owner.name if owner is not None else None,
                "status": "enabled" if who.disabled_at is None else "disabled",
                "grants": grant_rows,
                "elevations": _elevations(s, who, now),
                "keys": key_rows,
                "last_used": _latest(r["last_used"] for r in grant_rows + key_rows),
            }
        )
    unowned = [k for k in keys_of.get(None, []) if key_payload(k, now)["status"] == "active"]
    # Findings in a stable order: by principal, then rule.
    findings = sorted(run.findings, key=lambda f: (f["principal"], f["rule"]))
    return {
        "generated_at": now,
        "project": project,
        "settings": {
            "unused_grant_days": settings.unused_grant_days,
            "key_rotation_days": settings.key_rotation_days,
        },
        "principals": principals,
        "keys_without_principal": [k.key_id for k in unowned],
        "findings": findings,
        "summary": {rule: sum(f["rule"] == rule for f in findings) for rule in RULES},
    }


def review_facts(s: Session, ws: Workspace, project: str | None = None) -> ReviewFacts:
    """The access review as the evidence report reads it (ISO/IEC 42001 A.3.2, A.4.6;
    NIST AI RMF GOVERN 2), in the report's session: enabled principals by kind,
    findings by rule."""
    review = _review(s, ws, project, audit.now_utc())
    kinds: dict[str, int] = defaultdict(int)
    for p in review["principals"]:
        if p["status"] == "enabled":
            kinds[p["kind"]] += 1
    return ReviewFacts(
        kinds=dict(kinds),
        findings={rule: n for rule, n in review["summary"].items() if n},
        messages=tuple(f"{f['rule']}: {f['message']}" for f in review["findings"]),
        elevation_required=access_settings(ws).elevation_required,
    )

"""Workspace checks: evidence that belongs to the workspace, not to one model.

Each is a pure function ``check(facts, models, **params) -> Finding`` where
``models`` are the models the control is about; the level maps to a status
directly (``FULL`` met, ``SOME`` partial, ``NONE`` missing).

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import AuditFacts, Facts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> f = Facts(now, "/ws", "p", audit=AuditFacts(ok=True, n_events=12, head_seq=12))
>>> audit_chain(f, ()).level.name
'FULL'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.result import Evidence, Finding, Level

POLICY_NEEDS = ("risk_assessment", "approvals", "four_eyes", "owners", "gates")


def inventory(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """Models are registered, with versions and stages (``aims model list``)."""
    if not facts.models:
        return Finding(
            Level.NONE,
            gaps=["no model is registered; register each with `aims model register`"],
            detail="the inventory is empty",
        )
    evidence = []
    for m in facts.models:
        stages = ", ".join(f"v{v.version} {v.stage}" for v in m.versions)
        evidence.append(
            Evidence(
                f"{m.name} (project {m.project}, registered by {m.created_by}): {stages}",
                m.name,
                None,
                f"aims model show {m.name}",
            )
        )
    n_serving = sum(1 for m in facts.models if m.serving)
    return Finding(
        Level.FULL,
        evidence,
        detail=f"{len(facts.models)} model(s) registered, {n_serving} serving",
    )


def audit_chain(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """The audit log holds events and its hash chain verifies end to end."""
    a = facts.audit
    if a.n_events == 0:
        return Finding(
            Level.NONE,
            gaps=["the audit log is empty; it fills as aims is used"],
            detail="no audit events",
        )
    if not a.ok:
        return Finding(
            Level.NONE,
            [
                Evidence(
                    f"audit chain broken: {a.problem}", None, a.problem_seq, "aims audit verify"
                )
            ],
            [
                f"the audit log does not verify ({a.problem}); the records after event "
                f"#{a.problem_seq} cannot be relied on: find who changed the database, restore it "
                "from a backup, and run `aims audit verify` again"
            ],
            detail="hash chain broken",
        )
    how = (
        "verified in full for this report"
        if a.verified_from == 0
        else f"events #{a.verified_from + 1}-#{a.head_seq} verified for this report, "
        f"#1-#{a.verified_from} by an earlier walk recorded in the store"
    )
    chain = Evidence(
        f"hash chain of {a.n_events:,} audit events verifies up to event #{a.head_seq} ({how})",
        None,
        a.head_seq,
        "aims audit verify",
    )
    if a.break_glass:
        # Writes forced past team mode skipped the server's identity checks: an
        # auditor reviews each one and its reason.
        return Finding(
            Level.SOME,
            [
                chain,
                *(
                    Evidence(
                        f"break-glass: {b.action} by {b.actor} (reason: {b.reason})",
                        None,
                        b.seq,
                        "aims audit log",
                    )
                    for b in a.break_glass
                ),
            ],
            [
                f"{len(a.break_glass)} governance write(s) were forced straight into the store "
                "with --break-glass, past team mode's identity checks; review each one and its "
                "reason, and record the review"
            ],
            detail=f"{a.n_events:,} events, chain intact, {len(a.break_glass)} break-glass",
        )
    return Finding(Level.FULL, [chain], detail=f"{a.n_events:,} events, chain intact")


def _tiers_in_use(facts: Facts, models: Sequence[ModelFacts]) -> list[str]:
    tiers = sorted({m.tier for m in models}) or [facts.policy.default_tier]
    return [t for t in tiers if not facts.policy.tiers.get(t, {}).get("prohibited")]


def _meets(rules: Mapping[str, Any], need: str) -> bool:
    if need == "risk_assessment":
        return bool((rules.get("risk_assessment") or {}).get("required"))
    if need == "approvals":
        return int((rules.get("approvals") or {}).get("count") or 0) >= 1
    if need == "four_eyes":
        return bool((rules.get("approvals") or {}).get("four_eyes"))
    if need == "owners":
        return bool(rules.get("owners"))
    if need == "gates":
        return bool(rules.get("gates"))
    raise ValueError(f"unknown policy need {need!r}; use one of {POLICY_NEEDS}")


def _describe_tier(tier: str, rules: Mapping[str, Any]) -> str:
    parts = []
    risk = rules.get("risk_assessment") or {}
    if risk.get("required"):
        age = risk.get("max_age_days")
        parts.append("risk assessment required" + (f" (at most {age} days old)" if age else ""))
    appr = rules.get("approvals") or {}
    if appr.get("count"):
        roles = appr.get("roles") or []
        parts.append(
            f"{appr['count']} approval(s)"
            + (f" incl. role {', '.join(roles)}" if roles else "")
            + (", four eyes" if appr.get("four_eyes") else "")
        )
    if rules.get("owners"):
        parts.append("owners " + ", ".join(rules["owners"]))
    gates = rules.get("gates") or []
    if gates:
        parts.append(f"{len(gates)} gate(s) on " + ", ".join(g["metric"] for g in gates))
    return f"policy tier {tier}: " + ("; ".join(parts) or "no rules")


def policy(
    facts: Facts,
    models: Sequence[ModelFacts],
    needs: Sequence[str] = ("risk_assessment", "approvals", "gates"),
) -> Finding:
    """The promotion policy of every tier in use requires each of ``needs``
    (:data:`POLICY_NEEDS`)."""
    p = facts.policy
    if not p.valid:
        return Finding(
            Level.NONE,
            gaps=[f"the workspace policy does not load ({p.error}); fix aims.yaml → policy"],
            detail="no valid policy",
        )
    tiers = _tiers_in_use(facts, models)
    evidence, gaps = [], []
    n_ok = 0
    for tier in tiers:
        rules = p.tiers.get(tier, {})
        lacking = [n for n in needs if not _meets(rules, n)]
        evidence.append(
            Evidence(_describe_tier(tier, rules), None, None, "aims gates NAME@VERSION")
        )
        if lacking:
            gaps.append(
                f"policy tier {tier} does not require {', '.join(lacking)}; add "
                + ", ".join(f"policy.tiers.{tier}.{n}" for n in lacking)
                + " to aims.yaml (docs/policy.md)"
            )
        else:
            n_ok += 1
    level = Level.FULL if n_ok == len(tiers) else Level.SOME if n_ok else Level.NONE
    return Finding(level, evidence, gaps, detail=f"tier(s) in use: {', '.join(tiers)}")


def roles(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """People are given roles in ``aims.yaml`` → ``people:``, covering every role the policy
    asks approvals from."""
    people = facts.access.people
    tiers = _tiers_in_use(facts, models) if facts.policy.valid else []
    wanted = sorted(
        {
            r
            for t in tiers
            for r in (facts.policy.tiers.get(t, {}).get("approvals") or {}).get("roles") or []
        }
    )
    if not people:
        return Finding(
            Level.NONE,
            gaps=[
                "no one holds a role; list people and their roles under `people:` in aims.yaml "
                "(e.g. `risk@example.org: [approver]`)"
            ],
            detail="no people with roles",
        )
    held = {r for rs in people.values() for r in rs}
    evidence = [
        Evidence(f"{who}: {', '.join(rs) or '-'}", None, None, None) for who, rs in people.items()
    ]
    unheld = [r for r in wanted if r not in held]
    if unheld:
        return Finding(
            Level.SOME,
            evidence,
            [
                f"the policy asks for approvals by role {', '.join(unheld)} but no one holds it; "
                "add it under `people:` in aims.yaml"
            ],
            detail=f"{len(people)} people with roles",
        )
    return Finding(Level.FULL, evidence, detail=f"{len(people)} people with roles")


def api_keys(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """At least one active API key (each carries a role and a project) guards the server."""
    a = facts.access
    if a.n_active_keys == 0:
        return Finding(
            Level.NONE,
            gaps=[
                "no active API key: the server's users and services need keys, each with a role "
                "and a project (`aims keys create --project P --role ROLE --expires 90d`)"
            ],
            detail=f"{a.n_keys} key(s), none active",
        )
    return Finding(
        Level.FULL,
        [
            Evidence(
                f"{a.n_active_keys} active API key(s) (stored hashed) with role(s) "
                f"{', '.join(a.roles)} in project(s) {', '.join(a.projects)}",
                command="aims keys list",
            )
        ],
        detail=f"{a.n_active_keys} active key(s)",
    )


def monitoring_policy(facts: Facts, models: Sequence[ModelFacts]) -> Finding:
    """The policy's ``monitoring:`` section sets thresholds, triggers or actions."""
    settings = facts.policy.monitoring if facts.policy.valid else {}
    if not settings:
        return Finding(
            Level.NONE,
            gaps=[
                "the policy sets no monitoring: add drift thresholds, triggers and actions "
                "under policy.monitoring in aims.yaml"
            ],
            detail="policy.monitoring is empty",
        )
    return Finding(
        Level.FULL,
        [Evidence("policy.monitoring sets " + ", ".join(sorted(settings)))],
        detail="monitoring configured in the policy",
    )


__all__ = [
    "POLICY_NEEDS",
    "api_keys",
    "audit_chain",
    "inventory",
    "monitoring_policy",
    "policy",
    "roles",
]

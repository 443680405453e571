"""Model checks on governance: owners, risk assessment, approvals, promotion, history.

Each check is a pure function ``check(facts, model, **params) -> Finding``. It
looks at the versions a report judges (:attr:`ModelFacts.reviewed`: those in
production or canary) and returns a level: ``FULL`` (the evidence is there),
``SOME`` (there, but incomplete or stale), ``NONE``, or ``None`` when there is
nothing to judge, with the evidence found and, for each gap, what to do in
aims to close it. A model's level is the worst over its serving versions.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.facts import Facts, ModelFacts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> m = ModelFacts("churn", "p", "ana", owners={"development": "ana"}, in_scope=True)
>>> f = owners(Facts(now, "/ws", "p", models=(m,)), m, roles=("development", "monitoring"))
>>> f.level.name, f.gaps
('SOME', ['churn: no monitoring owner; run `aims model owners churn monitoring=EMAIL`'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aims.core.standards._common import day, last_seq, per_version, vref
from aims.core.standards.facts import Facts, ModelFacts, VersionFacts
from aims.core.standards.result import Evidence, Finding, Level

__all__ = [
    "approval",
    "documentation",
    "fallback",
    "owners",
    "promotion",
    "risk_assessment",
    "risk_content",
    "stage_history",
]


def owners(
    facts: Facts,
    model: ModelFacts,
    roles: Sequence[str] = ("development", "deployment", "monitoring", "business"),
) -> Finding:
    """An owner is named for each of ``roles`` (``aims model owners``)."""
    have = {r: o for r, o in model.owners.items() if (o or "").strip() and r in roles}
    lacking = [r for r in roles if r not in have]
    level = Level.FULL if not lacking else Level.SOME if have else Level.NONE
    ev = model.events_of(None, "model.owners.set")
    evidence = (
        [
            Evidence(
                f"owners of {model.name}: " + ", ".join(f"{r}={o}" for r, o in have.items()),
                model.name,
                last_seq(ev),
                f"aims model show {model.name}",
            )
        ]
        if have
        else []
    )
    gaps = (
        [
            f"{model.name}: no {', '.join(lacking)} owner; run "
            f"`aims model owners {model.name} " + " ".join(f"{r}=EMAIL" for r in lacking) + "`"
        ]
        if lacking
        else []
    )
    return Finding(level, evidence, gaps)


def risk_assessment(facts: Facts, model: ModelFacts) -> Finding:
    """The latest risk assessment exists and its next review date has not passed."""
    risk = model.risk
    if risk is None:
        return Finding(
            Level.NONE,
            gaps=[
                f"{model.name}: no risk assessment; write one (fields in docs/policy.md) and run "
                f"`aims risk assess {model.name} --file RISK.yaml`"
            ],
        )
    ev = Evidence(
        f"risk assessment v{risk.version} of {model.name}: tier {risk.tier}, reviewer "
        f"{risk.reviewer}, recorded {day(risk.created_at)} by {risk.created_by}, "
        f"next review {risk.next_review}",
        model.name,
        risk.event.seq if risk.event else None,
        f"aims risk show {model.name}",
    )
    if risk.overdue(facts.today):
        return Finding(
            Level.SOME,
            [ev],
            [
                f"{model.name}: the risk assessment's review was due on {risk.next_review}; "
                f"review it and record it again with `aims risk assess {model.name} --file RISK.yaml`"
            ],
        )
    return Finding(Level.FULL, [ev])


def risk_content(
    facts: Facts,
    model: ModelFacts,
    fields: Sequence[str] = ("intended_use", "failure_modes", "downstream_impact"),
) -> Finding:
    """The latest risk assessment fills in each of ``fields`` (see ``docs/policy.md``)."""
    risk = model.risk
    if risk is None:
        return Finding(
            Level.NONE,
            gaps=[
                f"{model.name}: no risk assessment to record {', '.join(fields)}; run "
                f"`aims risk assess {model.name} --file RISK.yaml`"
            ],
        )
    present = [f for f in fields if risk.document.get(f) not in (None, "", [], {})]
    lacking = [f for f in fields if f not in present]
    evidence = [
        Evidence(
            f"risk assessment v{risk.version} of {model.name} records "
            + "; ".join(f"{f}: {_brief(risk.document[f])}" for f in present),
            model.name,
            risk.event.seq if risk.event else None,
            f"aims risk show {model.name}",
        )
    ]
    if not lacking:
        return Finding(Level.FULL, evidence)
    return Finding(
        Level.SOME if present else Level.NONE,
        evidence if present else [],
        [
            f"{model.name}: the risk assessment leaves {', '.join(lacking)} empty; add "
            f"{'it' if len(lacking) == 1 else 'them'} to RISK.yaml and run "
            f"`aims risk assess {model.name} --file RISK.yaml`"
        ],
    )


def _brief(value: Any, limit: int = 90) -> str:
    if isinstance(value, list):
        names = [v.get("name", str(v)) if isinstance(v, Mapping) else str(v) for v in value]
        text = ", ".join(names)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def approval(facts: Facts, model: ModelFacts) -> Finding:
    """Each serving version has as many approvals by people other than its registrant as
    the policy asks of the model's tier (at least one)."""
    need = max(1, model.required_approvals)

    def one(v: VersionFacts) -> Finding:
        ok = v.independent_approvals
        events = {e.actor: e.seq for e in model.events_of(v.version, "model.approve")}
        evidence = [
            Evidence(
                f"{vref(model, v)} approved by {a.actor}"
                + (f" ({', '.join(a.roles)})" if a.roles else "")
                + f" on {day(a.at)}"
                + (f": {a.note}" if a.note else ""),
                model.name,
                events.get(a.actor),
                f"aims card {vref(model, v)}",
            )
            for a in ok
        ]
        if len(ok) >= need:
            return Finding(Level.FULL, evidence)
        return Finding(
            Level.SOME if ok else Level.NONE,
            evidence,
            [
                f"{vref(model, v)}: {len(ok)} of {need} approval(s) by someone other than its "
                f"registrant ({v.created_by}); ask an approver to run `aims approve {vref(model, v)}`"
            ],
        )

    return per_version(model, one)


def promotion(facts: Facts, model: ModelFacts) -> Finding:
    """Each serving version reached its stage through the policy gates (a ``model.promote``
    event); an override or a bare rollback is partial evidence."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        gated = [
            e
            for e in model.events_of(v.version, "model.promote")
            if e.payload.get("stage") == v.stage
        ]
        forced = [
            e
            for e in model.events_of(v.version, "model.promote.override")
            if e.payload.get("stage") == v.stage
        ]
        refused = model.events_of(v.version, "model.promote.refused")
        evidence = [
            Evidence(
                f"{ref} promoted to {v.stage} through the policy gates by {e.actor} on {e.ts[:10]}",
                model.name,
                e.seq,
                f"aims audit log --subject model:{ref}",
            )
            for e in gated[-1:]
        ]
        if refused:
            evidence.append(
                Evidence(
                    f"{ref}: {len(refused)} earlier promotion(s) refused by the gates",
                    model.name,
                    refused[-1].seq,
                    f"aims audit log --subject model:{ref}",
                )
            )
        if gated:
            return Finding(Level.FULL, evidence)
        if forced:
            e = forced[-1]
            reason = (e.payload.get("override") or {}).get("reason", "")
            evidence.append(
                Evidence(
                    f"{ref} put in {v.stage} by an override of {e.actor}: {reason}",
                    model.name,
                    e.seq,
                    f"aims audit log --subject model:{ref}",
                )
            )
            return Finding(
                Level.SOME,
                evidence,
                [
                    f"{ref} bypassed the gates (override); meet the unmet rules (`aims gates {ref}`) "
                    "and promote the next version without an override"
                ],
            )
        if model.events_of(v.version, "model.rollback"):
            return Finding(
                Level.SOME,
                evidence,
                [
                    f"{ref} is in {v.stage} by a rollback only; "
                    f"check it against the gates with `aims gates {ref}`"
                ],
            )
        return Finding(
            Level.NONE,
            evidence,
            [
                f"{ref}: no promotion through the gates is recorded; run `aims promote {ref} --stage {v.stage}`"
            ],
        )

    return per_version(model, one)


def stage_history(facts: Facts, model: ModelFacts) -> Finding:
    """The change that put each serving version in its stage is recorded with who, when
    and why."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        into = [t for t in v.transitions if t.to_stage == v.stage]
        if not into:
            return Finding(
                Level.NONE,
                gaps=[
                    f"{ref}: how it reached {v.stage} is not recorded; change stages only "
                    "with `aims promote` and `aims rollback`"
                ],
            )
        t = into[-1]
        ev = Evidence(
            f"{ref} moved {t.from_stage} → {t.to_stage} by {t.actor} on {day(t.at)}: {t.reason}",
            model.name,
            None,
            f"aims history {model.name}",
        )
        return Finding(Level.FULL if t.reason.strip() else Level.SOME, [ev])

    return per_version(model, one)


def fallback(facts: Facts, model: ModelFacts) -> Finding:
    """An earlier production version is kept, so ``aims rollback`` can restore it."""
    earlier = [v for v in model.versions if v.ever_in("production") and v.stage != "production"]
    if earlier:
        v = earlier[-1]
        return Finding(
            Level.FULL,
            [
                Evidence(
                    f"{vref(model, v)} was in production and is kept ({v.stage}); "
                    f"`aims rollback {model.name}` restores it",
                    model.name,
                    last_seq([e for e in model.events if e.action == "model.rollback"]),
                    f"aims history {model.name}",
                )
            ],
        )
    return Finding(
        Level.NONE,
        gaps=[
            f"{model.name}: no earlier production version to fall back to; after the next "
            f"release `aims rollback {model.name}` can restore the current one"
        ],
    )


def documentation(facts: Facts, model: ModelFacts) -> Finding:
    """The model card of each serving version has owners, training data, a risk
    assessment and an evaluation to show."""

    def one(v: VersionFacts) -> Finding:
        ref = vref(model, v)
        parts = {
            "owners": bool(model.owners),
            # An LLM application's card shows its definition (prompt, model, tools) instead.
            "training data": bool(v.datasets) or v.flavour == "llm-app",
            "risk assessment": model.risk is not None,
            "evaluation": v.evaluation is not None,
        }
        have = [k for k, ok in parts.items() if ok]
        lacking = [k for k, ok in parts.items() if not ok]
        evidence = [
            Evidence(
                f"model card of {ref} generated from the store: {', '.join(have)}",
                model.name,
                None,
                f"aims card {ref}",
            )
        ]
        if not lacking:
            return Finding(Level.FULL, evidence)
        return Finding(
            Level.SOME,
            evidence,
            [
                f"{ref}: the model card has no {', '.join(lacking)}; record "
                f"{'it' if len(lacking) == 1 else 'them'} (see the other gaps) and run `aims card {ref}`"
            ],
        )

    return per_version(model, one)

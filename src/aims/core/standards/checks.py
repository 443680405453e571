"""The registry of evidence checks, and how one rule of a control is run.

Catalogues name checks by the keys of :data:`CHECKS`; :func:`run_rule` looks
the check up, applies it to the models a control is about, and folds the
per-model findings into one :class:`~aims.core.standards.result.Outcome`.
The registry is explicit data here, not filled by imports elsewhere.

Examples
--------
>>> import datetime as dt
>>> from aims.core.standards.catalogue import rule
>>> from aims.core.standards.facts import Facts, ModelFacts
>>> now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
>>> m = ModelFacts("churn", "p", "ana", in_scope=True)
>>> out = run_rule(rule("risk_assessment"), Facts(now, "/ws", "p", models=(m,)), (m,))
>>> out.status, out.detail
('missing', '0 of 1 model(s)')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aims.core.standards import access_checks
from aims.core.standards import gateway_checks as gw
from aims.core.standards import governance_checks as gc
from aims.core.standards import technical_checks as tc
from aims.core.standards import workspace_checks as wc
from aims.core.standards.catalogue import Rule
from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.result import Level, Outcome, fold


def _names(values: Sequence[str]) -> str:
    return ", ".join(str(v).replace("_", " ") for v in values)


@dataclass(frozen=True)
class Check:
    """An evidence check: what it looks at, what it looks for (in words), and the function."""

    kind: Literal["model", "workspace"]
    fn: Callable[..., Any]
    label: Callable[[Mapping[str, Any]], str]
    nothing_to_judge: str = ""
    """Why a rule is *not applicable* when no model has anything for it to judge."""

    def params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` over the function's defaults; unknown names raise ``TypeError``."""
        sig = inspect.signature(self.fn)
        sig.bind(None, None, **given)
        defaults = {
            k: p.default
            for k, p in sig.parameters.items()
            if p.default is not inspect.Parameter.empty
        }
        return {**defaults, **given}


CHECKS: Mapping[str, Check] = {
    "owners": Check(
        "model", gc.owners, lambda p: f"owners named for the roles {_names(p['roles'])}"
    ),
    "risk_assessment": Check(
        "model",
        gc.risk_assessment,
        lambda p: "a risk assessment in force, not past its review date",
    ),
    "risk_content": Check(
        "model", gc.risk_content, lambda p: f"the risk assessment records {_names(p['fields'])}"
    ),
    "approval": Check(
        "model",
        gc.approval,
        lambda p: (
            "approvals of the serving version by people other than its registrant, "
            "as many as the policy asks"
        ),
    ),
    "evaluation": Check(
        "model",
        tc.evaluation,
        lambda p: f"a stored evaluation of the serving version with {_names(p['parts'])}",
    ),
    "promotion": Check(
        "model", gc.promotion, lambda p: "promotion through the policy gates, without override"
    ),
    "stage_history": Check(
        "model", gc.stage_history, lambda p: "each change of stage recorded with who, when and why"
    ),
    "lineage": Check(
        "model",
        tc.lineage,
        lambda p: (
            "training data linked by content hash"
            + (", and the training code's git commit" if p["commit"] else "")
        ),
    ),
    "data_contract": Check(
        "model", tc.data_contract, lambda p: "training data checked against a data contract"
    ),
    "data_profile": Check(
        "model", tc.data_profile, lambda p: "a statistical profile of the training data"
    ),
    "input_contract": Check(
        "model", tc.input_contract, lambda p: "an input contract checked on every request"
    ),
    "artifact_integrity": Check(
        "model",
        tc.artifact_integrity,
        lambda p: "the model stored by sha256 in a format that cannot run code (skops, ONNX)",
    ),
    "monitoring": Check(
        "model",
        tc.monitoring,
        lambda p: (
            f"monitor windows in the last {p['days']} days"
            + (" with labelled outcomes" if p["labelled"] else "")
        ),
    ),
    "incidents": Check(
        "model",
        tc.incidents,
        lambda p: "every incident owned, acknowledged and, once resolved, explained",
        nothing_to_judge="no incident is recorded for these models",
    ),
    "fallback": Check(
        "model", gc.fallback, lambda p: "an earlier production version kept to roll back to"
    ),
    "documentation": Check(
        "model",
        gc.documentation,
        lambda p: "a model card with owners, training data, risk assessment and evaluation",
    ),
    "inventory": Check(
        "workspace", wc.inventory, lambda p: "an inventory of models, versions and stages"
    ),
    "audit_chain": Check(
        "workspace", wc.audit_chain, lambda p: "a hash-chained audit log that verifies"
    ),
    "policy": Check(
        "workspace",
        wc.policy,
        lambda p: f"a promotion policy that requires {_names(p['needs'])} for the tiers in use",
    ),
    "roles": Check(
        "workspace", wc.roles, lambda p: "people's roles set for the approvals the policy asks"
    ),
    "api_keys": Check(
        "workspace", wc.api_keys, lambda p: "API keys, each with a role and a project"
    ),
    "access_review": Check(
        "workspace",
        access_checks.access_review,
        lambda p: "principals with owners, no unused grants, stale keys or standing admins",
    ),
    "monitoring_policy": Check(
        "workspace",
        wc.monitoring_policy,
        lambda p: "drift thresholds, triggers and actions set in the policy",
    ),
    "gateway_servers": Check(
        "workspace",
        gw.gateway_servers,
        lambda p: "every upstream MCP server registered with an enabled person as owner",
    ),
    "gateway_pins": Check(
        "workspace",
        gw.gateway_pins,
        lambda p: "no tool on an agent's allow-list with a new or changed, unapproved definition",
    ),
    "gateway_agents": Check(
        "workspace",
        gw.gateway_agents,
        lambda p: "every agent reaching the gateway with an allow-list and an enabled owner",
    ),
    "gateway_incidents": Check(
        "workspace",
        gw.gateway_incidents,
        lambda p: (
            "incidents about MCP servers and agents owned, acknowledged and not open past "
            "their severity's deadline"
        ),
    ),
    "gateway_log": Check(
        "workspace",
        gw.gateway_log,
        lambda p: "every call through the MCP gateway recorded in the audit log",
    ),
}


def check_of(rule: Rule) -> Check:
    """The check a rule names (``ValueError`` listing the known names when absent)."""
    try:
        return CHECKS[rule.name]
    except KeyError:
        raise ValueError(
            f"unknown evidence check {rule.name!r}; known: {', '.join(sorted(CHECKS))}"
        ) from None


def _no_models(facts: Facts) -> str:
    if facts.scope == "deployed":
        return (
            "no model is in production or canary; promote one with "
            "`aims promote NAME@VERSION --stage production` (or report on every model with "
            "--all-models)"
        )
    return "no model is registered; register one with `aims model register`"


def run_rule(rule: Rule, facts: Facts, models: Sequence[ModelFacts]) -> Outcome:
    """Run ``rule`` over ``models`` (those a control is about) and fold the findings.

    A model check is *met* only when every model has the evidence, *missing*
    when none has any, and *partial* in between; with no models it is
    *missing* (nothing to show). A workspace check's level is its status.
    """
    check = check_of(rule)
    params = check.params(rule.params)
    label = check.label(params)
    name = rule.describe()
    if check.kind == "workspace":
        f = check.fn(facts, models, **rule.params)
        status = "not_applicable" if f.level is None else fold([f.level])
        return Outcome(name, label, status, f.detail, tuple(f.evidence), tuple(f.gaps))
    if not models:
        return Outcome(name, label, "missing", "no model in scope", gaps=(_no_models(facts),))
    findings = [check.fn(facts, m, **rule.params) for m in models]
    levels = [f.level for f in findings if f.level is not None]
    status = fold(levels)
    if not levels:
        detail = check.nothing_to_judge or "nothing to judge"
    else:
        n_full = sum(1 for level in levels if level is Level.FULL)
        n_some = sum(1 for level in levels if level is Level.SOME)
        detail = f"{n_full} of {len(levels)} model(s)" + (f", {n_some} in part" if n_some else "")
    return Outcome(
        name,
        label,
        status,
        detail,
        tuple(e for f in findings for e in f.evidence),
        tuple(g for f in findings for g in f.gaps),
    )


__all__ = ["CHECKS", "Check", "check_of", "run_rule"]

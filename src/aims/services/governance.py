"""Governance: risk assessments, approvals, evaluations and the policy gates.

The policy (``aims.yaml`` → ``policy:``) decides what a version needs before a
promotion; :func:`policy_check` plugs it into :func:`aims.services.lifecycle.promote`.
People's roles for approvals and overrides come from ``aims.yaml`` → ``people:``
(``email: [role, ...]``).

Each noun has its own module; this one gathers them so callers import one name:

===========================================  ======================================
module                                       holds
===========================================  ======================================
:mod:`aims.services.workspace_rules`         the policy, people's roles, the admin
:mod:`aims.services.risk`                    risk assessments
:mod:`aims.services.approvals`               approvals (four-eyes)
:mod:`aims.services.evaluations`             evaluations on labelled data
:mod:`aims.services.gates`                   the promotion gates
:mod:`aims.services.anchors`                 rows tied to their audit events
===========================================  ======================================
"""

from __future__ import annotations

from aims.services.approvals import approvals_of, approve
from aims.services.evaluations import evaluate, latest_evaluation
from aims.services.gates import gates, policy_check, promotion_facts, vouched_stage
from aims.services.risk import assess_risk, latest_risk, list_risks, show_risk
from aims.services.workspace_rules import ADMIN, policy_of, require_admin, roles_of

__all__ = [
    "ADMIN",
    "approvals_of",
    "approve",
    "assess_risk",
    "evaluate",
    "gates",
    "latest_evaluation",
    "latest_risk",
    "list_risks",
    "policy_check",
    "policy_of",
    "promotion_facts",
    "require_admin",
    "roles_of",
    "show_risk",
    "vouched_stage",
]

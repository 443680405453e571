"""Control catalogues (ISO/IEC 42001 Annex A, NIST AI RMF, EU AI Act) and evidence checks.

The catalogues are data: controls with identifiers, short titles and
descriptions written for aims, and the names of the evidence checks that
decide each control's status. The checks are pure functions of a
:class:`Facts` snapshot of the store (gathered by
:mod:`aims.services.evidence`), so the whole judgement is testable without a
database.

Examples
--------
>>> sorted(STANDARDS)
['eu-ai-act', 'iso42001', 'nist-ai-rmf']
>>> get_standard("iso42001").control("A.9.4").title
'Intended use'
"""

from __future__ import annotations

from aims.core.standards.catalogue import Control, Rule, Standard, rule
from aims.core.standards.checks import CHECKS, Check, run_rule
from aims.core.standards.eu_ai_act import EU_AI_ACT
from aims.core.standards.facts import Facts, ModelFacts
from aims.core.standards.iso42001 import ISO42001
from aims.core.standards.nist_ai_rmf import NIST_AI_RMF
from aims.core.standards.result import STATUSES, Evidence, Outcome, Status, combine
from aims.errors import InvalidInput

STANDARDS: dict[str, Standard] = {s.key: s for s in (ISO42001, NIST_AI_RMF, EU_AI_ACT)}
"""The catalogues by command-line name."""


def get_standard(key: str) -> Standard:
    """The catalogue named ``key`` (``iso42001``, ``nist-ai-rmf`` or ``eu-ai-act``)."""
    try:
        return STANDARDS[key.strip().lower()]
    except KeyError:
        raise InvalidInput(f"unknown standard {key!r}; use one of {', '.join(STANDARDS)}") from None


__all__ = [
    "CHECKS",
    "EU_AI_ACT",
    "ISO42001",
    "NIST_AI_RMF",
    "STANDARDS",
    "STATUSES",
    "Check",
    "Control",
    "Evidence",
    "Facts",
    "ModelFacts",
    "Outcome",
    "Rule",
    "Standard",
    "Status",
    "combine",
    "get_standard",
    "rule",
    "run_rule",
]

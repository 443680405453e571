"""An LLM application version is judged on what applies to it, never missing for want of a table."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from aims.core.standards import CHECKS, rule, run_rule
from aims.core.standards.facts import EvaluationFacts, MonitorFacts, PolicyFacts
from aims.core.standards.result import Level
from tests.core.standards.test_checks import NOW, facts, model, version

LLM_GATES = PolicyFacts(
    valid=True,
    default_tier="high",
    tiers={
        "high": {
            "gates": [
                {"metric": "pass_rate", "min": 0.9, "task": "llm"},
                {"metric": "slice.worst.pass_rate", "min": 0.8, "task": "llm"},
                {"metric": "accuracy", "min": 0.9, "task": "classification"},
            ]
        }
    },
)


def _cases(*parts: str) -> EvaluationFacts:
    return EvaluationFacts(NOW, "ana", "cases.jsonl", 40, {"pass_rate": 0.95}, frozenset(parts))


def app(**kw):
    """An LLM application version in production: no data, no input contract."""
    kw.setdefault("evaluation", _cases("metrics", "slices"))
    return version(flavour="llm-app", datasets=(), has_input_contract=False, **kw)


def _judge(name: str, m, f=None, **params):
    return CHECKS[name].fn(f or facts(m), m, **params)


def test_fairness_is_judged_on_the_slices_by_tag_with_the_gates_cited() -> None:
    m = model("geo", app())
    found = _judge("evaluation", m, facts(m, policy=LLM_GATES), parts=("fairness",))
    assert found.level is Level.FULL
    texts = " ".join(e.text for e in found.evidence)
    assert "(40 cases)" in texts and "slices" in texts
    assert "pass_rate >= 0.9, slice.worst.pass_rate >= 0.8" in texts and "accuracy" not in texts
    untagged = model("geo", app(evaluation=_cases("metrics")))
    lacking = _judge("evaluation", untagged, parts=("fairness",))
    assert lacking.level is Level.SOME
    assert "no slices" in lacking.gaps[0] and "tag the cases" in lacking.gaps[0]
    assert "cases.jsonl" in lacking.gaps[0]


def test_calibration_robustness_and_importance_are_not_applicable_never_missing() -> None:
    m = model("geo", app())
    for parts in (("importance",), ("calibration",), ("calibration", "robustness")):
        found = _judge("evaluation", m, parts=parts)
        assert found.level is None and not found.gaps
        assert "not applicable to an LLM application" in found.evidence[0].text
    mixed = _judge("evaluation", m, parts=("metrics", "calibration", "slices", "robustness"))
    assert mixed.level is Level.FULL and not mixed.gaps
    assert any("calibration (its answers carry no" in e.text for e in mixed.evidence)
    outcome = run_rule(rule("evaluation", parts=["importance"]), facts(m), [m])
    assert outcome.status == "not_applicable"


def test_a_tabular_model_is_still_asked_for_every_part() -> None:
    m = model("churn", version(evaluation=_cases("metrics", "slices")))
    found = _judge("evaluation", m, parts=("metrics", "calibration", "fairness"))
    assert found.level is Level.SOME and "no calibration, fairness" in found.gaps[0]
    assert _judge("data_profile", model("churn", version(datasets=()))).level is Level.NONE


def test_the_training_data_profile_is_the_text_profile_of_its_monitor_windows() -> None:
    unmonitored = model("geo", app())
    found = _judge(
        "data_profile", unmonitored, facts(unmonitored, trace_content={"p": "off: not kept"})
    )
    assert found.level is Level.NONE and "/v1/traces" in found.gaps[0]
    assert "trace message content of project p: off: not kept" in found.evidence[0].text
    watched = model("geo", app(monitor=MonitorFacts(12, NOW - dt.timedelta(hours=1))))
    found = _judge("data_profile", watched, facts(watched, trace_content={"p": "redacted: hashed"}))
    assert found.level is Level.FULL and not found.gaps
    assert "profiled in 12 monitor window(s)" in found.evidence[0].text
    assert "redacted" in found.evidence[1].text


def test_lineage_contracts_documentation_and_labels_as_apply() -> None:
    m = model("geo", app())
    lineage = _judge("lineage", m, commit=True)
    assert lineage.level is Level.FULL and "stored definition" in lineage.evidence[0].text
    bare = model("geo", app(git_commit=None))
    assert _judge("lineage", bare, commit=True).level is Level.SOME
    for name in ("data_contract", "input_contract"):
        found = _judge(name, m)
        assert found.level is None and "not applicable to an LLM application" in (
            found.evidence[0].text
        )
    assert _judge("documentation", m).level is Level.SOME  # the risk assessment, not the data
    assert "training data" not in _judge("documentation", m).gaps[0]
    watched = model("geo", app(monitor=MonitorFacts(5, NOW - dt.timedelta(hours=2))))
    labelled = _judge("monitoring", watched, labelled=True)
    assert labelled.level is Level.FULL
    assert any("labelled outcomes not applicable" in e.text for e in labelled.evidence)
    # Data given at registration is judged as any model's.
    tuned = model("geo", replace(app(), datasets=version().datasets))
    assert _judge("data_profile", tuned).level is Level.FULL

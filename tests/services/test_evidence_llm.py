"""The evidence report on a workspace whose production version is an LLM application:
each tabular-only control is judged on what applies to it, and none counts as missing for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aims.services import lifecycle, llm_apps, llm_evaluation
from aims.services.evidence import compliance_report
from tests.services.llm_fixtures import GOOD, write_app, write_cases

OWNERS = {
    "development": "ana@x.org",
    "deployment": "dev@x.org",
    "monitoring": "mon@x.org",
    "business": "biz@x.org",
}


@pytest.fixture
def llm_workspace(workspace, tmp_path: Path):
    llm_apps.register_app(
        workspace,
        write_app(tmp_path / "apps", "v1", "Give the capital only."),
        "geo",
        actor="ana@x.org",
        owners=OWNERS,
        commit="c0ffee" * 6,
    )
    llm_evaluation.evaluate_app(
        workspace, "geo@1", write_cases(tmp_path / "cases.jsonl", GOOD), actor="ana@x.org"
    )
    lifecycle.promote(workspace, "geo@1", "production", actor="dev@x.org")
    return workspace


def _rules(report: dict, control: str) -> dict[str, dict]:
    [found] = [c for c in report["controls"] if c["id"] == control]
    return {r["rule"]: r for r in found["rules"]}


def test_tabular_only_rules_are_judged_on_what_an_llm_application_has(llm_workspace) -> None:
    iso = compliance_report(llm_workspace, "iso42001").to_dict()
    fairness = _rules(iso, "A.5.4")["evaluation(parts=[fairness])"]
    assert fairness["status"] == "met" and "(5 cases)" in fairness["evidence"][0]["text"]
    quality = _rules(iso, "A.6.2.4")["evaluation(parts=[metrics, calibration, slices, robustness])"]
    assert quality["status"] == "met" and not quality["gaps"]
    assert any("not applicable to an LLM application" in e["text"] for e in quality["evidence"])
    assert _rules(iso, "A.7.2")["lineage"]["status"] == "met"
    assert _rules(iso, "A.7.4")["data_contract"]["status"] == "not_applicable"
    profile = _rules(iso, "A.7.4")["data_profile"]
    # Not monitored yet: the profile that applies (its prompts and responses) is missing,
    # said as such, and the project's content policy is cited.
    assert profile["status"] == "missing" and "/v1/traces" in profile["gaps"][0]
    assert any(
        "trace message content of project default: off" in e["text"] for e in profile["evidence"]
    )
    nist = compliance_report(llm_workspace, "nist-ai-rmf").to_dict()
    assert _rules(nist, "MEASURE 2.9")["evaluation(parts=[importance])"]["status"] == (
        "not_applicable"
    )
    assert _rules(nist, "MEASURE 2.11")["evaluation(parts=[fairness])"]["status"] == "met"
    every_gap = [g for c in iso["controls"] + nist["controls"] for g in c["gaps"]]
    for tabular in ("calibration", "--sensitive", "no training data is linked", "input contract"):
        assert not [g for g in every_gap if tabular in g], tabular

"""An LLM application's prompt change is gated on its evaluation, then on a second person."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from aims.errors import GateFailed, PermissionDenied
from aims.services import approvals, governance, lifecycle, llm_apps, llm_evaluation
from aims.storage.schema import AuditEvent
from tests.conftest import OPEN_POLICY
from tests.services.llm_fixtures import GOOD, WORSE, write_app, write_cases

OWNERS = {"development": "ana@x.org", "deployment": "d@x.org", "monitoring": "m@x.org"}
MATCH_GATE = "gate:normalised_match>=0.8"
F1_GATE = "gate:token_f1>=production-0"


def _workspace(root: Path):
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    policy = {**OPEN_POLICY, "tiers": dict(OPEN_POLICY["tiers"])}
    policy["tiers"]["minimal"] = {
        "approvals": {"count": 1, "four_eyes": True},
        "gates": [
            {"metric": "normalised_match", "min": 0.8, "task": "llm"},
            {"metric": "token_f1", "no_worse_than_production": 0.0, "task": "llm"},
            # A model gate: never applied to an LLM application.
            {"metric": "accuracy", "min": 0.99, "task": "classification"},
        ],
    }
    config["policy"] = policy
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    return Workspace.open(root)


@pytest.fixture
def ws(tmp_path: Path):
    ws = _workspace(tmp_path / "ws")
    yield ws
    ws.close()


def _register(ws, tmp_path: Path, name: str, system: str) -> int:
    path = write_app(tmp_path / "apps", name, system)
    out = llm_apps.register_app(ws, path, "geo", actor="ana@x.org", owners=OWNERS)
    return int(out["version"])


def _failed(ws, ref: str) -> set[str]:
    return {r["rule"] for r in governance.gates(ws, ref)["rules"] if not r["passed"]}


def test_a_worse_prompt_is_refused_and_a_better_one_needs_a_second_person(
    ws, tmp_path: Path
) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    # v1 answers every case right and goes to production with bo's approval.
    assert _register(ws, tmp_path, "v1", "Answer with the city name only.") == 1
    llm_evaluation.evaluate_app(
        ws, "geo@1", write_cases(cases / "v1.jsonl", GOOD), actor="ana@x.org"
    )
    approvals.approve(ws, "geo@1", actor="bo@x.org")
    lifecycle.promote(ws, "geo@1", "production", actor="ana@x.org")

    # v2 changes the prompt; its answers are worse on the same cases.
    assert _register(ws, tmp_path, "v2", "Answer briefly.") == 2
    v2 = llm_evaluation.evaluate_app(
        ws, "geo@2", write_cases(cases / "v2.jsonl", WORSE), actor="ana@x.org"
    )
    assert v2["champion"]["version"] == 1
    assert v2["evaluation"]["metrics"]["normalised_match"] == pytest.approx(0.6)
    assert v2["evaluation"]["metrics"]["refusal_rate"] == pytest.approx(0.2)
    approvals.approve(ws, "geo@2", actor="bo@x.org")
    assert _failed(ws, "geo@2") == {MATCH_GATE, F1_GATE}
    with pytest.raises(GateFailed) as refused:
        lifecycle.promote(ws, "geo@2", "production", actor="ana@x.org")
    assert MATCH_GATE in str(refused.value) and F1_GATE in str(refused.value)

    # v3 fixes the prompt: the gates pass, but ana registered it and may not approve it.
    assert _register(ws, tmp_path, "v3", "Answer with the capital's name only.") == 3
    v3 = llm_evaluation.evaluate_app(
        ws, "geo@3", write_cases(cases / "v3.jsonl", GOOD), actor="ana@x.org"
    )
    assert v3["comparison"]["same_data"] is True
    assert _failed(ws, "geo@3") == {"approvals.count"}
    with pytest.raises(PermissionDenied, match="four-eyes"):
        approvals.approve(ws, "geo@3", actor="ana@x.org")
    with pytest.raises(GateFailed, match=r"approvals\.count"):
        lifecycle.promote(ws, "geo@3", "production", actor="ana@x.org")
    approvals.approve(ws, "geo@3", actor="bo@x.org")
    lifecycle.promote(ws, "geo@3", "production", actor="ana@x.org")

    versions = {v["version"]: v["stage"] for v in llm_apps_versions(ws)}
    assert versions == {1: "archived", 2: "registered", 3: "production"}
    with ws.db.session() as s:
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.subject == "model:geo@3")
        ).all()
    assert "model.approve.refused" in actions and "model.promote" in actions

    # A rollback puts the previous prompt back, as for a model.
    lifecycle.rollback(ws, "geo", actor="ana@x.org", reason="answers too long")
    versions = {v["version"]: v["stage"] for v in llm_apps_versions(ws)}
    assert versions == {1: "production", 2: "registered", 3: "archived"}


def llm_apps_versions(ws) -> list[dict]:
    from aims.services.registry import describe

    return describe(ws, "geo")["versions"]


def test_given_outputs_without_a_production_evaluation_on_the_same_cases_are_not_compared(
    ws, tmp_path: Path
) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    _register(ws, tmp_path, "v1", "Answer with the city name only.")
    approvals.approve(ws, "geo@1", actor="bo@x.org")
    # No evaluation of v1 at all: the comparison gate has nothing to compare with.
    llm_evaluation.evaluate_app(
        ws, "geo@1", write_cases(cases / "a.jsonl", GOOD), actor="ana@x.org"
    )
    lifecycle.promote(ws, "geo@1", "production", actor="ana@x.org")
    _register(ws, tmp_path, "v2", "Answer briefly.")
    other = write_cases(cases / "b.jsonl", GOOD, rubric="different cases")
    out = llm_evaluation.evaluate_app(ws, "geo@2", other, actor="ana@x.org")
    assert "champion" not in out
    assert any("no evaluation on these cases" in n for n in out["evaluation"]["notes"])
    rule = next(r for r in governance.gates(ws, "geo@2")["rules"] if r["rule"] == F1_GATE)
    assert not rule["passed"] and "no evaluation on the same data" in rule["message"]

    # An evaluation of production on other cases since does not hide the one on these.
    llm_evaluation.evaluate_app(ws, "geo@1", other, actor="ana@x.org")
    again = llm_evaluation.evaluate_app(ws, "geo@2", cases / "a.jsonl", actor="ana@x.org")
    assert again["champion"]["version"] == 1 and again["comparison"]["same_data"] is True

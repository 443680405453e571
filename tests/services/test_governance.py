"""Promotion through policy: each refusal names its rule and is audited; overrides are admin-only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from aims.errors import GateFailed, PermissionDenied
from aims.services import audit, governance, lifecycle, registry
from aims.services.card import card_data, render_markdown, write_card
from aims.workspace import Workspace

POLICY = {
    "default_tier": "high",
    "tiers": {
        "minimal": {},
        "limited": {},
        "high": {
            "risk_assessment": {"required": True, "max_age_days": 365},
            "approvals": {"count": 2, "roles": ["approver"], "four_eyes": True},
            "owners": ["monitoring", "deployment"],
            "gates": [{"metric": "accuracy", "min": 0.9}],
        },
        "unacceptable": {"prohibited": True},
    },
}
PEOPLE = {"bo@x.org": ["approver"], "cy@x.org": ["reviewer"], "root@x.org": ["admin"]}


def risk_yaml(tmp_path: Path, *, next_review: dt.date, tier: str = "high") -> Path:
    doc = {
        "intended_use": "Flag tumours for a second reading by a radiologist.",
        "risk_tier": tier,
        "failure_modes": [
            {
                "name": "missed malignancy",
                "description": "false negative",
                "likelihood": "unlikely",
                "impact": "major",
            }
        ],
        "data_dependencies": ["cancer dataset, refreshed yearly"],
        "downstream_impact": "Patients wait longer for a diagnosis.",
        "mitigations": ["every negative is also read by a human"],
        "residual_risk": "low",
        "reviewer": "risk@x.org",
        "assessed_on": (next_review - dt.timedelta(days=200)).isoformat(),
        "next_review": next_review.isoformat(),
    }
    path = tmp_path / f"risk-{next_review}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def gov(tmp_path: Path, cancer_files) -> Workspace:
    from aims.workspace import init_workspace

    root = init_workspace(tmp_path / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = POLICY
    config["people"] = PEOPLE
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws,
        cancer_files["model"],
        "cancer",
        actor="ana@x.org",
        datasets=["cancer@1"],
        owners={"monitoring": "mon@x.org"},
    )
    yield ws
    ws.close()


def unmet_rules(exc: pytest.ExceptionInfo[GateFailed]) -> set[str]:
    return set(exc.value.rules)


def test_every_unmet_rule_is_listed_and_audited(gov) -> None:
    with pytest.raises(GateFailed) as exc:
        lifecycle.promote(gov, "cancer@1", "production", actor="ops@x.org")
    rules = unmet_rules(exc)
    assert {
        "risk_assessment.required",
        "owners.deployment",
        "approvals.count",
        "approvals.role.approver",
    } <= rules
    assert any(r.startswith("gate:accuracy") for r in rules)  # not evaluated yet
    ev = audit.query(gov.db, audit.EventFilter(action="model.promote.refused"))
    assert {u["rule"] for u in ev[-1]["payload"]["unmet"]} == rules


def test_self_approval_is_refused_and_audited(gov) -> None:
    with pytest.raises(PermissionDenied, match="four-eyes"):
        governance.approve(gov, "cancer@1", actor="ana@x.org")
    ev = audit.query(gov.db, audit.EventFilter(action="model.approve.refused"))
    assert ev[-1]["actor"] == "ana@x.org"


def test_overdue_review_is_a_named_refusal(gov, tmp_path) -> None:
    governance.assess_risk(
        gov, "cancer", risk_yaml(tmp_path, next_review=dt.date(2020, 1, 1)), actor="risk@x.org"
    )
    with pytest.raises(GateFailed) as exc:
        lifecycle.promote(gov, "cancer@1", "production", actor="ops@x.org")
    assert "risk_assessment.overdue" in unmet_rules(exc)
    listed = governance.list_risks(gov)
    assert listed[0]["overdue"] is True


def test_full_path_through_the_gates(gov, tmp_path, cancer_files) -> None:
    governance.assess_risk(
        gov,
        "cancer",
        risk_yaml(tmp_path, next_review=dt.date.today() + dt.timedelta(days=90)),
        actor="risk@x.org",
    )
    registry.set_owners(gov, "cancer", {"deployment": "dep@x.org"}, actor="ops@x.org")
    out = governance.evaluate(
        gov, "cancer@1", cancer_files["data"], actor="ana@x.org", label="target"
    )
    assert out["evaluation"]["metrics"]["accuracy"] > 0.9
    governance.approve(gov, "cancer@1", actor="bo@x.org", note="checked slices")
    with pytest.raises(GateFailed) as exc:
        lifecycle.promote(gov, "cancer@1", "production", actor="ops@x.org")
    assert unmet_rules(exc) == {"approvals.count"}
    governance.approve(gov, "cancer@1", actor="cy@x.org")
    result = governance.gates(gov, "cancer@1")
    assert result["passed"] and result["tier"] == "high"
    promoted = lifecycle.promote(gov, "cancer@1", "production", actor="ops@x.org")
    assert promoted["stage"] == "production"
    card = render_markdown(card_data(gov, "cancer@1"))
    assert card.startswith("---\n") and "risk_tier: high" in card
    for section in (
        "## Intended use",
        "## Training data",
        "### Calibration",
        "## Approvals",
        "## Stage history",
        "bo@x.org",
        "cancer@1",
        "### Fairness\n\n_Not measured: no sensitive column was named.",
    ):
        assert section in card
    files = write_card(gov, "cancer@1", tmp_path / "card.md")
    assert files[1].read_text().startswith("<svg")


def test_failed_gate_names_the_metric(gov, tmp_path, cancer_files) -> None:
    config = yaml.safe_load((gov.root / "aims.yaml").read_text())
    config["policy"]["tiers"]["high"]["gates"] = [{"metric": "accuracy", "min": 0.999}]
    (gov.root / "aims.yaml").write_text(yaml.safe_dump(config))
    governance.evaluate(gov, "cancer@1", cancer_files["data"], actor="ana@x.org", label="target")
    result = governance.gates(gov, "cancer@1")
    failed = [r for r in result["rules"] if not r["passed"]]
    gate = next(r for r in failed if r["rule"].startswith("gate:accuracy"))
    assert gate["threshold"] == 0.999 and gate["value"] < 0.999


def test_override_is_admin_only_and_marked(gov) -> None:
    with pytest.raises(PermissionDenied, match="admin"):
        lifecycle.promote(
            gov, "cancer@1", "production", actor="ops@x.org", override_reason="hotfix"
        )
    refused = audit.query(gov.db, audit.EventFilter(action="model.promote.override.refused"))
    assert refused[-1]["actor"] == "ops@x.org"
    registry.set_owners(gov, "cancer", {"deployment": "dep@x.org"}, actor="ops@x.org")
    out = lifecycle.promote(
        gov, "cancer@1", "production", actor="root@x.org", override_reason="incident 42 hotfix"
    )
    assert out["stage"] == "production"
    ev = audit.query(gov.db, audit.EventFilter(action="model.promote.override"))
    assert ev[-1]["payload"]["override"]["reason"] == "incident 42 hotfix"
    assert "Policy overrides" in render_markdown(card_data(gov, "cancer@1"))


def test_shap_explanations_are_stored_and_shown_in_the_card(gov, cancer_files) -> None:
    out = governance.evaluate(
        gov, "cancer@1", cancer_files["data"], actor="ana@x.org", label="target", shap=True
    )
    shap = out["evaluation"]["shap"]
    assert shap["output"] == "P(1)" and shap["rows"] == 50
    assert set(shap["features"]) == set(out["evaluation"]["features"])
    assert max(shap["features"].values()) > 0
    card = render_markdown(card_data(gov, "cancer@1"))
    top = max(shap["features"], key=shap["features"].get)
    assert "### SHAP (mean |SHAP value| on 50 rows, effect on P(1))" in card
    assert f"| {top} |" in card

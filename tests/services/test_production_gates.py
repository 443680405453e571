"""The version in production is shown with its gates as they stood, never red against itself."""

from __future__ import annotations

from pathlib import Path

import yaml

from aims.services import dashboard, evaluations, governance, lifecycle, registry
from tests.conftest import OPEN_POLICY

GATE = "gate:accuracy>=production-0.5"
OWNERS = {"deployment": "d@x.org", "monitoring": "m@x.org"}


def _workspace(root: Path):
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    policy = {**OPEN_POLICY, "tiers": dict(OPEN_POLICY["tiers"])}
    policy["tiers"]["minimal"] = {
        "gates": [{"metric": "accuracy", "no_worse_than_production": 0.5}]
    }
    config["policy"] = policy
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    return Workspace.open(root)


def test_a_promoted_version_keeps_its_comparison_with_the_version_it_replaced(
    tmp_path: Path, cancer_files
) -> None:
    ws = _workspace(tmp_path / "ws")
    try:
        registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
        for model in ("model", "model2"):
            registry.register_model(
                ws,
                cancer_files[model],
                "cancer",
                actor="ana@x.org",
                datasets=["cancer@1"],
                owners=OWNERS,
            )
        data = cancer_files["data"]
        evaluations.evaluate(ws, "cancer@1", data, actor="ana@x.org", label="target")
        lifecycle.promote(ws, "cancer@1", "production", actor="ana@x.org")
        evaluations.evaluate(ws, "cancer@2", data, actor="ana@x.org", label="target")
        before = governance.gates(ws, "cancer@2")
        assert before["passed"], before
        lifecycle.promote(ws, "cancer@2", "production", actor="ana@x.org")

        after = governance.gates(ws, "cancer@2")
        rule = next(r for r in after["rules"] if r["rule"] == GATE)
        assert after["passed"] and rule["passed"], after
        assert "cancer@1" in rule["message"] and "cancer@2" not in rule["message"]
        page = dashboard.model_page(ws, "cancer")
        shown = next(v for v in page["versions"] if v["version"] == 2)
        assert shown["stage"] == "production"
        assert [r["rule"] for r in shown["gates"]["rules"] if not r["passed"]] == []
    finally:
        ws.close()

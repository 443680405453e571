from __future__ import annotations

import threading

import pytest

from aims.errors import Conflict, GateFailed, NotFound
from aims.services import audit, lifecycle, registry
from aims.workspace import Workspace

OWNERS = {"deployment": "dep@x.org", "monitoring": "mon@x.org"}


@pytest.fixture
def two_versions(store_workspace, cancer_files):
    ws = store_workspace
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    for key in ("model", "model2"):
        registry.register_model(
            ws, cancer_files[key], "cancer", actor="ana@x.org", datasets=["cancer@1"], owners=OWNERS
        )
    return ws


def stages(ws) -> dict[int, str]:
    return {v["version"]: v["stage"] for v in registry.describe(ws, "cancer")["versions"]}


def test_promotion_requires_monitoring_and_deployment_owners(workspace, cancer_files) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="a")
    registry.register_model(
        workspace, cancer_files["model"], "cancer", actor="a", datasets=["cancer@1"]
    )
    with pytest.raises(GateFailed) as info:
        lifecycle.promote(workspace, "cancer@1", "production", actor="ops")
    assert info.value.rules == ["owners.monitoring", "owners.deployment"]
    assert stages(workspace) == {1: "registered"}
    refused = audit.query(workspace.db, audit.EventFilter(action="model.promote.refused"))
    assert refused[-1]["payload"]["unmet"][0]["rule"] == "owners.monitoring"


def test_rollback_restores_previous_production(two_versions) -> None:
    ws = two_versions
    lifecycle.promote(ws, "cancer@1", "production", actor="ops", reason="first")
    lifecycle.promote(ws, "cancer@2", "production", actor="ops", reason="better")
    assert stages(ws) == {1: "archived", 2: "production"}
    back = lifecycle.rollback(ws, "cancer", actor="ops", reason="v2 misbehaves")
    assert back["version"] == 1
    assert stages(ws) == {1: "production", 2: "archived"}
    hist = lifecycle.history(ws, "cancer")
    assert [(h["version"], h["to"]) for h in hist][-2:] == [(2, "archived"), (1, "production")]
    assert hist[-1]["actor"] == "ops" and "v2 misbehaves" in hist[-1]["reason"]
    ev = audit.query(ws.db, audit.EventFilter(action="model.rollback"))
    assert ev[-1]["payload"] == {"from": 2, "to": 1, "reason": "v2 misbehaves"}


def test_rollback_without_history_is_refused(two_versions) -> None:
    with pytest.raises(NotFound, match="no earlier production version"):
        lifecycle.rollback(two_versions, "cancer", actor="ops")


def test_promoting_twice_is_a_conflict(two_versions) -> None:
    lifecycle.promote(two_versions, "cancer@1", "staging", actor="ops")
    with pytest.raises(Conflict, match="already in staging"):
        lifecycle.promote(two_versions, "cancer@1", "staging", actor="ops")


@pytest.mark.parametrize("stage", ["staging", "canary", "shadow"])
def test_the_production_version_cannot_be_moved_out_of_production(two_versions, stage) -> None:
    ws = two_versions
    lifecycle.promote(ws, "cancer@1", "production", actor="ops")
    with pytest.raises(Conflict, match="rollback"):
        lifecycle.promote(
            ws, "cancer@1", stage, actor="ops", traffic=10.0 if stage == "canary" else None
        )
    assert stages(ws) == {1: "production", 2: "registered"}


def test_concurrent_promotions_leave_exactly_one_in_production(two_versions) -> None:
    ws = two_versions
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def go(version: int) -> None:
        own = Workspace.open(ws.root)  # its own connection pool, like another process
        barrier.wait()
        try:
            lifecycle.promote(own, f"cancer@{version}", "production", actor=f"ops{version}")
            outcomes[version] = "ok"
        except Conflict:
            outcomes[version] = "conflict"
        finally:
            own.close()

    threads = [threading.Thread(target=go, args=(v,)) for v in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [1, 2] and "ok" in outcomes.values()
    assert list(stages(ws).values()).count("production") == 1
    assert audit.verify(ws.db).ok


def test_canary_needs_a_share(two_versions) -> None:
    from aims.errors import InvalidInput

    with pytest.raises(InvalidInput, match="canary"):
        lifecycle.promote(two_versions, "cancer@2", "canary", actor="ops")
    out = lifecycle.promote(two_versions, "cancer@2", "canary", actor="ops", traffic=20)
    assert out["stage"] == "canary" and out["traffic"] == 20


def test_rollback_is_refused_once_the_model_is_judged_unacceptable(two_versions, tmp_path) -> None:
    import datetime as dt

    import yaml

    from aims.services import governance

    ws = two_versions
    config = yaml.safe_load((ws.root / "aims.yaml").read_text())
    config["policy"]["tiers"]["unacceptable"] = {
        "prohibited": True,
        "stages": ["staging", "production"],
    }
    (ws.root / "aims.yaml").write_text(yaml.safe_dump(config))
    lifecycle.promote(ws, "cancer@1", "production", actor="ops")
    lifecycle.promote(ws, "cancer@2", "production", actor="ops")
    today = dt.date.today()
    risk = tmp_path / "risk.yaml"
    risk.write_text(
        yaml.safe_dump(
            {
                "intended_use": "none any more",
                "risk_tier": "unacceptable",
                "failure_modes": [{"name": "harm", "likelihood": "likely", "impact": "severe"}],
                "data_dependencies": ["cancer@1"],
                "downstream_impact": "harm",
                "mitigations": [],
                "residual_risk": "high",
                "reviewer": "risk@x.org",
                "assessed_on": today.isoformat(),
                "next_review": (today + dt.timedelta(days=30)).isoformat(),
            }
        )
    )
    governance.assess_risk(ws, "cancer", risk, actor="risk@x.org")
    with pytest.raises(GateFailed, match="unacceptable") as info:
        lifecycle.rollback(ws, "cancer", actor="ops")
    assert info.value.rules == ["tier.prohibited"]
    assert stages(ws) == {1: "archived", 2: "production"}
    refused = audit.query(ws.db, audit.EventFilter(action="model.rollback.refused"))
    assert refused[-1]["payload"]["tier"] == "unacceptable"


def _damage_artifact(ws, version: int) -> str:
    """Flip one byte of the stored artifact of cancer@version; returns its sha256."""
    from pathlib import Path

    sha = registry.describe(ws, "cancer")["versions"][version - 1]["artifact_sha256"]
    path = Path(ws.artifacts.key(sha))
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return sha


def test_a_version_with_a_damaged_artifact_cannot_be_promoted_even_by_override(
    two_versions,
) -> None:
    from aims.errors import IntegrityError

    ws = two_versions
    lifecycle.promote(ws, "cancer@1", "production", actor="ops")
    sha = _damage_artifact(ws, 2)
    with pytest.raises(
        IntegrityError, match=r"promote of cancer@2 refused, nothing changed: .*damaged"
    ):
        lifecycle.promote(ws, "cancer@2", "production", actor="ops")
    with pytest.raises(IntegrityError, match="refused"):
        lifecycle.promote(ws, "cancer@2", "canary", actor="ops", traffic=10)
    with pytest.raises(IntegrityError):
        lifecycle.promote(ws, "cancer@2", "production", actor="ops", override_reason="urgent")
    assert stages(ws) == {1: "production", 2: "registered"}
    refused = audit.query(ws.db, audit.EventFilter(action="model.promote.refused"))
    assert refused[-1]["payload"] == {"rule": "artifact.intact", "sha256": sha}
    assert refused[-1]["subject"] == "model:cancer@2"


def test_a_missing_artifact_is_refused_too(two_versions) -> None:
    from pathlib import Path

    ws = two_versions
    sha = registry.describe(ws, "cancer")["versions"][0]["artifact_sha256"]
    Path(ws.artifacts.key(sha)).unlink()
    with pytest.raises(NotFound, match=r"promote of cancer@1 refused.*missing from the store"):
        lifecycle.promote(ws, "cancer@1", "staging", actor="ops")
    assert stages(ws) == {1: "registered", 2: "registered"}


def test_rollback_to_a_version_whose_artifact_is_damaged_is_refused(two_versions) -> None:
    from aims.errors import IntegrityError

    ws = two_versions
    lifecycle.promote(ws, "cancer@1", "production", actor="ops")
    lifecycle.promote(ws, "cancer@2", "production", actor="ops")
    _damage_artifact(ws, 1)
    with pytest.raises(IntegrityError, match="rollback of cancer@1 refused, nothing changed"):
        lifecycle.rollback(ws, "cancer", actor="ops")
    assert stages(ws) == {1: "archived", 2: "production"}
    refused = audit.query(ws.db, audit.EventFilter(action="model.rollback.refused"))
    assert refused[-1]["payload"]["rule"] == "artifact.intact"

"""Importing from a real MLflow tracking server, its database and an mlruns folder.

One MLflow server for the module (see :mod:`tests.services.mlflow_server`);
each test imports into a workspace of its own.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from sqlalchemy import select

from aims.errors import Conflict, GateFailed, InvalidInput, NotFound
from aims.services import approvals, evaluations, lineage, registry
from aims.services.audit import query
from aims.services.mlflow_import import import_mlflow, open_source
from aims.services.promotion_requests import decide, list_requests
from aims.storage.schema import ModelVersion, PromotionRequest
from tests.cli.in_process import run
from tests.conftest import OPEN_POLICY
from tests.services.mlflow_server import MlflowWorld, start

# One MLflow server for the module: its tests run on one worker (make test: --dist loadfile).
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    yield from start(tmp_path_factory.mktemp("mlflow"))


def _workspace(root: Path, policy: dict[str, Any] | None = None):
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = policy or OPEN_POLICY
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    return Workspace.open(root)


def _snapshot(ws) -> dict[str, Any]:
    """The registry as plain data: versions with lineage, and promotion requests."""
    with ws.db.session() as s:
        versions = {
            f"{mv.model.name}@{mv.version}": {
                "flavour": mv.flavour,
                "trusted": mv.trusted,
                "stage": mv.stage,
                "artifact_sha256": mv.artifact_sha256,
                "info": mv.info,
                "params": mv.params,
                "metrics": mv.metrics,
                "tags": mv.tags,
                "git_commit": mv.git_commit,
                "datasets": [
                    (d.dataset.name, d.version, d.content_hash, d.schema, d.row_count, d.source)
                    for d in mv.inputs
                ],
            }
            for mv in s.scalars(select(ModelVersion).order_by(ModelVersion.id))
        }
        requests = [
            (r.model_version.model.name, r.model_version.version, r.stage, r.source, r.status)
            for r in s.scalars(select(PromotionRequest).order_by(PromotionRequest.id))
        ]
    return {"versions": versions, "requests": requests}


def events(ws) -> list[dict[str, Any]]:
    return query(ws.db)


def _mlflow_tags(world: MlflowWorld, name: str, version: int) -> dict[str, str]:
    """A version's tags as MLflow's server answers them."""
    url = f"{world.url}/api/2.0/mlflow/model-versions/get?name={name}&version={version}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        tags = json.load(answer)["model_version"].get("tags") or []
    return {t["key"]: t["value"] for t in tags}


def _file_sha256(world: MlflowWorld, artifact_uri: str, name: str) -> str:
    folder = world.artifacts / artifact_uri.removeprefix("mlflow-artifacts:/")
    return hashlib.sha256((folder / name).read_bytes()).hexdigest()


def test_a_server_import_brings_versions_runs_lineage_files_and_requests(
    world: MlflowWorld, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path / "ws")
    try:
        out = import_mlflow(ws, open_source(world.url), actor="ana@x.org", model="cancer")
        assert [(i["model"], i["version"]) for i in out["imported"]] == [
            ("cancer", 1),
            ("cancer", 2),
        ]
        for item in (x for x in world.logged if x["model"] == "cancer"):
            mv = registry.show_version(ws, f"cancer@{item['version']}")
            assert mv["tags"]["mlflow.run_id"] == item["run_id"]
            assert mv["tags"]["mlflow.version"] == str(item["version"])
            assert mv["tags"]["mlflow.run_tag.team"] == "oncology"
            assert mv["params"] == item["params"]
            # The latest value of each metric: loss was logged at steps 0, 1, 2.
            assert mv["metrics"] == {"accuracy": item["accuracy"], "loss": 0.2}
            assert mv["flavour"] == "skops" and mv["trusted"] is False
            assert mv["artifact_sha256"] == _file_sha256(world, item["artifact_uri"], "model.skops")
            assert mv["stage"] == "registered"  # an alias or a stage moves nothing
            # Lineage: the training set, not the holdout the run was evaluated on.
            assert mv["datasets"] == ["cancer-train@1"]
        made_from = lineage.lineage(ws, "cancer@1")["made_from"]
        assert [m["ref"] for m in made_from if m["kind"] == "dataset"] == ["cancer-train@1"]
        event = lineage.openlineage_event(ws, "cancer@2")
        assert [i["name"] for i in event["inputs"]] == ["cancer-train@1"]
        fields = {f["name"] for f in event["inputs"][0]["facets"]["schema"]["fields"]}
        assert {"mean radius", "target"} <= fields
        run_facet = event["run"]["facets"]["aims_mlflow_run"]
        assert (run_facet["run_id"], run_facet["version"]) == (world.logged[1]["run_id"], "2")

        requests = [
            (r["model"], r["version"], r["stage"], r["source"], r["status"])
            for r in list_requests(ws)
        ]
        assert requests == [
            ("cancer", 1, "production", "mlflow:alias=champion", "open"),
            ("cancer", 2, "staging", "mlflow:stage=Staging", "open"),
        ]
        # The audit log names the MLflow run and version of each imported version.
        registered = [e for e in events(ws) if e["action"] == "model.register"]
        assert {
            (e["payload"]["mlflow_version"], e["payload"]["mlflow_run_id"]) for e in registered
        } == {(x["version"], x["run_id"]) for x in world.logged if x["model"] == "cancer"}
        assert sum(e["action"] == "mlflow.import" for e in events(ws)) == 1

        # The imported model loads (after its hash is checked) and predicts.
        frame = pl.read_parquet(world.data)
        model = registry.load_version(ws, registry.show_version(ws, "cancer@1"))
        assert len(model.predict(frame.drop("target"))) == frame.height

        before = _snapshot(ws), len(events(ws))
        again = import_mlflow(ws, open_source(world.url), actor="ana@x.org", model="cancer")
        assert again["imported"] == [] and again["promotion_requests"] == []
        assert again["unchanged"] == ["cancer@1", "cancer@2"]
        assert (_snapshot(ws), len(events(ws))) == before
    finally:
        ws.close()


def test_the_champion_request_is_refused_by_the_gates_until_evaluated_and_approved(
    world: MlflowWorld, tmp_path: Path
) -> None:
    policy = {
        "default_tier": "minimal",
        "tiers": {
            "minimal": {
                "approvals": {"count": 1, "four_eyes": True},
                "gates": [{"metric": "accuracy", "min": 0.9}],
            },
            "limited": {},
            "high": {},
            "unacceptable": {"prohibited": True},
        },
    }
    ws = _workspace(tmp_path / "ws", policy)
    try:
        import_mlflow(ws, open_source(world.url), actor="ana@x.org", model="cancer")
        champion = next(r for r in list_requests(ws) if r["source"] == "mlflow:alias=champion")
        with pytest.raises(GateFailed) as refused:
            decide(ws, champion["id"], actor="ana@x.org", approve=True)
        assert {"approvals.count", "owners.monitoring"} <= set(refused.value.rules)
        assert any(r.startswith("gate:accuracy") for r in refused.value.rules)
        assert registry.show_version(ws, "cancer@1")["stage"] == "registered"
        assert list_requests(ws, status="open")[0]["id"] == champion["id"]
        assert any(e["action"] == "model.promote.refused" for e in events(ws))

        registry.set_owners(
            ws, "cancer", {"deployment": "d@x.org", "monitoring": "m@x.org"}, actor="ana@x.org"
        )
        data = world.data
        evaluations.evaluate(ws, "cancer@1", data, actor="ana@x.org", label="target")
        approvals.approve(ws, "cancer@1", actor="bo@x.org")
        done = decide(ws, champion["id"], actor="ana@x.org", approve=True, note="gates passed")
        assert (done["status"], done["version_stage"], done["decided_by"]) == (
            "approved",
            "production",
            "ana@x.org",
        )
        with pytest.raises(Conflict, match="already approved"):
            decide(ws, champion["id"], actor="ana@x.org", approve=False)

        staging = next(r for r in list_requests(ws) if r["source"] == "mlflow:stage=Staging")
        assert decide(ws, staging["id"], actor="bo@x.org", approve=False)["status"] == "refused"
        assert registry.show_version(ws, "cancer@2")["stage"] == "registered"
        actions = [e["action"] for e in events(ws)]
        assert "promotion_request.approve" in actions and "promotion_request.refuse" in actions
        # A refused request is not reopened by the next import, which writes aims'
        # decisions back to MLflow as version tags when asked.
        out = import_mlflow(
            ws, open_source(world.url), actor="ana@x.org", model="cancer", write_back=True
        )
        assert len(list_requests(ws)) == 2
        assert {(t["version"], t["key"], t["value"]) for t in out["written_back"]} == {
            (1, "aims.stage", "production"),
            (1, "aims.gates", "passed"),
            (2, "aims.stage", "registered"),
            (2, "aims.gates", "failed"),
        }
        assert _mlflow_tags(world, "cancer", 1).items() >= {
            ("aims.stage", "production"),
            ("aims.gates", "passed"),
        }
        again = import_mlflow(
            ws, open_source(world.url), actor="ana@x.org", model="cancer", write_back=True
        )
        assert again["written_back"] == [] and again["imported"] == []
    finally:
        ws.close()


def test_the_same_registry_from_a_copied_database_and_from_an_mlruns_folder(
    world: MlflowWorld, tmp_path: Path
) -> None:
    copy = tmp_path / "mlflow.db"
    with sqlite3.connect(world.db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # a consistent copy while the server runs
    shapes = {
        "server": (world.url, None),
        "copied mlflow.db": (f"sqlite:///{copy}", world.artifacts),
        "mlruns": (str(world.mlruns), None),
        "migrated mlflow.db": (str(world.migrated), None),
    }
    snaps = {}
    for i, (shape, (uri, artifacts)) in enumerate(shapes.items()):
        ws = _workspace(tmp_path / f"ws{i}")
        try:
            source = open_source(uri, artifacts_root=artifacts)
            import_mlflow(ws, source, actor="ana@x.org", model="cancer")
            snaps[shape] = _snapshot(ws)
        finally:
            ws.close()
    assert snaps["copied mlflow.db"] == snaps["server"]
    assert snaps["mlruns"] == snaps["migrated mlflow.db"]
    assert (
        snaps["mlruns"]["versions"]["cancer@1"]["tags"]["mlflow.run_id"]
        == (world.mlruns_logged[0]["run_id"])
    )

    # Two registries logged by the same code: the same shape, parameters, metrics and
    # dataset names; run ids, the files' bytes (zip times) and the datasets' sources
    # (which name where they were logged from) are their own.
    def shape(snap: dict[str, Any]) -> dict[str, Any]:
        return {
            ref: (v["params"], v["metrics"], v["flavour"], [d[:2] for d in v["datasets"]])
            for ref, v in snap["versions"].items()
        } | {"requests": snap["requests"]}

    assert shape(snaps["mlruns"]) == shape(snaps["server"])


def test_since_limits_the_import_to_newer_versions(world: MlflowWorld, tmp_path: Path) -> None:
    import datetime as dt

    ws = _workspace(tmp_path / "ws")
    try:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        out = import_mlflow(ws, open_source(world.url), actor="ana@x.org", since=later)
        assert out["imported"] == [] and out["promotion_requests"] == []
        assert registry.list_models(ws) == [] and events(ws) == []
        with pytest.raises(NotFound, match="has no registered model 'nope'"):
            import_mlflow(ws, open_source(world.url), actor="ana@x.org", model="nope")
        with pytest.raises(InvalidInput, match="--write-back writes tags through MLflow's REST"):
            import_mlflow(ws, open_source(str(world.migrated)), actor="ana@x.org", write_back=True)
        assert registry.list_models(ws) == [] and events(ws) == []
    finally:
        ws.close()


def test_an_untrusted_pickle_stops_the_import_and_trust_lets_it_in(
    world: MlflowWorld, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    log = run(["audit", "log", "--format", "json"], root)
    before = json.loads(log.stdout)

    out = run(["import", "mlflow", "--tracking-uri", world.url], root)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "cancer-pickle" in lines[0] and "--trust" in lines[0], out.stderr
    # Nothing half-imported: cancer (readable) is not in the store either.
    assert json.loads(run(["model", "list", "--format", "json"], root).stdout) == []
    after = json.loads(run(["audit", "log", "--format", "json"], root).stdout)
    assert after == before

    out = run(["import", "mlflow", "-u", world.url, "--trust", "--format", "json"], root)
    assert out.returncode == 0, out.stderr
    imported = {(i["model"], i["version"]): i for i in json.loads(out.stdout)["imported"]}
    assert set(imported) == {("cancer", 1), ("cancer", 2), ("cancer-pickle", 1)}
    assert imported[("cancer-pickle", 1)]["trusted"] is True
    assert imported[("cancer", 1)]["trusted"] is False  # skops needs no trust
    shown = json.loads(run(["model", "show", "cancer-pickle@1", "--format", "json"], root).stdout)
    assert (shown["flavour"], shown["tags"]["mlflow.serialization_format"]) == (
        "pickle",
        "cloudpickle",
    )

    listed = run(["promotion-requests", "list", "--format", "json"], root)
    assert [(r["model"], r["version"], r["stage"]) for r in json.loads(listed.stdout)] == [
        ("cancer", 1, "production"),
        ("cancer", 2, "staging"),
    ]
    # --watch keeps importing; each round finds nothing new.
    again = run(
        ["import", "mlflow", "-u", world.url, "--trust", "--watch", "1", "--rounds", "2"], root
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("nothing new") == 2, again.stdout

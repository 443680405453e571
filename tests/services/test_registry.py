from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aims.errors import IntegrityError, InvalidInput, NotFound
from aims.services import audit, lineage, registry


def _register(ws, files, name="cancer", version=1, **kw):
    return registry.register_model(
        ws, files["model"], name, actor="ana@x.org", datasets=[f"cancer@{version}"], **kw
    )


def test_same_data_twice_is_the_same_version(store_workspace, cancer_files) -> None:
    ws = store_workspace
    first, created1 = registry.register_dataset(
        ws, cancer_files["data"], "cancer", actor="ana@x.org"
    )
    second, created2 = registry.register_dataset(
        ws, cancer_files["data"], "cancer", actor="bo@x.org"
    )
    assert created1 and not created2
    assert first["version"] == second["version"] == 1
    assert first["content_hash"] == second["content_hash"]
    third, created3 = registry.register_dataset(
        ws, cancer_files["other"], "cancer", actor="ana@x.org"
    )
    assert created3 and third["version"] == 2
    assert len(registry.list_datasets(ws)) == 2
    assert first["row_count"] == 569


def test_model_version_records_lineage_owners_and_predicts(
    store_workspace, cancer_files, cancer_frame
) -> None:
    ws = store_workspace
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    mv = _register(ws, cancer_files, owners={"development": "ana@x.org"}, params={"C": "1.0"})
    assert mv["version"] == 1 and mv["flavour"] == "skops" and mv["task"] == "classification"
    assert mv["datasets"] == ["cancer@1"] and mv["owners"] == {"development": "ana@x.org"}
    lin = lineage.lineage(ws, "cancer@1")
    assert lin["made_from"][0]["ref"] == "cancer@1" and lin["made_from"][0]["kind"] == "dataset"
    loaded = registry.load_version(ws, registry.show_version(ws, "cancer@1"))
    from skops.io import get_untrusted_types, load

    own = load(cancer_files["model"], trusted=get_untrusted_types(file=cancer_files["model"]))
    features = cancer_frame.drop("target")
    np.testing.assert_array_equal(loaded.predict(features), own.predict(features.to_pandas()))


def test_dataset_lineage_lists_models_made_from_it(workspace, cancer_files) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "train", actor="ana@x.org")
    registry.register_model(
        workspace, cancer_files["model"], "m", actor="ana@x.org", datasets=["train@1"]
    )
    lin = lineage.lineage(workspace, "train@1")
    assert lin["subject"] == "dataset:train@1"
    assert [x["ref"] for x in lin["made_into"]] == ["m@1"]


def test_corrupted_artifact_is_refused_on_load(workspace, cancer_files) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    mv = _register(workspace, cancer_files)
    stored = next(Path(workspace.settings.artifact_url).rglob(mv["artifact_sha256"]))
    blob = bytearray(stored.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    stored.chmod(0o644)
    stored.write_bytes(bytes(blob))
    with pytest.raises(IntegrityError, match=mv["artifact_sha256"][:12]):
        registry.load_version(workspace, registry.show_version(workspace, "cancer@1"))


def test_bad_references_are_clear_and_change_nothing(workspace, cancer_files) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    before = audit.query(workspace.db)
    with pytest.raises(NotFound, match="no version 7"):
        registry.register_model(
            workspace, cancer_files["model"], "m", actor="a", datasets=["cancer@7"]
        )
    with pytest.raises(NotFound, match="not registered"):
        registry.show_version(workspace, "nope@1")
    with pytest.raises(InvalidInput, match="does not parse"):
        registry.show_version(workspace, "cancer@one")
    with pytest.raises(NotFound, match="no such file"):
        registry.register_model(
            workspace, Path("/no/such.skops"), "m", actor="a", datasets=["cancer@1"]
        )
    with pytest.raises(NotFound, match="no such file"):
        registry.register_dataset(workspace, Path("/no/such.parquet"), "d", actor="a")
    assert audit.query(workspace.db) == before
    assert registry.list_models(workspace) == []


def test_non_model_file_is_refused(workspace, cancer_files, tmp_path) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    fake = tmp_path / "fake.skops"
    pl.DataFrame({"a": [1, 2]}).write_csv(fake)
    with pytest.raises(InvalidInput):
        registry.register_model(workspace, fake, "m", actor="a", datasets=["cancer@1"])
    assert registry.list_models(workspace) == []


def test_pickle_needs_trust_and_trust_is_audited(workspace, cancer_files, tmp_path) -> None:
    import pickle

    from skops.io import get_untrusted_types, load

    from aims.errors import PermissionDenied

    own = load(cancer_files["model"], trusted=get_untrusted_types(file=cancer_files["model"]))
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(own))
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    with pytest.raises(PermissionDenied, match="--trust"):
        registry.register_model(workspace, path, "p", actor="a", datasets=["cancer@1"])
    mv = registry.register_model(workspace, path, "p", actor="a", datasets=["cancer@1"], trust=True)
    assert mv["trusted"] is True
    events = audit.query(workspace.db, audit.EventFilter(action="model.register"))
    assert events[-1]["payload"]["trusted"] is True


def test_dataset_breaking_its_contract_is_refused_and_audited(
    workspace, cancer_files, tmp_path
) -> None:
    from aims.core.contract import infer_contract, write_contract
    from aims.errors import ContractViolation

    contract = write_contract(
        infer_contract(cancer_files["data"], name="cancer", margin=0.0, range_severity="error"),
        tmp_path / "c.yaml",
    )
    ok, _ = registry.register_dataset(
        workspace, cancer_files["data"], "cancer", actor="ana@x.org", contract_path=contract
    )
    assert ok["has_contract"]
    bad = tmp_path / "bad.parquet"
    frame = pl.read_parquet(cancer_files["data"])
    frame.with_columns(pl.col("mean_radius") * 100).write_parquet(bad)
    with pytest.raises(ContractViolation, match="mean_radius") as info:
        registry.register_dataset(
            workspace, bad, "cancer", actor="ana@x.org", contract_path=contract
        )
    assert any(f["rule"] == "range" and f["failing_rows"] > 0 for f in info.value.failures)
    assert len(registry.list_datasets(workspace)) == 1
    refused = audit.query(workspace.db, audit.EventFilter(action="dataset.register.refused"))
    assert refused[-1]["payload"]["failed_rules"][0]["column"] == "mean_radius"


def test_model_version_records_an_input_contract(workspace, cancer_files) -> None:
    from aims.core.contract import parse_contract

    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    _register(workspace, cancer_files)
    from aims.refs import parse_ref
    from aims.services.registry import get_model_version

    with workspace.db.session() as s:
        text = get_model_version(s, parse_ref("cancer@1")).input_contract
    contract = parse_contract(text)
    assert "mean_radius" in contract.table().names and "target" not in contract.table().names


def test_lineage_exports_as_an_openlineage_run_event(workspace, cancer_files) -> None:
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    _register(workspace, cancer_files)
    event = lineage.openlineage_event(workspace, "cancer@1")
    assert event["eventType"] == "COMPLETE" and event["schemaURL"].endswith(
        "#/definitions/RunEvent"
    )
    assert [i["name"] for i in event["inputs"]] == ["cancer@1"]
    fields = {f["name"] for f in event["inputs"][0]["facets"]["schema"]["fields"]}
    assert "mean_radius" in fields and event["outputs"][0]["name"] == "model:cancer@1"
    assert lineage.openlineage_event(workspace, "cancer@1")["run"] == event["run"]


def test_a_refused_dataset_leaves_no_personal_data_in_the_audit_log(workspace, tmp_path) -> None:
    import json

    from aims.core.contract import infer_contract, write_contract
    from aims.errors import ContractViolation

    clean = tmp_path / "people.parquet"
    pl.DataFrame(
        {"email": [f"user{i}@corp.example" for i in range(50)], "age": list(range(20, 70))}
    ).write_parquet(clean)
    contract = infer_contract(clean, name="people", margin=0.0)
    contract.column("email").pii = "hash"
    path = write_contract(contract, tmp_path / "people.yaml")
    bad = tmp_path / "bad.parquet"
    secret = "secret.person.with.a.long.name@corp.example"
    pl.read_parquet(clean).with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit(secret)).otherwise("email").alias("email"),
        pl.when(pl.int_range(pl.len()) == 9).then(200).otherwise("age").alias("age"),
    ).write_parquet(bad)
    with pytest.raises(ContractViolation) as info:
        registry.register_dataset(workspace, bad, "people", actor="ana@x.org", contract_path=path)
    failed = {(f["rule"], f["column"]): f for f in info.value.failures}
    assert failed[("length", "email")]["examples"] == [
        {"row": 7, "value": None, "redacted": "personal data"}
    ]
    # A column that is not personal data keeps its example value.
    assert failed[("range", "age")]["examples"] == [{"row": 9, "value": 200}]
    refused = audit.query(workspace.db, audit.EventFilter(action="dataset.register.refused"))
    assert refused and secret not in json.dumps(refused)

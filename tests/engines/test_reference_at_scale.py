"""A model version's monitoring reference from a merged profile: the training rows are never read."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from aims.core.profile import dumps, loads
from aims.errors import InvalidInput
from aims.services import registry
from aims.services.engines.profile_files import write_profile
from aims.services.engines.profiling import profile_sources
from aims.services.monitor.reference import build_reference, version_facts
from aims.services.monitor.triggers import MonitoringPolicy
from aims.storage.schema import DatasetVersion, ModelVersion
from tests.server.governance_team import Team, team, upload_dataset

__all__ = ["team"]  # the fixture, imported to be used here


def test_a_model_trained_on_a_profiled_lake_is_monitored_against_that_profile(
    workspace, cancer_files, cancer_frame: pl.DataFrame, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    for i, part in enumerate(cancer_frame.iter_slices(150)):
        (lake / f"chunk={i}").mkdir(parents=True)
        part.write_parquet(lake / f"chunk={i}" / "rows.parquet")
    merged = profile_sources([str(lake)])  # what a cluster would compute
    path = tmp_path / "train.profile"
    write_profile(merged, str(path))

    data, created = registry.register_dataset(workspace, path, "cancer-lake", actor="ana@x.org")
    assert created and data["row_count"] == cancer_frame.height
    again, created = registry.register_dataset(workspace, path, "cancer-lake", actor="ana@x.org")
    assert not created and again["version"] == data["version"]
    registry.register_model(
        workspace,
        cancer_files["model"],
        "cancer",
        actor="ana@x.org",
        datasets=["cancer-lake@1"],
        owners={"deployment": "d@x.org", "monitoring": "m@x.org"},
    )
    with workspace.db.session() as s:
        mv = s.scalar(select(ModelVersion))
        facts = version_facts(s, mv)
    ref = build_reference(workspace, facts, MonitoringPolicy())
    assert ref.inputs is not None
    features = [c for c in cancer_frame.columns if c != "target"]
    assert list(ref.inputs.columns) == features
    for name in features:
        assert dumps_column(ref.inputs, name) == dumps_column(merged, name)
    # no rows to run the model on: the label's distribution stands in, and a note says why
    assert ref.outputs_source == "label"
    assert any("registered as a profile" in n for n in ref.notes)


def dumps_column(profile, name: str) -> dict:
    return profile.columns[name].to_dict()


def test_a_profile_with_a_contract_is_refused(workspace, tmp_path: Path) -> None:
    path = tmp_path / "p.profile"
    write_profile(profile_sources_of(tmp_path), str(path))
    contract = tmp_path / "c.yaml"
    contract.write_text("apiVersion: v3.0.0\n")
    with pytest.raises(InvalidInput, match="contract is checked against rows"):
        registry.register_dataset(workspace, path, "p", actor="ana@x.org", contract_path=contract)
    assert registry.list_datasets(workspace) == []


def profile_sources_of(folder: Path):
    data = folder / "d.parquet"
    pl.DataFrame({"x": [1.0, 2.0, 3.0]}).write_parquet(data)
    prof = profile_sources([str(data)])
    assert dumps(prof)
    return prof


def test_a_profile_file_uploaded_to_the_server_registers_a_dataset(
    team: Team, cancer_frame: pl.DataFrame, tmp_path: Path
) -> None:
    merged = profile_sources_of(tmp_path)
    path = tmp_path / "train.profile"
    write_profile(merged, str(path))
    broken = tmp_path / "broken.profile"
    broken.write_bytes(b"not a profile at all")

    with team.client("vic@x.org") as viewer:
        refused = upload_dataset(viewer, path, "lake-train")
    assert refused.status_code == 403, refused.text
    with team.client("ana@x.org") as c:
        bad = upload_dataset(c, broken, "lake-train")
        assert bad.status_code == 422, bad.text
        # the message names the file as sent, never the server's temporary copy
        assert "broken.profile: not an aims profile file" in bad.json()["detail"]
        assert registry.list_datasets(team.ws) == []

        first = upload_dataset(c, path, "lake-train")
        assert first.status_code == 201, first.text
        doc = first.json()
        assert doc["created"] is True
        assert (doc["name"], doc["version"], doc["row_count"]) == ("lake-train", 1, merged.rows)
        again = upload_dataset(c, path, "lake-train")
        assert again.status_code == 200, again.text
        assert again.json()["created"] is False and again.json()["version"] == 1
        listed = c.get("/v1/datasets").json()
    assert [(d["name"], d["version"]) for d in listed] == [("lake-train", 1)]
    with team.ws.db.session() as s:
        dv = s.scalar(select(DatasetVersion))
        assert dv is not None
        stored, source = dv.profile, dv.source
    assert source == "upload:train.profile"
    assert stored is not None and loads(stored).to_dict() == merged.to_dict()
    assert team.uploads_left() == []

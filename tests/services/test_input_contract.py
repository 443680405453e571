"""A model version's input contract holds what the model reads, never its label."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from aims.core.contract import infer_contract, parse_contract, validate_records, write_contract
from aims.errors import Conflict, InvalidInput
from aims.services import audit, registry


@pytest.fixture
def with_region(tmp_path: Path, cancer_frame: pl.DataFrame) -> Path:
    """The training data plus a column the model never reads."""
    path = tmp_path / "train.parquet"
    regions = ["north", "south", "east"] * (cancer_frame.height // 3 + 1)
    cancer_frame.with_columns(pl.Series("region", regions[: cancer_frame.height])).write_parquet(
        path
    )
    return path


def _input_contract(ws, ref: str):
    with ws.db.session() as s:
        from aims.refs import parse_ref

        mv = registry.get_model_version(s, parse_ref(ref))
        return parse_contract(mv.input_contract, source=ref)


def test_contract_without_a_label_still_leaves_the_label_out(
    workspace, cancer_files, with_region, tmp_path
) -> None:
    # The contract is inferred without --label: it describes every column as required.
    contract_file = tmp_path / "train.odcs.yaml"
    write_contract(infer_contract(with_region, name="train"), contract_file)
    registry.register_dataset(
        workspace, with_region, "train", actor="ana@x.org", contract_path=contract_file
    )
    mv = registry.register_model(
        workspace, cancer_files["model"], "m", actor="ana@x.org", datasets=["train@1"]
    )
    contract = _input_contract(workspace, "m@1")
    assert contract.table().names == mv["features"]
    assert "target" not in contract.table().names and "region" not in contract.table().names
    note = mv["input_contract_note"]
    assert "30 of the 32 columns of train@1's contract" in note
    assert "target (not read by the model)" in note and "region (not read" in note
    # The rules of the kept columns are the dataset contract's, not inferred afresh.
    source = parse_contract(contract_file.read_text(), source="file")
    assert contract.column("mean_radius").maximum == source.column("mean_radius").maximum
    # A request with only the model's features passes.
    frame = pl.read_parquet(with_region).drop("target", "region").head(3)
    assert validate_records(contract, frame.to_dicts()) == []
    event = audit.query(workspace.db, audit.EventFilter(action="model.register"))[-1]
    assert event["payload"]["input_contract_note"] == note


def test_a_marked_label_is_named_as_such(workspace, cancer_files, with_region, tmp_path) -> None:
    contract_file = tmp_path / "train.odcs.yaml"
    write_contract(infer_contract(with_region, name="train", label="target"), contract_file)
    registry.register_dataset(
        workspace, with_region, "train", actor="ana@x.org", contract_path=contract_file
    )
    mv = registry.register_model(
        workspace, cancer_files["model"], "m", actor="ana@x.org", datasets=["train@1"]
    )
    assert "target (label)" in mv["input_contract_note"]


def test_a_model_reading_columns_the_contract_lacks_is_refused(
    workspace, cancer_files, cancer_frame, tmp_path
) -> None:
    narrow = tmp_path / "narrow.parquet"
    cancer_frame.select("mean_radius", "target").write_parquet(narrow)
    registry.register_dataset(workspace, narrow, "narrow", actor="ana@x.org")
    with pytest.raises(InvalidInput, match="--contract FILE") as err:
        registry.register_model(
            workspace, cancer_files["model"], "m", actor="ana@x.org", datasets=["narrow@1"]
        )
    assert "'mean_texture'" in str(err.value)
    assert registry.list_models(workspace) == []


def test_same_file_with_another_contract_is_refused_not_ignored(
    workspace, with_region, tmp_path
) -> None:
    loose = tmp_path / "loose.odcs.yaml"
    strict = tmp_path / "strict.odcs.yaml"
    write_contract(infer_contract(with_region, name="train"), loose)
    write_contract(infer_contract(with_region, name="train", label="target"), strict)
    registry.register_dataset(
        workspace, with_region, "train", actor="ana@x.org", contract_path=loose
    )
    # Same file, same contract: the existing version. Without a contract: also.
    _, created = registry.register_dataset(
        workspace, with_region, "train", actor="ana@x.org", contract_path=loose
    )
    assert not created
    _, created = registry.register_dataset(workspace, with_region, "train", actor="ana@x.org")
    assert not created
    with pytest.raises(Conflict, match=r"train@1 already holds this file.*--contract"):
        registry.register_dataset(
            workspace, with_region, "train", actor="ana@x.org", contract_path=strict
        )
    [only] = registry.list_datasets(workspace)
    assert only["version"] == 1

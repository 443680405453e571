"""The reference a version's windows are judged against."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import select

from aims.services import registry
from aims.services.monitor.reference import build_reference, version_facts
from aims.services.monitor.triggers import parse_monitoring
from aims.storage.schema import ModelVersion
from tests.services.monitor.conftest import FEATURES, OWNERS


def _reference(ws, version: int = 1):
    with ws.db.session() as s:
        mv = s.scalar(select(ModelVersion).where(ModelVersion.version == version))
        facts = version_facts(s, mv, "minimal")
    return build_reference(ws, facts, parse_monitoring({}))


def test_reference_predictions_are_the_models_own_on_its_training_rows(served, synthetic) -> None:
    import polars as pl

    ref = _reference(served)
    assert (ref.task, ref.classes, ref.features, ref.label) == (
        "classification",
        ["0", "1"],
        FEATURES,
        "y",
    )
    assert ref.outputs_source == "model" and ref.notes == []
    assert ref.baseline == {"accuracy": synthetic.accuracy}
    assert (ref.owner, ref.tier) == ("oncall@example.org", "minimal")
    train = pl.read_parquet(synthetic.data)
    predicted = synthetic.model.predict(train.select(FEATURES).to_pandas())
    counts = dict(zip(*np.unique(predicted.astype(str), return_counts=True), strict=True))
    assert ref.outputs["prediction"].frequencies() == {k: int(v) for k, v in counts.items()}  # type: ignore[index]
    assert ref.null_shares == dict.fromkeys(FEATURES, 0.0)
    cached = list((served.settings.state_dir / "monitor" / "reference").iterdir())
    assert len(cached) == 1
    again = _reference(served)  # from the cache: the same profile
    assert again.outputs.to_dict() == ref.outputs.to_dict()  # type: ignore[union-attr]


def _register_from_a_copy(ws, synthetic, tmp_path: Path) -> Path:
    copy = tmp_path / "train_copy.parquet"
    shutil.copy(synthetic.data, copy)
    registry.register_dataset(ws, copy, "gone", actor="ana@example.org")
    registry.register_model(
        ws,
        synthetic.model_path,
        "gone",
        actor="ana@example.org",
        datasets=["gone@1"],
        owners=OWNERS,
    )
    return copy


def test_a_training_file_removed_since_registration_is_read_from_the_store(
    workspace, synthetic, tmp_path: Path
) -> None:
    _register_from_a_copy(workspace, synthetic, tmp_path).unlink()
    ref = _reference(workspace)
    assert ref.outputs_source == "model" and not ref.notes
    assert ref.outputs is not None and ref.outputs.rows > 0


def test_without_the_training_file_the_label_stands_in(
    workspace, synthetic, tmp_path: Path
) -> None:
    from aims.services.datasets import file_sha256

    copy = _register_from_a_copy(workspace, synthetic, tmp_path)
    # Neither the recorded file nor the store's copy of it is left to read.
    Path(workspace.artifacts.key(file_sha256(copy))).unlink()
    copy.unlink()
    ref = _reference(workspace)
    assert ref.outputs_source == "label"
    assert ref.inputs is not None and ref.baseline == {}  # the stored profile still serves
    import polars as pl

    labels = pl.read_parquet(synthetic.data)["y"].value_counts()
    expected = {str(v): int(n) for v, n in labels.iter_rows()}
    assert ref.outputs["prediction"].frequencies() == expected  # type: ignore[index]


def test_a_damaged_artifact_stops_the_models_pass_with_the_hash_error(served, synthetic) -> None:
    import os
    import stat

    from aims.services.monitor import run_once
    from aims.storage.schema import MonitorWindow
    from tests.services.monitor.conftest import HOUR, T0, Traffic

    traffic = Traffic(served, synthetic.model, seed=41)
    traffic.window(T0, 50)
    traffic.close()
    with served.db.session() as s:
        sha = s.scalar(select(ModelVersion.artifact_sha256))
    path = Path(served.artifacts.key(sha))
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    summary = run_once(served, now=T0 + 2 * HOUR)
    assert summary.windows == 0
    assert len(summary.errors) == 1
    assert (
        summary.errors[0].startswith(f"syn: artifact {sha}") and "is damaged" in summary.errors[0]
    )
    with served.db.session() as s:
        assert s.scalars(select(MonitorWindow)).all() == []


def test_an_unreadable_input_contract_is_a_note_and_the_label_still_found(served) -> None:
    with served.db.session() as s:
        mv = s.scalar(select(ModelVersion).where(ModelVersion.version == 1))
        assert mv is not None and mv.input_contract  # registration stored one
        mv.input_contract = "apiVersion: [unclosed"
    ref = _reference(served)
    assert ref.contract is None
    assert len(ref.notes) == 1
    assert ref.notes[0].startswith("input contract of v1 unreadable (")
    assert ref.notes[0].endswith("data health is not checked")
    assert ref.label == "y"

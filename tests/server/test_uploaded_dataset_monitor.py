"""A model trained on a dataset registered by upload is monitored as one trained on a
local file: its training rows are read from the dataset's stored copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from skops.io import load
from sqlalchemy import select

from aims.services import registry
from aims.services.monitor import run_once
from aims.storage.predlog import PredictionLogWriter
from aims.storage.schema import DatasetVersion, Model, ModelVersion, MonitorWindow
from tests.server.governance_team import Team, team, upload_dataset, upload_model

__all__ = ["team"]  # the fixture, imported to be used here

T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _log(ws: Any, name: str, frame: pl.DataFrame, model: Any) -> None:
    inputs = frame.drop("target")
    proba = model.predict_proba(inputs.to_pandas())
    writer = PredictionLogWriter(ws.settings.prediction_log_url, flush_interval=3600)
    try:
        writer.append(
            name,
            1,
            "production",
            inputs.to_dicts(),
            proba.argmax(axis=1).tolist(),
            scores=proba[:, 1].tolist(),
            proba=proba.tolist(),
            ts=T0 + timedelta(minutes=10),
        )
    finally:
        writer.close()


def _window(ws: Any, name: str) -> dict[str, Any]:
    with ws.db.session() as s:
        [window] = s.scalars(
            select(MonitorWindow)
            .join(Model)
            .where(Model.name == name, MonitorWindow.role == "production")
        ).all()
        return dict(window.results)


def test_the_monitor_reads_the_training_rows_of_an_uploaded_dataset(
    team: Team, cancer_files: dict[str, Path]
) -> None:
    data, model_file = cancer_files["data"], cancer_files["model"]
    with team.client("ana@x.org") as c:
        assert upload_dataset(c, data, "cancer").status_code == 201
        assert upload_model(c, model_file, "biopsy").status_code == 201
    ws = team.ws
    # The same file and model registered where the file is, for comparison.
    registry.register_dataset(ws, data, "cancer_local", actor="ana@x.org")
    registry.register_model(
        ws, model_file, "biopsy_local", actor="ana@x.org", datasets=["cancer_local@1"]
    )
    with ws.db.session() as s:
        sources = sorted(s.scalars(select(DatasetVersion.source)))
    assert sources[-1] == "upload:cancer.parquet"  # the uploaded file itself is gone
    model = _skops(model_file)
    frame = pl.read_parquet(data).head(200)
    for name in ("biopsy", "biopsy_local"):
        _log(ws, name, frame, model)
    summary = run_once(ws, now=T0 + timedelta(hours=2))
    assert summary.windows == 2, summary
    uploaded, local = _window(ws, "biopsy"), _window(ws, "biopsy_local")
    for results in (uploaded, local):
        values = results["values"]
        assert values["mean_confidence"] is not None and values["score_psi"] is not None
    assert uploaded["values"] == local["values"]
    assert uploaded["drift"] == local["drift"]
    # The input contract is inferred from the stored copy too, with the same rules.
    with ws.db.session() as s:
        rows = s.execute(select(Model.name, ModelVersion.input_contract).join(Model))
        contracts = dict(rows.tuples().all())
    assert contracts["biopsy"] is not None and contracts["biopsy_local"] is not None
    assert _schema(contracts["biopsy"]) == _schema(contracts["biopsy_local"])


def _schema(text: str) -> Any:
    import yaml

    # The table is named after the dataset; its columns' rules are what must agree.
    return [table["properties"] for table in yaml.safe_load(text)["schema"]]


def _skops(path: Path) -> Any:
    from skops.io import get_untrusted_types

    return load(path, trusted=get_untrusted_types(file=path))

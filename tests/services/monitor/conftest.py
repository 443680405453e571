"""Generated traffic with known change points, logged through the prediction log writer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from aims.services import lifecycle, registry
from aims.storage.predlog import LabelStore, PredictionLogWriter
from aims.workspace import Workspace

FEATURES = ["x0", "x1", "x2", "x3", "region"]
NUMERIC = ["x0", "x1", "x2", "x3"]
OWNERS = {"monitoring": "oncall@example.org", "deployment": "dep@example.org"}
T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, midnight UTC
HOUR = timedelta(hours=1)


def generate(
    rng: np.random.Generator,
    n: int,
    *,
    shift: dict[str, float] | None = None,
    concept: bool = False,
    nulls: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Inputs and a label; ``shift`` moves feature means (in sd), ``concept`` flips x0's effect."""
    x = rng.normal(0.0, 1.0, (n, 4))
    for name, delta in (shift or {}).items():
        x[:, NUMERIC.index(name)] += delta
    region = rng.choice(np.array(["north", "south", "west"]), n, p=[0.5, 0.3, 0.2])
    sign = -1.0 if concept else 1.0
    logit = sign * 2.0 * x[:, 0] - 1.0 * x[:, 1] + 0.5 * x[:, 2] + 0.5 * (region == "north")
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    frame = pl.DataFrame(
        {"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "x3": x[:, 3], "region": region, "y": y}
    )
    if nulls:
        frame = frame.with_columns([pl.lit(None, pl.Float64).alias(c) for c in nulls])
    return frame


@dataclass(frozen=True)
class Synthetic:
    data: Path
    model_path: Path
    model: Any
    accuracy: float


def make_synthetic(folder: Path) -> Synthetic:
    """Training data, a fitted pipeline stored as skops, and its hold-out accuracy."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from skops.io import dump

    rng = np.random.default_rng(7)
    train = generate(rng, 6000)
    train.write_parquet(folder / "train.parquet")
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(train.select(FEATURES).to_pandas(), train["y"].to_numpy())
    dump(model, folder / "model.skops")
    holdout = generate(np.random.default_rng(8), 20_000)
    accuracy = float(
        (model.predict(holdout.select(FEATURES).to_pandas()) == holdout["y"].to_numpy()).mean()
    )
    return Synthetic(folder / "train.parquet", folder / "model.skops", model, accuracy)


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    return make_synthetic(tmp_path_factory.mktemp("synthetic"))


def configure(ws: Workspace, monitoring: dict[str, Any] | None = None, **monitor: Any) -> Workspace:
    """Write ``policy.monitoring`` and ``monitor:`` into aims.yaml and reopen the workspace."""
    path = ws.root / "aims.yaml"
    config = yaml.safe_load(path.read_text())
    if monitoring is not None:
        config["policy"]["monitoring"] = monitoring
    if monitor:
        config["monitor"] = monitor
    path.write_text(yaml.safe_dump(config))
    ws.close()
    return Workspace.open(ws.root)


def serve(workspace: Workspace, synthetic: Synthetic) -> Workspace:
    """Register the synthetic data and model as ``syn`` v1 and put it in production."""
    registry.register_dataset(workspace, synthetic.data, "syn", actor="ana@example.org")
    registry.register_model(
        workspace,
        synthetic.model_path,
        "syn",
        actor="ana@example.org",
        datasets=["syn@1"],
        owners=OWNERS,
        metrics={"accuracy": synthetic.accuracy},
    )
    lifecycle.promote(workspace, "syn@1", "production", actor="ops@example.org")
    return workspace


@pytest.fixture
def served(workspace: Workspace, synthetic: Synthetic) -> Workspace:
    """A workspace with model ``syn`` v1 in production, trained on the synthetic data."""
    return serve(workspace, synthetic)


@pytest.fixture
def served_store(store_workspace: Workspace, synthetic: Synthetic) -> Workspace:
    """As ``served``, on SQLite and on the real PostgreSQL server."""
    return serve(store_workspace, synthetic)


@dataclass
class Traffic:
    """Writes windows of predictions (made by the real model) to the log; keeps labels to send later."""

    ws: Workspace
    model: Any
    name: str = "syn"
    seed: int = 0
    labels: list[pl.DataFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.writer = PredictionLogWriter(self.ws.settings.prediction_log_url, flush_interval=3600)

    def window(
        self,
        start: datetime,
        n: int,
        *,
        version: int = 1,
        role: str = "production",
        predict: Callable[[pl.DataFrame], np.ndarray] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        data = generate(self.rng, n, **kwargs)
        inputs = data.select(FEATURES)
        # The serving pipeline imputes a missing input with its training mean (0).
        filled = inputs.with_columns(pl.col(NUMERIC).fill_null(0.0)).to_pandas()
        proba = self.model.predict_proba(filled) if predict is None else predict(inputs)
        ids = []
        # four requests per window, spread over it
        for i, part in enumerate(np.array_split(np.arange(n), 4)):
            rows = inputs[part.tolist()]
            p = proba[part]
            ids += self.writer.append(
                self.name,
                version,
                role,
                rows.to_dicts(),
                p.argmax(axis=1).tolist(),
                scores=p[:, 1].tolist(),
                proba=p.tolist(),
                ts=start + timedelta(minutes=5 + 15 * i),
            )
        self.labels.append(pl.DataFrame({"prediction_id": ids, "label": data["y"]}))
        return ids

    def close(self) -> None:
        self.writer.close()

    def send_labels(self) -> None:
        store = LabelStore(self.ws.settings.prediction_log_url)
        store.ingest(self.name, pl.concat(self.labels))
        self.labels.clear()

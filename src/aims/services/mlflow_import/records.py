"""The common shape every MLflow reader returns, whatever it read from.

A tracking server's REST API, an ``mlflow.db`` file and an ``mlruns`` folder
each describe registered models, their versions and the runs that made them
in their own way; each reader turns its own into these records, so the one
importer (:mod:`aims.services.mlflow_import.importer`) never knows where they
came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "DatasetInput",
    "MlflowSource",
    "ModelRecord",
    "RunRecord",
    "VersionRecord",
    "colspec_schema",
    "from_millis",
    "latest_metrics",
    "profile_rows",
]


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run logged with ``mlflow.log_input``: MLflow keeps its description, not its rows."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: dict[str, str]
    rows: int | None
    context: str | None
    """``training``, ``evaluation``... as the run tagged it (``mlflow.data.context``)."""


@dataclass(frozen=True)
class RunRecord:
    """The run that made a model version."""

    run_id: str
    experiment_id: str
    run_name: str
    user: str
    params: dict[str, str]
    metrics: dict[str, float]
    """The latest value of each metric (highest step, then newest)."""
    tags: dict[str, str]
    datasets: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True)
class VersionRecord:
    """One version of a registered model."""

    model: str
    version: int
    created_at: datetime
    stage: str
    """MLflow's (deprecated) stage: ``None``, ``Staging``, ``Production`` or ``Archived``."""
    status: str
    run_id: str | None
    source: str
    artifact_location: str
    """Where the model's files are (``mlflow-artifacts:/...``, ``file:///...``)."""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRecord:
    """A registered model with its versions (oldest first) and aliases."""

    name: str
    aliases: dict[str, int]
    versions: tuple[VersionRecord, ...]
    tags: dict[str, str] = field(default_factory=dict)


class MlflowSource(Protocol):
    """What a reader offers the importer."""

    description: str
    """Where the records come from, for messages and the audit log (no secrets)."""

    def models(self, name: str | None = None) -> list[ModelRecord]:
        """Registered models (only ``name`` when given), sorted by name."""
        ...

    def run(self, run_id: str) -> RunRecord | None:
        """The run ``run_id``, or None when the tracking store no longer has it."""
        ...

    def read_artifact(self, location: str, path: str) -> bytes:
        """The file ``path`` below the artifact ``location`` of a version."""
        ...


def from_millis(ms: int | float | str | None) -> datetime:
    """MLflow's epoch milliseconds as an aware UTC datetime (epoch when missing).

    Examples
    --------
    >>> from_millis(1700000000000).isoformat()
    '2023-11-14T22:13:20+00:00'
    """
    return datetime.fromtimestamp(int(ms or 0) / 1000, tz=UTC)


def latest_metrics(rows: Iterable[tuple[str, float, int, int]]) -> dict[str, float]:
    """The latest value of each metric from ``(key, value, timestamp, step)`` rows.

    MLflow's own rule: the highest step wins, then the newest timestamp, then
    the largest value. Non-finite values (NaN, infinity) are left out: JSON,
    in which aims stores metrics, cannot hold them.

    Examples
    --------
    >>> latest_metrics([("acc", 0.8, 10, 0), ("acc", 0.9, 5, 1), ("loss", 0.3, 1, 0)])
    {'acc': 0.9, 'loss': 0.3}
    """
    best: dict[str, tuple[int, int, float]] = {}
    for key, value, timestamp, step in rows:
        candidate = (int(step or 0), int(timestamp or 0), float(value))
        if key not in best or candidate > best[key]:
            best[key] = candidate
    return {k: v[2] for k, v in sorted(best.items()) if math.isfinite(v[2])}


def colspec_schema(text: str | None) -> dict[str, str]:
    """Column names and MLflow types from a dataset's schema JSON (``mlflow_colspec``).

    Examples
    --------
    >>> colspec_schema('{"mlflow_colspec": [{"type": "double", "name": "x"}]}')
    {'x': 'double'}
    >>> colspec_schema(None)
    {}
    """
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    cols = doc.get("mlflow_colspec") if isinstance(doc, Mapping) else None
    if not isinstance(cols, list):
        return {}
    return {
        str(c.get("name", f"col{i}")): str(c.get("type", "unknown"))
        for i, c in enumerate(cols)
        if isinstance(c, Mapping)
    }


def profile_rows(text: str | None) -> int | None:
    """``num_rows`` from a dataset's profile JSON, when MLflow recorded one.

    Examples
    --------
    >>> profile_rows('{"num_rows": 569, "num_elements": 17639}')
    569
    """
    if not text:
        return None
    try:
        doc: Any = json.loads(text)
    except ValueError:
        return None
    rows = doc.get("num_rows") if isinstance(doc, Mapping) else None
    return int(rows) if isinstance(rows, int | float) else None

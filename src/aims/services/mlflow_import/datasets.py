"""MLflow's dataset inputs as aims dataset versions: the lineage of an imported model.

MLflow keeps what a run logged with ``mlflow.log_input`` as a description (a
name, MLflow's digest of the rows, a source and a schema), never the rows. An
imported dataset version therefore holds that description: no file, no
reference profile, and as content hash the sha256 of MLflow's record.
"""

from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.refs import NAME_RE
from aims.services import audit
from aims.services.mlflow_import.records import DatasetInput
from aims.storage.schema import Dataset, DatasetVersion

__all__ = ["TRAINING_CONTEXTS", "dataset_hash", "dataset_name", "dataset_version"]

TRAINING_CONTEXTS = (None, "", "train", "training")
"""Dataset inputs that are lineage (a model is made from them); evaluation sets are not."""


def dataset_name(mlflow_name: str) -> str:
    """An aims dataset name for an MLflow dataset name (which may hold spaces and more).

    Examples
    --------
    >>> dataset_name("cancer train (2024)")
    'cancer-train-2024'
    >>> dataset_name("")
    'mlflow-dataset'
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", mlflow_name).strip("-._")[:200]
    return name if NAME_RE.match(name) else "mlflow-dataset"


def dataset_hash(ds: DatasetInput) -> str:
    """The content hash aims gives an MLflow dataset: sha256 of its MLflow record.

    MLflow stores a dataset's name, digest (its own hash of the data), source
    and schema, not the rows, so the record is what aims can pin; the same
    dataset logged by several runs gets the same hash, hence one version.
    """
    record = {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def dataset_version(
    s: Session, ds: DatasetInput, *, actor: str, project: str
) -> tuple[DatasetVersion, bool]:
    name = dataset_name(ds.name)
    digest = dataset_hash(ds)
    dataset = s.scalar(select(Dataset).where(Dataset.name == name))
    now = audit.now_utc()
    if dataset is None:
        dataset = Dataset(name=name, project=project, created_by=actor, created_at=now)
        s.add(dataset)
        s.flush()
    same = s.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.content_hash == digest
        )
    )
    if same is not None:
        return same, False
    version = max((d.version for d in dataset.versions), default=0) + 1
    dv = DatasetVersion(
        dataset=dataset,
        version=version,
        content_hash=digest,
        source=f"mlflow:{ds.source_type}:{ds.source}",
        schema=dict(ds.schema),
        row_count=ds.rows or 0,
        contract=None,
        profile=None,
        artifact_sha256=None,
        created_by=actor,
        created_at=now,
    )
    s.add(dv)
    s.flush()
    audit.record(
        s,
        actor=actor,
        action="dataset.register",
        subject=f"dataset:{name}@{version}",
        payload={
            "content_hash": digest,
            "imported_from": "mlflow",
            "mlflow_dataset": ds.name,
            "mlflow_digest": ds.digest,
            "source": dv.source,
            "row_count": dv.row_count,
        },
    )
    return dv, True

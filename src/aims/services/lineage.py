"""Lineage: which data made a model version, and which versions a dataset made.

:func:`lineage` reads the links the registry stores between model versions
and dataset versions; :func:`openlineage_event` states one version's lineage
as an OpenLineage run event, so lineage tools can import it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aims.refs import parse_ref
from aims.services.registry import get_dataset_version, get_model_version
from aims.storage.schema import Model, ModelVersion, ModelVersionDataset
from aims.workspace import Workspace


def lineage(ws: Workspace, text: str) -> dict[str, Any]:
    """What ``NAME@VERSION`` was made from and what was made from it.

    The name is looked up as a model first, then as a dataset.
    """
    ref = parse_ref(text)
    with ws.db.session() as s:
        if s.scalar(select(Model).where(Model.name == ref.name)) is not None:
            mv = get_model_version(s, ref)
            later = [
                v for v in mv.model.versions if v.tags.get("retrained_from") == str(mv.version)
            ]
            return {
                "subject": f"model:{mv.model.name}@{mv.version}",
                "stage": mv.stage,
                "made_from": [
                    {
                        "kind": "dataset",
                        "ref": f"{d.dataset.name}@{d.version}",
                        "content_hash": d.content_hash,
                        "source": d.source,
                        "rows": d.row_count,
                    }
                    for d in mv.inputs
                ]
                + [{"kind": "code", "ref": mv.git_commit}] * bool(mv.git_commit),
                "made_into": [
                    {"kind": "model", "ref": f"{mv.model.name}@{v.version}", "stage": v.stage}
                    for v in later
                ],
            }
        dv = get_dataset_version(s, ref)
        users = s.scalars(
            select(ModelVersion)
            .join(ModelVersionDataset, ModelVersionDataset.model_version_id == ModelVersion.id)
            .where(ModelVersionDataset.dataset_version_id == dv.id)
            .order_by(ModelVersion.id)
        ).all()
        return {
            "subject": f"dataset:{dv.dataset.name}@{dv.version}",
            "made_from": [{"kind": "file", "ref": dv.source, "content_hash": dv.content_hash}],
            "made_into": [
                {"kind": "model", "ref": f"{m.model.name}@{m.version}", "stage": m.stage}
                for m in users
            ],
        }


def openlineage_event(ws: Workspace, text: str) -> dict[str, Any]:
    """The training of a model version as an OpenLineage ``RunEvent`` (spec 2-0-2).

    Inputs are the dataset versions with their schema; the output is the model
    version. The run id is derived from the version, so re-exporting is stable.
    """
    import uuid

    ref = parse_ref(text)
    namespace = f"aims://{ws.settings.project}"
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        inputs = [
            {
                "namespace": namespace,
                "name": f"{d.dataset.name}@{d.version}",
                "facets": {
                    "schema": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                        "fields": [{"name": k, "type": v} for k, v in d.schema.items()],
                    }
                },
            }
            for d in mv.inputs
        ]
        name = f"{mv.model.name}@{mv.version}"
        event_time = mv.created_at.isoformat()
        run_facets: dict[str, Any] = {}
        if mv.git_commit:
            run_facets["aims_code"] = {
                "_producer": PRODUCER,
                "_schemaURL": f"{PRODUCER}/spec/code.json",
                "git_commit": mv.git_commit,
            }
        tags = mv.tags or {}
        if tags.get("mlflow.run_id"):
            # An imported version: the MLflow run that trained it (see aims import mlflow).
            run_facets["aims_mlflow_run"] = {
                "_producer": PRODUCER,
                "_schemaURL": f"{PRODUCER}/spec/mlflow_run.json",
                "run_id": tags["mlflow.run_id"],
                "experiment_id": tags.get("mlflow.experiment_id"),
                "model": tags.get("mlflow.model"),
                "version": tags.get("mlflow.version"),
            }
    return {
        "eventType": "COMPLETE",
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {
            "runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
            "facets": run_facets,
        },
        "job": {"namespace": namespace, "name": f"train:{mv.model.name}"},
        "inputs": inputs,
        "outputs": [{"namespace": namespace, "name": f"model:{name}"}],
    }


PRODUCER = "https://github.com/aims-dev/aims"


__all__ = ["PRODUCER", "lineage", "openlineage_event"]

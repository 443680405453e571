"""The one importer: MLflow records (from any reader) into aims' registry, in one transaction.

What it writes, for each MLflow model version not imported before:

- the model file (skops, ONNX, or a pickle with ``trust``) into the artifact
  store, after loading it the way aims loads any model, so an untrusted
  pickle stops the import before anything is written;
- the model (created when new) and the version, under MLflow's own version
  number, with the run's parameters and latest metrics, and the MLflow ids as
  ``mlflow.*`` tags;
- the run's training datasets as dataset versions, linked as the version's
  lineage (MLflow keeps a dataset's description, not its rows: the content
  hash is that of MLflow's dataset record, see
  :func:`~aims.services.mlflow_import.datasets.dataset_hash`);
- a ``model.register`` / ``dataset.register`` audit event carrying the MLflow
  ids (so every report that cites registrations cites imports too), and one
  ``mlflow.import`` event summing the import up.

MLflow aliases and stages become promotion requests
(:mod:`aims.services.promotion_requests`); no stage changes.

Re-importing is idempotent, keyed by MLflow ids kept in the version's tags
(``mlflow.model``, ``mlflow.version``, ``mlflow.run_id``): a version already
imported is left as it is, a request already opened (whatever became of it) is
not opened again. Tags rather than a table of their own because the key then
travels with the version wherever it is shown (``aims model show``, the model
card, the evidence report) and needs no join to answer "where did this come
from"; MLflow's version number doubles as aims' version number, and the
unique (model, version) constraint stops two concurrent imports of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from aims.errors import Conflict, InvalidInput, PermissionDenied
from aims.refs import NAME_RE
from aims.services import audit
from aims.services.mlflow_import.artifacts import ModelFile, model_file
from aims.services.mlflow_import.datasets import TRAINING_CONTEXTS, dataset_version
from aims.services.mlflow_import.records import (
    MlflowSource,
    ModelRecord,
    RunRecord,
    VersionRecord,
)
from aims.services.promotion_requests import open_in
from aims.storage.schema import (
    DatasetVersion,
    Model,
    ModelVersion,
    ModelVersionDataset,
    PromotionRequest,
)
from aims.workspace import Workspace

__all__ = ["ALIAS_STAGES", "STAGE_STAGES", "import_mlflow"]

ALIAS_STAGES = {
    "champion": "production",
    "production": "production",
    "prod": "production",
    "challenger": "staging",
    "staging": "staging",
}
"""MLflow aliases that propose an aims stage; other aliases are left alone."""

STAGE_STAGES = {"Production": "production", "Staging": "staging"}
"""MLflow's (deprecated) stages that propose an aims stage."""


@dataclass
class _Prepared:
    """A version read, checked and loaded, ready to be written."""

    model: ModelRecord
    record: VersionRecord
    run: RunRecord | None
    file: ModelFile
    data: bytes
    info: dict[str, Any]
    trusted: bool
    """Whether loading it needed ``trust`` (a pickle, or skops types outside the trusted set)."""


def _mlflow_key(mv: ModelVersion) -> tuple[str, str] | None:
    tags = mv.tags or {}
    if "mlflow.model" in tags and "mlflow.version" in tags:
        return str(tags["mlflow.model"]), str(tags["mlflow.version"])
    return None


def _existing(s: Session, name: str) -> dict[int, ModelVersion]:
    model = s.scalar(select(Model).where(Model.name == name))
    return {v.version: v for v in model.versions} if model is not None else {}


def _already_imported(s: Session, m: ModelRecord, v: VersionRecord) -> bool:
    """Whether aims holds MLflow's ``m``/``v``; a different version under its number is a Conflict."""
    held = _existing(s, m.name).get(v.version)
    if held is None:
        return False
    if _mlflow_key(held) == (m.name, str(v.version)):
        return True
    raise Conflict(
        f"aims already has {m.name}@{v.version}, and it was not imported from MLflow "
        f"version {v.version} of {m.name!r}; nothing was imported. Import into a workspace "
        "without that model, or rename one of the two models"
    )


def _load(source: MlflowSource, m: ModelRecord, v: VersionRecord, trust: bool) -> _Prepared:
    from aims.flavours import load_bytes

    what = f"MLflow model {m.name!r} version {v.version}"
    if not v.artifact_location:
        raise InvalidInput(
            f"{what}: MLflow names no artifact location for it; nothing was imported"
        )
    chosen = model_file(source.read_artifact(v.artifact_location, "MLmodel"), what)
    data = source.read_artifact(v.artifact_location, chosen.path)
    name = f"{what} ({chosen.path})"
    try:
        loaded, trusted = load_bytes(data, chosen.flavour, trust=False, name=name), False
    except PermissionDenied:
        # Refused before any of the file's code ran; with trust, load it as trusted.
        if not trust:
            kind = "a pickle" if chosen.flavour == "pickle" else "a skops file with untrusted types"
            raise PermissionDenied(
                f"{what} is {kind} ({chosen.mlflow_format}): loading it can run code from the "
                "file, so nothing was imported. Re-log it with mlflow.sklearn.log_model(..., "
                "serialization_format='skops'), import other models with --model NAME, or pass "
                "--trust if you trust its source (recorded in the audit log)"
            ) from None
        loaded, trusted = load_bytes(data, chosen.flavour, trust=True, name=name), True
    run = source.run(v.run_id) if v.run_id else None
    return _Prepared(m, v, run, chosen, data, loaded.describe(), trusted)


def _version_tags(p: _Prepared) -> dict[str, str]:
    tags = {
        "mlflow.model": p.model.name,
        "mlflow.version": str(p.record.version),
        "mlflow.created_at": p.record.created_at.isoformat(),
        "mlflow.source": p.record.source,
        "mlflow.artifact_location": p.record.artifact_location,
        "mlflow.model_file": p.file.path,
        "mlflow.serialization_format": p.file.mlflow_format,
    }
    if p.run is not None:
        tags |= {
            "mlflow.run_id": p.run.run_id,
            "mlflow.experiment_id": p.run.experiment_id,
            "mlflow.run_name": p.run.run_name,
            "mlflow.user": p.run.user,
        }
        # The run's own tags, MLflow's bookkeeping ones (mlflow.*) left out.
        tags |= {
            f"mlflow.run_tag.{k}": v for k, v in p.run.tags.items() if not k.startswith("mlflow.")
        }
    # aims.* tags are aims' own decisions written back (--write-back), not MLflow's.
    tags |= {
        f"mlflow.version_tag.{k}": v for k, v in p.record.tags.items() if not k.startswith("aims.")
    }
    return tags


def _write_version(
    ws: Workspace, s: Session, p: _Prepared, sha256: str, *, actor: str, origin: str
) -> tuple[ModelVersion, list[str]]:
    from aims.services.input_contract import model_input_contract

    project = ws.settings.project
    now = audit.now_utc()
    model = s.scalar(select(Model).where(Model.name == p.model.name))
    if model is None:
        model = Model(name=p.model.name, project=project, created_by=actor, created_at=now)
        s.add(model)
        s.flush()
    inputs: list[DatasetVersion] = []
    new_datasets: list[str] = []
    for ds in sorted(p.run.datasets if p.run else (), key=lambda d: (d.name, d.digest)):
        if ds.context not in TRAINING_CONTEXTS:
            continue
        dv, new = dataset_version(s, ds, actor=actor, project=project)
        if dv not in inputs:
            inputs.append(dv)
        if new:
            new_datasets.append(f"{dv.dataset.name}@{dv.version}")
    contract = model_input_contract(inputs, p.info, None)
    mv = ModelVersion(
        model=model,
        version=p.record.version,
        artifact_sha256=sha256,
        artifact_name=PurePosixPath(p.file.path).name,
        flavour=p.info["flavour"],
        trusted=p.trusted,
        info={k: p.info.get(k) for k in ("task", "feature_names", "classes", "estimator")},
        params=dict(p.run.params) if p.run else dict(p.info.get("params") or {}),
        metrics=dict(p.run.metrics) if p.run else {},
        tags=_version_tags(p),
        git_commit=(p.run.tags.get("mlflow.source.git.commit") if p.run else None) or None,
        input_contract=contract.text,
        stage="registered",
        created_by=actor,
        created_at=now,
    )
    s.add(mv)
    s.flush()
    for dv in inputs:
        s.add(ModelVersionDataset(model_version_id=mv.id, dataset_version_id=dv.id))
    s.flush()
    s.refresh(mv)
    audit.record(
        s,
        actor=actor,
        action="model.register",
        subject=f"model:{model.name}@{mv.version}",
        payload={
            "artifact_sha256": sha256,
            "flavour": mv.flavour,
            "trusted": mv.trusted,
            "datasets": [f"{d.dataset.name}@{d.version}" for d in inputs],
            "git_commit": mv.git_commit,
            "input_contract_note": contract.note,
            "imported_from": "mlflow",
            "mlflow_source": origin,
            "mlflow_model": p.model.name,
            "mlflow_version": p.record.version,
            "mlflow_run_id": p.run.run_id if p.run else None,
            "mlflow_experiment_id": p.run.experiment_id if p.run else None,
        },
    )
    return mv, new_datasets


def _imported_meanwhile(v: VersionRecord) -> Conflict:
    return Conflict(
        f"{v.model}@{v.version} was imported by another import while this one ran; "
        "nothing was imported by this one: run it again to add the rest"
    )


def _proposals(m: ModelRecord) -> list[tuple[int, str, str, str]]:
    """``(version, stage, source, reason)`` for every alias or stage that proposes a promotion."""
    out = []
    for alias, version in sorted(m.aliases.items()):
        stage = ALIAS_STAGES.get(alias.lower())
        if stage is not None:
            out.append(
                (
                    version,
                    stage,
                    f"mlflow:alias={alias}",
                    f"MLflow alias {alias!r} points at version {version}",
                )
            )
    for v in m.versions:
        stage = STAGE_STAGES.get(v.stage)
        if stage is not None:
            out.append(
                (
                    v.version,
                    stage,
                    f"mlflow:stage={v.stage}",
                    f"MLflow stage of version {v.version} is {v.stage}",
                )
            )
    return out


def _open_proposals(
    s: Session, models: list[ModelRecord], *, actor: str, origin: str
) -> list[dict[str, Any]]:
    """Open a request for every alias or stage of an imported version never proposed before."""
    opened = []
    for m in models:
        held = _existing(s, m.name)
        for version, stage, source, reason in _proposals(m):
            mv = held.get(version)
            if mv is None or _mlflow_key(mv) != (m.name, str(version)):
                continue  # not imported (filtered out by --since, or not READY)
            ever = s.scalar(
                select(PromotionRequest.id).where(
                    PromotionRequest.model_version_id == mv.id,
                    PromotionRequest.stage == stage,
                    PromotionRequest.source == source,
                )
            )
            if ever is not None:
                continue  # proposed before: open, approved or refused, it stays as it is
            req, _ = open_in(
                s, mv, stage, requested_by=actor, source=source, reason=f"{reason} ({origin})"
            )
            opened.append(
                {
                    "id": req.id,
                    "model": m.name,
                    "version": version,
                    "stage": stage,
                    "source": source,
                }
            )
    return opened


def import_mlflow(
    ws: Workspace,
    source: MlflowSource,
    *,
    actor: str,
    model: str | None = None,
    since: datetime | None = None,
    trust: bool = False,
    write_back: bool = False,
) -> dict[str, Any]:
    """Import registered models from ``source`` into ``ws``; returns what changed.

    Every version is read, and its model loaded, before the store is written;
    the writes then run in one transaction, so a bad URI, an MLflow error or an
    untrusted pickle leaves the store as it was. ``model`` limits the import to
    one registered model, ``since`` to versions MLflow created at or after it;
    ``trust`` allows pickled scikit-learn models (recorded on each version).
    ``write_back`` then sets ``aims.stage`` and ``aims.gates`` tags on the MLflow
    versions (a tracking server only; see :mod:`~aims.services.mlflow_import.write_back`).
    """
    if write_back and not hasattr(source, "set_version_tag"):
        raise InvalidInput(
            f"--write-back writes tags through MLflow's REST API; {source.description} is "
            "not a tracking server: import through the server's URL"
        )
    models = source.models(model)
    for m in models:
        if not NAME_RE.match(m.name):
            raise InvalidInput(
                f"MLflow model name {m.name!r} is not a valid aims model name (letters, digits, "
                "'.', '_' or '-'); import the others with --model NAME, or rename it in MLflow"
            )
    prepared: list[_Prepared] = []
    unchanged: list[str] = []
    skipped: list[dict[str, str]] = []
    with ws.db.session() as s:
        wanted = []
        for m in models:
            for v in m.versions:
                ref = f"{m.name}@{v.version}"
                if since is not None and v.created_at < since:
                    continue
                if v.status != "READY":
                    skipped.append({"ref": ref, "reason": f"MLflow status {v.status}"})
                elif _already_imported(s, m, v):
                    unchanged.append(ref)
                else:
                    wanted.append((m, v))
    for m, v in wanted:
        prepared.append(_load(source, m, v, trust))
    # Content-addressed: a file stored here but never referenced (the transaction
    # below failed) is inert, and the next import finds it in place.
    hashes = [ws.artifacts.put_bytes(p.data).sha256 for p in prepared]
    imported: list[dict[str, Any]] = []
    datasets: list[str] = []
    requests: list[dict[str, Any]] = []
    try:
        with ws.db.session() as s:
            for p, sha256 in zip(prepared, hashes, strict=True):
                if _already_imported(s, p.model, p.record):
                    raise _imported_meanwhile(p.record)
                mv, new_datasets = _write_version(
                    ws, s, p, sha256, actor=actor, origin=source.description
                )
                datasets.extend(new_datasets)
                imported.append(
                    {
                        "model": p.model.name,
                        "version": mv.version,
                        "run_id": p.run.run_id if p.run else None,
                        "flavour": mv.flavour,
                        "trusted": mv.trusted,
                        "artifact_sha256": sha256,
                        "datasets": [f"{d.dataset.name}@{d.version}" for d in mv.inputs],
                    }
                )
            requests = _open_proposals(s, models, actor=actor, origin=source.description)
            if imported or requests:
                audit.record(
                    s,
                    actor=actor,
                    action="mlflow.import",
                    subject=f"mlflow:{source.description}"[:300],
                    payload={
                        "versions": [
                            {k: i[k] for k in ("model", "version", "run_id", "artifact_sha256")}
                            for i in imported
                        ],
                        "datasets": datasets,
                        "promotion_requests": [r["id"] for r in requests],
                        "model_filter": model,
                        "since": since.isoformat() if since else None,
                        "trust": trust,
                    },
                )
    except DBIntegrityError:
        # Another import wrote one of these versions after the check above.
        raise Conflict(
            f"another import from {source.description} ran at the same time; nothing was "
            "imported by this one: run it again to add the rest"
        ) from None
    written: list[dict[str, Any]] = []
    if write_back:
        from aims.services.mlflow_import.write_back import write_back as push

        written = push(ws, source, models)
        if written:
            with ws.db.session() as s:
                audit.record(
                    s,
                    actor=actor,
                    action="mlflow.write_back",
                    subject=f"mlflow:{source.description}"[:300],
                    payload={"tags": written},
                )
    return {
        "source": source.description,
        "written_back": written,
        "imported": imported,
        "unchanged": unchanged,
        "skipped": skipped,
        "datasets": datasets,
        "promotion_requests": requests,
    }

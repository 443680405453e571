"""The registry: datasets and model versions with lineage and owners.

Every write runs in one transaction together with its audit event.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.errors import Conflict, ContractViolation, InvalidInput, NotFound
from aims.refs import Ref, check_name, parse_ref
from aims.services import audit
from aims.storage.schema import (
    Dataset,
    DatasetVersion,
    Model,
    ModelOwner,
    ModelVersion,
    ModelVersionDataset,
)
from aims.workspace import Workspace

OWNER_ROLES = ("development", "deployment", "monitoring", "business")


def owners_by_role(model: Model) -> dict[str, str]:
    """A model's owners as ``{role: owner}``."""
    return {o.role: o.owner for o in model.owners}


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in bounded chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def parse_owners(items: Sequence[str]) -> dict[str, str]:
    """Parse ``ROLE=OWNER`` pairs (owner: an email or a team id)."""
    owners: dict[str, str] = {}
    for item in items:
        role, sep, who = item.partition("=")
        role, who = role.strip(), who.strip()
        if not sep or not who:
            raise InvalidInput(
                f"owner {item!r} does not parse; use ROLE=EMAIL, e.g. monitoring=ana@x.org"
            )
        if role not in OWNER_ROLES:
            raise InvalidInput(
                f"owner role {role!r} is unknown; use one of {', '.join(OWNER_ROLES)}"
            )
        owners[role] = who
    return owners


def git_commit(folder: Path | None = None) -> str | None:
    """The commit of the git checkout holding ``folder`` (current folder by default), if any."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


# -- lookups -----------------------------------------------------------------


def get_dataset_version(s: Session, ref: Ref) -> DatasetVersion:
    ds = s.scalar(select(Dataset).where(Dataset.name == ref.name))
    if ds is None:
        raise NotFound(f"dataset {ref.name!r} is not registered; see 'aims dataset list'")
    if ref.version is None:
        if ref.alias != "latest" or not ds.versions:
            raise InvalidInput(f"dataset reference {ref}: give a version number, e.g. {ref.name}@1")
        return ds.versions[-1]
    dv = s.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == ds.id, DatasetVersion.version == ref.version
        )
    )
    if dv is None:
        known = ", ".join(str(v.version) for v in ds.versions) or "none"
        raise NotFound(f"dataset {ref.name!r} has no version {ref.version} (versions: {known})")
    return dv


def get_model(s: Session, name: str) -> Model:
    model = s.scalar(select(Model).where(Model.name == name))
    if model is None:
        raise NotFound(f"model {name!r} is not registered; see 'aims model list'")
    return model


def get_model_version(s: Session, ref: Ref) -> ModelVersion:
    model = get_model(s, ref.name)
    if ref.version is not None:
        mv = s.scalar(
            select(ModelVersion).where(
                ModelVersion.model_id == model.id, ModelVersion.version == ref.version
            )
        )
        if mv is None:
            known = ", ".join(str(v.version) for v in model.versions) or "none"
            raise NotFound(f"model {ref.name!r} has no version {ref.version} (versions: {known})")
        return mv
    if ref.alias == "latest" and model.versions:
        return model.versions[-1]
    for v in reversed(model.versions):
        if v.stage == ref.alias:
            return v
    raise NotFound(f"model {ref.name!r} has no {ref.alias} version")


# -- datasets ----------------------------------------------------------------


def _dataset_payload(dv: DatasetVersion) -> dict[str, Any]:
    return {
        "name": dv.dataset.name,
        "version": dv.version,
        "content_hash": dv.content_hash,
        "source": dv.source,
        "row_count": dv.row_count,
        "schema": dv.schema,
        "has_contract": dv.contract is not None,
        "created_by": dv.created_by,
        "created_at": dv.created_at,
    }


def register_dataset(
    ws: Workspace,
    path: Path,
    name: str,
    *,
    actor: str,
    contract_path: Path | None = None,
) -> tuple[dict[str, Any], bool]:
    """Register the data file ``path`` as a version of dataset ``name``.

    Returns the version's description and whether it is new: the same content
    registered again with the same contract (or without one) yields the
    existing version; with a different contract it is refused (``Conflict``).
    With a contract, data that breaks it is refused (and the refusal is audited).
    """
    from aims.core import frames

    check_name(name, "dataset name")
    path = Path(path)
    schema = frames.schema_of(path)  # raises on a missing or unreadable file
    digest = file_sha256(path)
    contract_text = None
    if contract_path is not None:
        contract_text = _check_dataset_contract(ws, path, name, contract_path, actor)
    with ws.db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is not None:
            same = s.scalar(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == ds.id, DatasetVersion.content_hash == digest
                )
            )
            if same is not None:
                _check_same_contract(same, contract_text, contract_path)
                return _dataset_payload(same), False
    frame_rows = _count_rows(path)
    profile = _reference_profile(path)
    ref = ws.artifacts.put_file(path)
    now = audit.now_utc()
    with ws.db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None:
            ds = Dataset(name=name, project=ws.settings.project, created_by=actor, created_at=now)
            s.add(ds)
            s.flush()
        same = s.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == ds.id, DatasetVersion.content_hash == digest
            )
        )
        if same is not None:  # registered concurrently
            return _dataset_payload(same), False
        version = (ds.versions[-1].version if ds.versions else 0) + 1
        dv = DatasetVersion(
            dataset=ds,
            version=version,
            content_hash=digest,
            source=str(path.resolve()),
            schema={k: str(v) for k, v in schema.items()},
            row_count=frame_rows,
            contract=contract_text,
            profile=profile,
            artifact_sha256=ref.sha256,
            created_by=actor,
            created_at=now,
        )
        s.add(dv)
        s.flush()
        payload = _dataset_payload(dv)
        audit.record(
            s,
            actor=actor,
            action="dataset.register",
            subject=f"dataset:{name}@{version}",
            payload={k: v for k, v in payload.items() if k not in ("created_at", "schema")},
        )
    return payload, True


def _check_same_contract(
    dv: DatasetVersion, contract_text: str | None, contract_path: Path | None
) -> None:
    """Refuse to pass off a registration with another contract as the existing version.

    A dataset version is its content and the contract it was checked against,
    and neither changes once registered (models, evaluations and audit events
    refer to it). The same file under a new contract is refused with the ways
    forward, rather than answered ``already registered`` with the contract ignored.
    """
    if contract_text is None or contract_text == dv.contract:
        return
    had = "another contract" if dv.contract else "no contract"
    raise Conflict(
        f"{dv.dataset.name}@{dv.version} already holds this file, registered with {had}; "
        "a version's contract never changes. To serve a model under the new contract, pass "
        f"it when registering the model (aims model register ... --contract {contract_path}); "
        "to keep the data under it, register the file under a new dataset name (--name)"
    )


def _count_rows(path: Path) -> int:
    import polars as pl

    from aims.core import frames

    return int(frames.collect(frames.scan(path).select(pl.len()), str(path)).item())


def _reference_profile(path: Path) -> bytes:
    """The dataset's serialised reference profile; it fixes the bin edges and
    category sets that every monitoring window of models trained on it reuses."""
    from aims.core.profile import dumps, profile

    return dumps(profile(path))


def _check_dataset_contract(
    ws: Workspace, path: Path, name: str, contract_path: Path, actor: str
) -> str:
    from aims.core.contract import check_contract, dump_contract, load_contract

    contract = load_contract(contract_path)
    report = check_contract(contract, path)
    if not report.passed:
        failed = [r for r in report.to_dict()["rules"] if not r["passed"]]
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="dataset.register.refused",
                subject=f"dataset:{name}",
                payload={
                    "source": str(path),
                    "contract": str(contract_path),
                    "failed_rules": failed,
                },
            )
        summary = "; ".join(
            f"{r['rule']}"
            + (f" on {r['column']}" if r.get("column") else "")
            + (f" ({r['failing_rows']} rows)" if r.get("failing_rows") else "")
            for r in failed[:5]
        )
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise ContractViolation(
            f"{path} breaks contract {contract_path}: {summary}{more}; "
            f"run 'aims contract check {contract_path} {path}' for details",
            failures=failed,
        )
    return dump_contract(contract)


def list_datasets(ws: Workspace) -> list[dict[str, Any]]:
    with ws.db.session() as s:
        rows = s.scalars(select(DatasetVersion).order_by(DatasetVersion.id)).all()
        return [_dataset_payload(dv) for dv in rows]


# -- models ------------------------------------------------------------------


def version_payload(mv: ModelVersion) -> dict[str, Any]:
    return {
        "name": mv.model.name,
        "version": mv.version,
        "stage": mv.stage,
        "traffic": mv.traffic,
        "flavour": mv.flavour,
        "trusted": mv.trusted,
        "artifact_sha256": mv.artifact_sha256,
        "artifact_name": mv.artifact_name,
        "task": mv.info.get("task"),
        "features": mv.info.get("feature_names"),
        "classes": mv.info.get("classes"),
        "params": mv.params,
        "metrics": mv.metrics,
        "tags": mv.tags,
        "git_commit": mv.git_commit,
        "datasets": [f"{d.dataset.name}@{d.version}" for d in mv.inputs],
        "created_by": mv.created_by,
        "created_at": mv.created_at,
    }


def register_model(
    ws: Workspace,
    artifact: Path,
    name: str,
    *,
    actor: str,
    datasets: Sequence[str],
    owners: Mapping[str, str] | None = None,
    flavour: str | None = None,
    trust: bool = False,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    commit: str | None = None,
    contract_path: Path | None = None,
) -> dict[str, Any]:
    """Register ``artifact`` as the next version of model ``name``."""
    from aims.flavours import detect_flavour, load_bytes
    from aims.services.input_contract import model_input_contract

    check_name(name, "model name")
    artifact = Path(artifact)
    if not artifact.exists():
        raise NotFound(f"{artifact}: no such file")
    if not datasets:
        raise InvalidInput(
            "give the training data with --dataset NAME@VERSION (lineage is required)"
        )
    refs = [parse_ref(d) for d in datasets]
    # Read once: what is described is exactly what is stored.
    data = artifact.read_bytes()
    info = load_bytes(
        data, flavour or detect_flavour(artifact), trust=trust, name=str(artifact)
    ).describe()
    with ws.db.session() as s:  # resolve datasets before storing anything
        inputs = [get_dataset_version(s, r) for r in refs]
        input_contract = model_input_contract(inputs, info, contract_path)
    ref = ws.artifacts.put_bytes(data)
    now = audit.now_utc()
    with ws.db.session() as s:
        model = s.scalar(select(Model).where(Model.name == name))
        if model is None:
            model = Model(name=name, project=ws.settings.project, created_by=actor, created_at=now)
            s.add(model)
            s.flush()
        version = (model.versions[-1].version if model.versions else 0) + 1
        mv = ModelVersion(
            model=model,
            version=version,
            artifact_sha256=ref.sha256,
            artifact_name=artifact.name,
            flavour=info["flavour"],
            trusted=bool(trust),
            info={k: info.get(k) for k in ("task", "feature_names", "classes", "estimator")},
            params=dict(params or info.get("params") or {}),
            metrics=dict(metrics or {}),
            tags=dict(tags or {}),
            git_commit=commit or git_commit(),
            input_contract=input_contract.text,
            stage="registered",
            created_by=actor,
            created_at=now,
        )
        s.add(mv)
        s.flush()
        for dv in (get_dataset_version(s, r) for r in refs):
            s.add(ModelVersionDataset(model_version_id=mv.id, dataset_version_id=dv.id))
        _set_owners(s, model, dict(owners or {}), actor)
        s.flush()
        s.refresh(mv)
        payload = version_payload(mv)
        audit.record(
            s,
            actor=actor,
            action="model.register",
            subject=f"model:{name}@{version}",
            payload={
                "artifact_sha256": ref.sha256,
                "flavour": mv.flavour,
                "trusted": mv.trusted,
                "datasets": payload["datasets"],
                "git_commit": mv.git_commit,
                "input_contract_note": input_contract.note,
            },
        )
        payload["owners"] = owners_by_role(model)
        payload["input_contract_note"] = input_contract.note
    return payload


def _set_owners(s: Session, model: Model, owners: Mapping[str, str], actor: str) -> None:
    current = {o.role: o for o in model.owners}
    changed = {}
    for role, who in owners.items():
        if role in current:
            if current[role].owner != who:
                current[role].owner = who
                changed[role] = who
        else:
            s.add(ModelOwner(model=model, role=role, owner=who))
            changed[role] = who
    if changed:
        s.flush()
        audit.record(
            s,
            actor=actor,
            action="model.owners.set",
            subject=f"model:{model.name}",
            payload=changed,
        )


def set_owners(
    ws: Workspace, name: str, owners: Mapping[str, str], *, actor: str
) -> dict[str, str]:
    """Set (or change) owners of model ``name`` by role."""
    if not owners:
        raise InvalidInput("give at least one owner as ROLE=EMAIL")
    with ws.db.session() as s:
        model = get_model(s, name)
        _set_owners(s, model, owners, actor)
        s.flush()
        s.refresh(model)
        return owners_by_role(model)


def describe(ws: Workspace, name: str) -> dict[str, Any]:
    """A model with its owners and versions."""
    with ws.db.session() as s:
        model = get_model(s, name)
        return {
            "name": model.name,
            "project": model.project,
            "owners": owners_by_role(model),
            "created_by": model.created_by,
            "created_at": model.created_at,
            "versions": [version_payload(v) for v in model.versions],
        }


def list_models(ws: Workspace) -> list[dict[str, Any]]:
    with ws.db.session() as s:
        out = []
        for m in s.scalars(select(Model).order_by(Model.name)).all():
            prod = next((v.version for v in m.versions if v.stage == "production"), None)
            out.append(
                {
                    "name": m.name,
                    "project": m.project,
                    "versions": len(m.versions),
                    "production": prod,
                    "owners": owners_by_role(m),
                }
            )
        return out


def show_version(ws: Workspace, text: str) -> dict[str, Any]:
    with ws.db.session() as s:
        mv = get_model_version(s, parse_ref(text))
        out = version_payload(mv)
        out["owners"] = owners_by_role(mv.model)
        return out


def load_version(ws: Workspace, mv_payload: Mapping[str, Any]):  # -> LoadedModel
    """Load a registered version's model from bytes whose sha256 was just verified."""
    from aims.flavours import load_bytes

    sha = mv_payload["artifact_sha256"]
    data = ws.artifacts.get_bytes(sha)
    return load_bytes(
        data, mv_payload["flavour"], trust=bool(mv_payload["trusted"]), name=f"artifact {sha[:12]}"
    )

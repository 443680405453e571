"""The registry: models and their versions, with owners; datasets are in :mod:`aims.services.datasets`.

Every write runs in one transaction together with its audit event.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.errors import InvalidInput, NotFound
from aims.refs import Ref, check_name, parse_ref
from aims.services import audit

# Datasets live in their own module; these names stay importable from the registry,
# where models, evaluations and the Python API have always found them.
from aims.services.datasets import file_sha256 as file_sha256
from aims.services.datasets import get_dataset_version as get_dataset_version
from aims.services.datasets import list_datasets as list_datasets
from aims.services.datasets import register_dataset as register_dataset
from aims.storage.schema import (
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


# -- models ------------------------------------------------------------------


def version_payload(mv: ModelVersion) -> dict[str, Any]:
    out = _version_fields(mv)
    if mv.flavour == "llm-app":
        # An LLM application: what its definition holds (see aims.flavours.llm_app).
        info = mv.info or {}
        out.update({k: info.get(k) for k in LLM_APP_FIELDS})
    return out


LLM_APP_FIELDS = ("kind", "app_name", "app_version", "prompt_sha256", "model", "tools", "agent")
"""What a version's payload adds for an LLM application (``model``: provider, name, parameters)."""


def _version_fields(mv: ModelVersion) -> dict[str, Any]:
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
    detect_commit: bool = True,
) -> dict[str, Any]:
    """Register ``artifact`` as the next version of model ``name``.

    Without ``commit``, the git HEAD of the current folder is recorded, unless
    ``detect_commit`` is false (the server's folder says nothing of an upload).
    """
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
    with ws.db.session() as s:
        existing = s.scalar(select(Model).where(Model.name == name))
        if existing is not None and any(v.flavour == "llm-app" for v in existing.versions):
            raise InvalidInput(
                f"{name!r} holds LLM application versions; register the model under another name"
            )
    # Read once: what is described is exactly what is stored.
    data = artifact.read_bytes()
    info = load_bytes(
        data, flavour or detect_flavour(artifact), trust=trust, name=str(artifact)
    ).describe()
    with ws.db.session() as s:  # resolve datasets before storing anything
        inputs = [get_dataset_version(s, r) for r in refs]
        input_contract = model_input_contract(inputs, info, contract_path, ws)
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
            git_commit=commit or (git_commit() if detect_commit else None),
            input_contract=input_contract.text,
            stage="registered",
            created_by=actor,
            created_at=now,
        )
        payload = store_new_version(
            s,
            mv,
            refs,
            owners,
            actor,
            {"input_contract_note": input_contract.note},
        )
        payload["input_contract_note"] = input_contract.note
    return payload


def store_new_version(
    s: Session,
    mv: ModelVersion,
    refs: Sequence[Ref],
    owners: Mapping[str, str] | None,
    actor: str,
    audited: Mapping[str, Any],
) -> dict[str, Any]:
    """Add ``mv`` with its training datasets and owners, audit ``model.register``; its payload.

    Shared by every kind of version (a tabular model, an LLM application) so
    that a registration stores and audits the same things whatever its kind;
    ``audited`` adds the kind's own facts to the audit event.
    """
    model = mv.model
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
        subject=f"model:{model.name}@{mv.version}",
        payload={
            "artifact_sha256": mv.artifact_sha256,
            "flavour": mv.flavour,
            "trusted": mv.trusted,
            "datasets": payload["datasets"],
            "git_commit": mv.git_commit,
            **audited,
        },
    )
    payload["owners"] = owners_by_role(model)
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

    if mv_payload["flavour"] == "llm-app":
        raise InvalidInput(
            "this version is an LLM application, not a predictive model: it is neither "
            "served nor scored on a table; evaluate it with 'aims evaluate NAME@VERSION "
            "--data cases.jsonl' (see docs/llm-applications.md)"
        )
    sha = mv_payload["artifact_sha256"]
    data = ws.artifacts.get_bytes(sha)
    return load_bytes(
        data, mv_payload["flavour"], trust=bool(mv_payload["trusted"]), name=f"artifact {sha[:12]}"
    )

"""LLM applications in the registry: registration from YAML, description, and linking spans.

An LLM application version is a model version like any other (owners, lineage,
stages, approvals, gates and the audit log apply unchanged) whose flavour is
``llm-app``: its artifact is the canonical JSON of the application's definition
(:mod:`aims.flavours.llm_app`) and its ``info`` keeps the prompt hashes, the
model and the tools with their SHA-256.

:func:`version_index` (from :mod:`aims.services.llm_versions`) answers which
registered version a span belongs to, from the name and version the span
carries or from the hash of its system prompt.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aims.errors import InvalidInput, NotFound
from aims.flavours.llm_app import FLAVOUR, canonical_bytes, is_llm_app_file, load_spec
from aims.refs import check_name, parse_ref
from aims.services import audit
from aims.services.llm_versions import VersionIndex, version_index
from aims.services.registry import (
    get_dataset_version,
    get_model_version,
    git_commit,
    store_new_version,
)
from aims.storage.schema import Model, ModelVersion
from aims.workspace import Workspace

__all__ = [
    "VersionIndex",
    "is_llm_app_file",
    "is_llm_app_version",
    "register_app",
    "self_contained",
    "version_index",
]


def is_llm_app_version(ws: Workspace, text: str) -> bool:
    """Whether ``NAME@VERSION`` is a registered LLM application version."""
    with ws.db.session() as s:
        return get_model_version(s, parse_ref(text)).flavour == FLAVOUR


@contextlib.contextmanager
def self_contained(path: Path) -> Iterator[Path]:
    """A temporary copy of the definition at ``path`` with its prompt files inlined.

    Validated first (the same errors as registering it); the copy is the
    canonical JSON the registry stores, which is also YAML, under the same
    file name, so a server that cannot read the files beside ``path`` registers
    exactly what a local registration would.
    """
    spec = load_spec(path)
    with tempfile.TemporaryDirectory(prefix="aims-llm-app-") as folder:
        copy = Path(folder) / Path(path).name
        copy.write_bytes(canonical_bytes(spec))
        yield copy


def register_app(
    ws: Workspace,
    path: Path,
    name: str,
    *,
    actor: str,
    datasets: Sequence[str] = (),
    owners: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    commit: str | None = None,
    detect_commit: bool = True,
) -> dict[str, Any]:
    """Register the LLM application defined in ``path`` as the next version of ``name``.

    ``datasets`` (optional, ``NAME@VERSION``) record lineage such as the data the
    prompt was tuned on. The file is validated before anything is stored.
    """
    check_name(name, "model name")
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    spec = load_spec(path)
    data = canonical_bytes(spec)
    info = spec.describe()
    refs = [parse_ref(d) for d in datasets]
    with ws.db.session() as s:
        [get_dataset_version(s, r) for r in refs]  # refused before anything is stored
        existing = s.scalar(select(Model).where(Model.name == name))
        if existing is not None and any(v.flavour != FLAVOUR for v in existing.versions):
            raise InvalidInput(
                f"model {name!r} holds predictive model versions; register the LLM "
                "application under another name"
            )
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
            artifact_name=path.name,
            flavour=FLAVOUR,
            trusted=False,
            info=info,
            params=dict(params or {}) or {"model": spec.model.name, **spec.model.parameters},
            metrics=dict(metrics or {}),
            tags=dict(tags or {}),
            git_commit=commit or (git_commit(path.parent) if detect_commit else None),
            input_contract=None,
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
            {
                "prompt_sha256": info["prompt_sha256"],
                "llm_model": f"{spec.model.provider}/{spec.model.name}",
                "tools": {t["name"]: t["sha256"] for t in info["tools"]},
            },
        )
    return payload

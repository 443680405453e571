"""Reading a legacy ``mlruns`` folder (MLflow's file store) with YAML and plain files.

Layout read (MLflow 2.x and 3.x)::

    mlruns/<experiment>/<run>/meta.yaml, params/<key>, metrics/<key>, tags/<key>
    mlruns/<experiment>/<run>/inputs/<input>/meta.yaml      (dataset id, context tag)
    mlruns/<experiment>/datasets/<dataset>/meta.yaml        (name, digest, source, schema)
    mlruns/models/<name>/meta.yaml                          (aliases)
    mlruns/models/<name>/version-<n>/meta.yaml, tags/<key>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aims.errors import InvalidInput, NotFound
from aims.services.mlflow_import.artifacts import local_artifact
from aims.services.mlflow_import.records import (
    DatasetInput,
    ModelRecord,
    RunRecord,
    VersionRecord,
    colspec_schema,
    from_millis,
    latest_metrics,
    profile_rows,
)

__all__ = ["MlrunsSource"]

_STATUS = {1: "PENDING_REGISTRATION", 2: "FAILED_REGISTRATION", 3: "READY"}


def _yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable MLflow meta.yaml ({exc})") from None
    return doc if isinstance(doc, dict) else {}


def _files(folder: Path) -> dict[str, str]:
    """Tag and parameter folders: one file per key (keys may hold '/': nested folders)."""
    if not folder.is_dir():
        return {}
    return {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class MlrunsSource:
    """The file store at ``root`` (the ``mlruns`` folder itself)."""

    def __init__(self, root: Path, *, artifacts_root: Path | None = None) -> None:
        self.root = root.resolve()
        self.artifacts_root = artifacts_root
        self.description = f"mlruns folder {self.root}"
        if not self.root.is_dir():
            raise NotFound(f"{root}: no such mlruns folder; check --tracking-uri")
        if not (self.root / "models").is_dir() and not any(self.root.glob("*/meta.yaml")):
            raise InvalidInput(
                f"{root} is not an MLflow mlruns folder (no experiments, no models/); "
                "check --tracking-uri"
            )

    def models(self, name: str | None = None) -> list[ModelRecord]:
        """Registered models under ``models/``."""
        folder = self.root / "models"
        found = sorted(p for p in folder.glob("*/meta.yaml")) if folder.is_dir() else []
        metas = [_yaml(p) | {"_folder": p.parent} for p in found]
        if name is not None:
            metas = [m for m in metas if m.get("name") == name]
            if not metas:
                raise NotFound(
                    f"{self.description} has no registered model {name!r}; nothing was imported"
                )
        return sorted((self._model(m) for m in metas), key=lambda m: m.name)

    def _model(self, meta: dict[str, Any]) -> ModelRecord:
        folder: Path = meta["_folder"]
        versions = []
        for vmeta_path in folder.glob("version-*/meta.yaml"):
            v = _yaml(vmeta_path)
            status = v.get("status", 3)
            versions.append(
                VersionRecord(
                    model=str(meta["name"]),
                    version=int(v["version"]),
                    created_at=from_millis(v.get("creation_timestamp")),
                    stage=str(v.get("current_stage") or "None"),
                    status=_STATUS.get(status, str(status))
                    if isinstance(status, int)
                    else str(status),
                    run_id=v.get("run_id") or None,
                    source=str(v.get("source") or ""),
                    artifact_location=str(v.get("storage_location") or self._location(v)),
                    tags=_files(vmeta_path.parent / "tags"),
                )
            )
        aliases = {str(k): int(v) for k, v in (meta.get("aliases") or {}).items()}
        return ModelRecord(
            name=str(meta["name"]),
            aliases=aliases,
            versions=tuple(sorted(versions, key=lambda v: v.version)),
            tags=_files(folder / "tags"),
        )

    def _location(self, version: dict[str, Any]) -> str:
        source = str(version.get("source") or "")
        model_id = version.get("model_id") or (
            source.removeprefix("models:/").strip("/") if source.startswith("models:/") else None
        )
        if model_id:
            for meta in self.root.glob(f"*/models/{model_id}/meta.yaml"):
                return str(_yaml(meta).get("artifact_location") or source)
        if source.startswith("runs:/"):
            run_id, _, rest = source.removeprefix("runs:/").partition("/")
            for meta in self.root.glob(f"*/{run_id}/meta.yaml"):
                return f"{str(_yaml(meta).get('artifact_uri', '')).rstrip('/')}/{rest}".rstrip("/")
        return source

    def _run_folder(self, run_id: str) -> Path | None:
        for meta in self.root.glob(f"*/{run_id}/meta.yaml"):
            return meta.parent
        return None

    def run(self, run_id: str) -> RunRecord | None:
        """The run's parameters, latest metrics, tags and dataset inputs."""
        folder = self._run_folder(run_id)
        if folder is None:
            return None
        meta = _yaml(folder / "meta.yaml")
        tags = _files(folder / "tags")
        rows = []
        metrics = folder / "metrics"
        for path in sorted(metrics.rglob("*")) if metrics.is_dir() else ():
            if path.is_file():
                for line in path.read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) >= 2:
                        step = int(parts[2]) if len(parts) > 2 else 0
                        rows.append(
                            (str(path.relative_to(metrics)), float(parts[1]), int(parts[0]), step)
                        )
        return RunRecord(
            run_id=run_id,
            experiment_id=str(meta.get("experiment_id", folder.parent.name)),
            run_name=str(meta.get("run_name") or tags.get("mlflow.runName", "")),
            user=str(meta.get("user_id") or tags.get("mlflow.user", "")),
            params=_files(folder / "params"),
            metrics=latest_metrics(rows),
            tags=tags,
            datasets=self._datasets(folder),
        )

    def _datasets(self, run_folder: Path) -> tuple[DatasetInput, ...]:
        out = []
        for input_meta in sorted(run_folder.glob("inputs/*/meta.yaml")):
            link = _yaml(input_meta)
            if link.get("source_type") not in ("DATASET", 1, None):
                continue
            ds_meta = run_folder.parent / "datasets" / str(link.get("source_id")) / "meta.yaml"
            if not ds_meta.is_file():
                continue
            ds = _yaml(ds_meta)
            out.append(
                DatasetInput(
                    name=str(ds.get("name", "")),
                    digest=str(ds.get("digest", "")),
                    source_type=str(ds.get("source_type", "")),
                    source=str(ds.get("source", "")),
                    schema=colspec_schema(ds.get("schema")),
                    rows=profile_rows(ds.get("profile")),
                    context=(link.get("tags") or {}).get("mlflow.data.context"),
                )
            )
        return tuple(sorted(out, key=lambda d: (d.name, d.digest)))

    def read_artifact(self, location: str, path: str) -> bytes:
        """A model file from this machine's disk."""
        return local_artifact(
            location, path, root=self.artifacts_root, what=f"MLflow artifact {location}"
        )

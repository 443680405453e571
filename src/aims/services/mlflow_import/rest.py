"""Reading a tracking server through MLflow's REST API (no MLflow package needed).

The import sends only ``GET`` requests; the one write, :meth:`RestSource.set_version_tag`,
is made only when asked to write aims' decisions back (``--write-back``).
Credentials are read from the variables MLflow's own client reads:
``MLFLOW_TRACKING_TOKEN`` (a bearer token) or ``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD`` (basic authentication).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlparse

from aims.errors import InvalidInput, NotFound, PermissionDenied, StoreUnavailable
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

__all__ = ["RestSource"]

TIMEOUT_SECONDS = 30.0
_PAGE = 1000


def _tags(items: Any) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in items or () if "key" in t}


class RestSource:
    """An MLflow tracking server at ``base_url`` (``http://host:5000``)."""

    def __init__(self, base_url: str, *, artifacts_root: Path | None = None) -> None:
        self.base = base_url.rstrip("/")
        parsed = urlparse(self.base)
        # What messages and the audit log name: never a password in the URL.
        self.description = (
            f"{parsed.scheme}://{parsed.hostname}"
            + (f":{parsed.port}" if parsed.port else "")
            + parsed.path
        )
        self.artifacts_root = artifacts_root

    # -- HTTP ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "aims-mlflow-import"}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def _get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        url = self.base + path + (f"?{urlencode(params)}" if params else "")
        request = urllib.request.Request(url, headers=self._headers(), method="GET")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                return bytes(answer.read())
        except urllib.error.HTTPError as exc:
            raise self._http_error(path, exc) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreUnavailable(
                f"cannot reach MLflow at {self.description} ({reason}); check --tracking-uri "
                "and that the server is running; nothing was imported"
            ) from None

    def _http_error(self, path: str, exc: urllib.error.HTTPError) -> Exception:
        try:
            body = json.loads(exc.read() or b"{}")
            detail = str(body.get("message") or body.get("error_code") or "")
        except (ValueError, AttributeError):
            detail = ""
        detail = detail.strip().splitlines()[0][:200] if detail.strip() else exc.reason
        where = f"MLflow at {self.description} answered {exc.code} to GET {path}"
        if exc.code in (401, 403):
            return PermissionDenied(
                f"{where} ({detail}); set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME "
                "and MLFLOW_TRACKING_PASSWORD; nothing was imported"
            )
        if exc.code == 404:
            return NotFound(f"{where} ({detail}); nothing was imported")
        return StoreUnavailable(f"{where} ({detail}); nothing was imported")

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set tag ``key`` of MLflow's version ``name``/``version`` (``POST .../set-tag``)."""
        body = json.dumps(
            {"name": name, "version": str(version), "key": key, "value": value}
        ).encode()
        path = "/api/2.0/mlflow/model-versions/set-tag"
        headers = {**self._headers(), "Content-Type": "application/json"}
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(path, exc) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            raise StoreUnavailable(
                f"cannot reach MLflow at {self.description} ({getattr(exc, 'reason', exc)}) to "
                "write aims' decisions back; the import itself is done, run it again to retry"
            ) from None

    def _json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        raw = self._get(path, params)
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise InvalidInput(
                f"{self.description} answered GET {path} with something that is not MLflow's "
                "JSON; is --tracking-uri the tracking server's URL?"
            )
        return doc

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token = None
        while True:
            doc = self._json(path, {**params, **({"page_token": token} if token else {})})
            out.extend(doc.get(key) or [])
            token = doc.get("next_page_token")
            if not token:
                return out

    # -- records ---------------------------------------------------------------

    def models(self, name: str | None = None) -> list[ModelRecord]:
        """Registered models and their versions, read page by page."""
        if name is not None:
            try:
                found = [self._json("/api/2.0/mlflow/registered-models/get", {"name": name})]
            except NotFound:
                raise NotFound(
                    f"MLflow at {self.description} has no registered model {name!r}; "
                    "nothing was imported"
                ) from None
            rows = [f.get("registered_model") or {} for f in found]
        else:
            rows = self._pages(
                "/api/2.0/mlflow/registered-models/search",
                "registered_models",
                {"max_results": _PAGE},
            )
        return sorted((self._model(r) for r in rows), key=lambda m: m.name)

    def _model(self, row: dict[str, Any]) -> ModelRecord:
        name = str(row["name"])
        escaped = name.replace("'", "\\'")
        versions = self._pages(
            "/api/2.0/mlflow/model-versions/search",
            "model_versions",
            {"filter": f"name='{escaped}'", "max_results": _PAGE},
        )
        records = [self._version(v) for v in versions]
        return ModelRecord(
            name=name,
            aliases={str(a["alias"]): int(a["version"]) for a in row.get("aliases") or ()},
            versions=tuple(sorted(records, key=lambda v: v.version)),
            tags=_tags(row.get("tags")),
        )

    def _version(self, row: dict[str, Any]) -> VersionRecord:
        name, version = str(row["name"]), int(row["version"])
        location = row.get("storage_location")
        if not location:
            location = self._json(
                "/api/2.0/mlflow/model-versions/get-download-uri",
                {"name": name, "version": str(version)},
            ).get("artifact_uri", "")
        return VersionRecord(
            model=name,
            version=version,
            created_at=from_millis(row.get("creation_timestamp")),
            stage=str(row.get("current_stage") or "None"),
            status=str(row.get("status") or "READY"),
            run_id=row.get("run_id") or None,
            source=str(row.get("source") or ""),
            artifact_location=str(location or ""),
            tags=_tags(row.get("tags")),
        )

    def run(self, run_id: str) -> RunRecord | None:
        """The run ``run_id`` with its latest metrics and dataset inputs."""
        try:
            doc = self._json("/api/2.0/mlflow/runs/get", {"run_id": run_id}).get("run") or {}
        except NotFound:
            return None
        info, data = doc.get("info") or {}, doc.get("data") or {}
        tags = _tags(data.get("tags"))
        datasets = []
        for item in (doc.get("inputs") or {}).get("dataset_inputs") or ():
            ds = item.get("dataset") or {}
            datasets.append(
                DatasetInput(
                    name=str(ds.get("name", "")),
                    digest=str(ds.get("digest", "")),
                    source_type=str(ds.get("source_type", "")),
                    source=str(ds.get("source", "")),
                    schema=colspec_schema(ds.get("schema")),
                    rows=profile_rows(ds.get("profile")),
                    context=_tags(item.get("tags")).get("mlflow.data.context"),
                )
            )
        return RunRecord(
            run_id=str(info.get("run_id") or run_id),
            experiment_id=str(info.get("experiment_id", "")),
            run_name=str(info.get("run_name") or tags.get("mlflow.runName", "")),
            user=str(info.get("user_id") or tags.get("mlflow.user", "")),
            params={str(p["key"]): str(p.get("value", "")) for p in data.get("params") or ()},
            metrics=latest_metrics(
                (m["key"], m.get("value", float("nan")), m.get("timestamp", 0), m.get("step", 0))
                for m in data.get("metrics") or ()
            ),
            tags=tags,
            datasets=tuple(datasets),
        )

    def read_artifact(self, location: str, path: str) -> bytes:
        """A model file, through the server's artifact proxy or from this machine's disk."""
        parsed = urlparse(location)
        if parsed.scheme == "mlflow-artifacts" and self.artifacts_root is None:
            rel = f"{parsed.path.strip('/')}/{path}"
            return self._get(f"/api/2.0/mlflow-artifacts/artifacts/{quote(rel)}")
        return local_artifact(
            location, path, root=self.artifacts_root, what=f"MLflow artifact {location}"
        )

"""Reading MLflow's own database (``mlflow.db``, or its PostgreSQL/MySQL backend) with SQLAlchemy.

Weighed against opening it through ``mlflow-skinny``'s tracking store: that
store checks the schema's Alembic revision on open and refuses (or migrates) a
database written by another MLflow release, and it would add a dependency
for a handful of ``SELECT`` statements. Reading the tables directly works
across releases that share the columns used here (MLflow 2.x and 3.x), opens
SQLite files read-only, and never writes to a copy a team handed over. Columns
newer releases added (``storage_location``, ``logged_models``) are used when
present.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from aims.errors import InvalidInput, NotFound, StoreUnavailable
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

__all__ = ["DatabaseSource"]

_NEEDED = ("registered_models", "model_versions", "runs", "params", "tags")


class DatabaseSource:
    """The tracking database at a SQLAlchemy ``url`` (``sqlite:///mlflow.db``)."""

    def __init__(self, url: str, *, artifacts_root: Path | None = None) -> None:
        self.artifacts_root = artifacts_root
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InvalidInput(
                f"--tracking-uri {url!r} does not parse; give http://HOST:PORT, "
                "sqlite:///path/mlflow.db or a path to an mlruns folder"
            ) from None
        self.description = parsed.render_as_string(hide_password=True)
        self._folder: Path | None = None
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            if not path.is_file():
                raise NotFound(
                    f"{path}: no such MLflow database; check --tracking-uri "
                    "(sqlite:///path/mlflow.db)"
                )
            # Read-only: a copy handed over is never changed by importing it.
            parsed = parsed.set(database=f"file:{path.resolve()}?mode=ro", query={"uri": "true"})
            self._folder = path.resolve().parent
        try:
            self.engine: Engine = create_engine(parsed)
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except (NoSuchModuleError, ModuleNotFoundError):
            raise InvalidInput(
                f"{self.description}: no database driver for {parsed.drivername!r}; "
                "install it, or import through the MLflow server's URL"
            ) from None
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreUnavailable(
                f"cannot read MLflow database {self.description} ({reason}); nothing was imported"
            ) from None
        missing = [t for t in _NEEDED if t not in tables]
        if missing:
            self.engine.dispose()
            raise InvalidInput(
                f"{self.description} is not an MLflow tracking database (no table "
                f"{', '.join(missing)}); check --tracking-uri"
            )
        self._tables = tables
        with self.engine.connect() as conn:
            self._version_cols = {c["name"] for c in inspect(conn).get_columns("model_versions")}

    def close(self) -> None:
        """Release the database connection."""
        self.engine.dispose()

    def _rows(self, sql: str, **params: Any) -> Sequence[Any]:
        try:
            with self.engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        except DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreUnavailable(
                f"reading MLflow database {self.description} failed ({reason}); "
                "nothing was imported"
            ) from None

    def models(self, name: str | None = None) -> list[ModelRecord]:
        """Registered models with their versions and aliases."""
        names = [
            r[0]
            for r in self._rows("SELECT name FROM registered_models ORDER BY name")
            if name is None or r[0] == name
        ]
        if name is not None and not names:
            raise NotFound(
                f"MLflow database {self.description} has no registered model {name!r}; "
                "nothing was imported"
            )
        return [self._model(n) for n in names]

    def _model(self, name: str) -> ModelRecord:
        aliases = {}
        if "registered_model_aliases" in self._tables:
            aliases = {
                str(a): int(v)
                for a, v in self._rows(
                    "SELECT alias, version FROM registered_model_aliases WHERE name = :n", n=name
                )
            }
        tags = {}
        if "registered_model_tags" in self._tables:
            tags = dict(
                self._rows("SELECT key, value FROM registered_model_tags WHERE name = :n", n=name)
            )
        location_col = "storage_location" if "storage_location" in self._version_cols else "NULL"
        rows = self._rows(
            "SELECT version, creation_time, current_stage, status, run_id, source, "
            f"{location_col} FROM model_versions WHERE name = :n ORDER BY version",
            n=name,
        )
        versions = []
        for version, created, stage, status, run_id, source, location in rows:
            version_tags = {}
            if "model_version_tags" in self._tables:
                version_tags = dict(
                    self._rows(
                        "SELECT key, value FROM model_version_tags WHERE name = :n AND version = :v",
                        n=name,
                        v=version,
                    )
                )
            versions.append(
                VersionRecord(
                    model=name,
                    version=int(version),
                    created_at=from_millis(created),
                    stage=str(stage or "None"),
                    status=str(status or "READY"),
                    run_id=run_id or None,
                    source=str(source or ""),
                    artifact_location=location or self._location(str(source or "")),
                    tags={str(k): str(v) for k, v in version_tags.items()},
                )
            )
        return ModelRecord(
            name, aliases, tuple(versions), {str(k): str(v) for k, v in tags.items()}
        )

    def _location(self, source: str) -> str:
        """Where a version's files are when the row does not say (older MLflow releases)."""
        parsed = urlparse(source)
        if parsed.scheme == "models" and "logged_models" in self._tables:
            found = self._rows(
                "SELECT artifact_location FROM logged_models WHERE model_id = :m",
                m=source.removeprefix("models:/").strip("/"),
            )
            if found:
                return str(found[0][0])
        if parsed.scheme == "runs":
            run_id, _, rest = source.removeprefix("runs:/").partition("/")
            found = self._rows("SELECT artifact_uri FROM runs WHERE run_uuid = :r", r=run_id)
            if found:
                return f"{str(found[0][0]).rstrip('/')}/{rest}".rstrip("/")
        return source

    def run(self, run_id: str) -> RunRecord | None:
        """The run with its parameters, latest metrics, tags and dataset inputs."""
        found = self._rows(
            "SELECT run_uuid, experiment_id, name, user_id FROM runs WHERE run_uuid = :r", r=run_id
        )
        if not found:
            return None
        _, experiment_id, run_name, user = found[0]
        params = self._rows("SELECT key, value FROM params WHERE run_uuid = :r", r=run_id)
        tags = dict(self._rows("SELECT key, value FROM tags WHERE run_uuid = :r", r=run_id))
        table = "latest_metrics" if "latest_metrics" in self._tables else "metrics"
        metrics = self._rows(
            f"SELECT key, value, timestamp, step FROM {table} WHERE run_uuid = :r", r=run_id
        )
        return RunRecord(
            run_id=run_id,
            experiment_id=str(experiment_id),
            run_name=str(run_name or tags.get("mlflow.runName", "")),
            user=str(user or tags.get("mlflow.user", "")),
            params={str(k): str(v) for k, v in params},
            metrics=latest_metrics(metrics),
            tags={str(k): str(v) for k, v in tags.items()},
            datasets=self._datasets(run_id),
        )

    def _datasets(self, run_id: str) -> tuple[DatasetInput, ...]:
        if not {"inputs", "datasets"} <= self._tables:
            return ()
        rows = self._rows(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
            "d.dataset_schema, d.dataset_profile FROM inputs i JOIN datasets d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' "
            "AND i.destination_type = 'RUN' AND i.destination_id = :r ORDER BY d.name, d.digest",
            r=run_id,
        )
        out = []
        for input_id, name, digest, source_type, source, schema, profile in rows:
            context = None
            if "input_tags" in self._tables:
                found = self._rows(
                    "SELECT value FROM input_tags WHERE input_uuid = :i "
                    "AND name = 'mlflow.data.context'",
                    i=input_id,
                )
                context = str(found[0][0]) if found else None
            out.append(
                DatasetInput(
                    name=str(name),
                    digest=str(digest),
                    source_type=str(source_type or ""),
                    source=str(source or ""),
                    schema=colspec_schema(schema),
                    rows=profile_rows(profile),
                    context=context,
                )
            )
        return tuple(out)

    def read_artifact(self, location: str, path: str) -> bytes:
        """A model file from this machine's disk (``--artifacts`` for server-kept files).

        A relative location (``./mlartifacts/1/...``) is read from the folder
        holding ``mlflow.db``, where ``mlflow server`` usually ran.
        """
        relative = ":/" not in location and not Path(location).is_absolute()
        if self._folder is not None and relative:
            location = str(self._folder / location)
        return local_artifact(
            location, path, root=self.artifacts_root, what=f"MLflow artifact {location}"
        )

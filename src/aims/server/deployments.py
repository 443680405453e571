"""What the server serves, kept in step with the store without a restart.

:class:`Deployments` polls one cheap query (the newest stage transition) every
``poll_interval``. When it changes, the versions now in production, canary or
shadow are loaded off the request path (models already loaded are reused),
a new :class:`~aims.server.routing.RoutingTable` is built and swapped in with
one assignment. A request keeps the table it started with, so a promotion or
rollback never fails a request in flight.

A version that fails to load leaves its model on the versions it was served
with before (or unserved, if it is new); the load is retried every
``retry_seconds`` and the failure is counted and logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from aims.server.routing import ROLES, ModelRoutes, RoutingTable, ServedVersion
from aims.storage.schema import Model, ModelVersion, StageTransition
from aims.workspace import Workspace

log = logging.getLogger("aims.server")


def _contract_of(text: str | None, name: str) -> Any:
    if not text:
        return None
    from aims.core.contract import parse_contract

    return parse_contract(text, source=f"input contract of {name}")


def _summary(contract: Any) -> list[dict[str, Any]]:
    if contract is None:
        return []
    return [
        {
            "name": c.name,
            "type": c.logical_type,
            "required": bool(c.required or c.primary_key),
            "minimum": c.minimum,
            "maximum": c.maximum,
            "allowed_values": c.strict_allowed_values(),
            "pii": c.pii,
        }
        for c in contract.table().columns
        if not c.label
    ]


def load_served(ws: Workspace, row: dict[str, Any], runtime: str = "native") -> ServedVersion:
    """Load one version (artifact verified by sha256) and compile its input checks.

    With ``runtime="onnx"`` a scikit-learn model is served through its checked
    ONNX conversion (:mod:`aims.server.onnx_serving`).
    """
    from aims.core.contract import Column, Contract, RecordValidator, Table, pii_columns
    from aims.services.registry import load_version

    name = row["name"]
    loaded = load_version(ws, row)
    contract = _contract_of(row["input_contract"], f"{name}@{row['version']}")
    features = list(loaded.feature_names or row["info"].get("feature_names") or [])
    inputs = [c for c in contract.table().columns if not c.label] if contract is not None else []
    if not features:
        # A model trained on an unnamed matrix reads the contract's columns in
        # contract order, except the business key, which identifies a row.
        features = [c.name for c in inputs if not c.primary_key]
    if contract is None and features:
        # No contract: still refuse records that lack a feature or leave it empty.
        contract = Contract(name, [Table(name, [Column(f, required=True) for f in features])])
        inputs = contract.table().columns
    if runtime == "onnx":
        from aims.server.onnx_serving import onnx_form

        loaded = onnx_form(ws, row, loaded, features)
    validator = RecordValidator(contract) if contract is not None else None
    logged = tuple(c.name for c in inputs) or tuple(features)
    keys = [c.name for c in inputs if c.primary_key]
    classes = loaded.classes_
    return ServedVersion(
        model=name,
        project=row["project"],
        version=row["version"],
        version_id=row["id"],
        artifact_sha256=row["artifact_sha256"],
        flavour=row["flavour"],
        task=loaded.task,
        features=tuple(features),
        classes=tuple(c.item() if hasattr(c, "item") else c for c in classes)
        if classes is not None
        else None,
        loaded=loaded,
        validator=validator,
        logged_columns=logged,
        pii=pii_columns(contract) if row["input_contract"] else {},
        key_column=keys[0] if keys else None,
        contract_summary=_summary(contract),
        loaded_at=datetime.now(UTC),
    )


class Deployments:
    """The current routing table and the watcher that refreshes it.

    Parameters
    ----------
    ws
        The workspace whose store is watched.
    poll_interval
        Seconds between polls; a promotion or rollback is served within about
        one interval plus the time to load the new model.
    on_swap
        Called with each new table, after the swap (e.g. to update metrics).
    retry_seconds
        How often a version that failed to load is tried again.
    runtime_of
        ``runtime_of(model)``: ``onnx`` to serve the model through its ONNX
        conversion, ``native`` (the default) for the model itself.
    """

    def __init__(
        self,
        ws: Workspace,
        *,
        poll_interval: float = 0.5,
        on_swap: Callable[[RoutingTable], None] | None = None,
        retry_seconds: float = 5.0,
        runtime_of: Callable[[str], str] | None = None,
    ) -> None:
        self.ws = ws
        self.poll_interval = poll_interval
        self.on_swap = on_swap
        self.retry_seconds = retry_seconds
        self.runtime_of = runtime_of
        self.table = RoutingTable()
        self.ready = False
        self.load_errors: dict[str, str] = {}
        self.last_poll_ok = 0.0
        self._last_attempt = 0.0
        self._lock = threading.Lock()

    def fingerprint(self) -> tuple[Any, ...]:
        """A value that changes whenever any version changes stage (one indexed query, read
        without the store's write lock: it runs every poll interval)."""
        with self.ws.db.reading(), self.ws.db.session() as s:
            newest, count = s.execute(
                select(func.max(StageTransition.id), func.count(StageTransition.id))
            ).one()
        return (newest, count)

    def _rows(self) -> list[dict[str, Any]]:
        with self.ws.db.reading(), self.ws.db.session() as s:
            result = s.execute(
                select(ModelVersion, Model)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(ModelVersion.stage.in_(ROLES))
                # An LLM application runs in its own code and sends traces; nothing to load.
                .where(ModelVersion.flavour != "llm-app")
                .order_by(Model.name, ModelVersion.version)
            ).all()
            return [
                {
                    "id": mv.id,
                    "name": m.name,
                    "project": m.project,
                    "version": mv.version,
                    "stage": mv.stage,
                    "traffic": mv.traffic,
                    "artifact_sha256": mv.artifact_sha256,
                    "flavour": mv.flavour,
                    "trusted": mv.trusted,
                    "info": dict(mv.info or {}),
                    "input_contract": mv.input_contract,
                    # The training data, which an ONNX conversion is checked on.
                    "dataset_source": mv.inputs[0].source if mv.inputs else None,
                    "dataset_artifact": mv.inputs[0].artifact_sha256 if mv.inputs else None,
                }
                for mv, m in result
            ]

    def refresh(self, *, force: bool = False) -> bool:
        """Rebuild the table if the store changed (or a failed load is due a retry).

        Returns whether a new table was swapped in.
        """
        with self._lock:
            fingerprint = self.fingerprint()
            self.last_poll_ok = time.monotonic()
            retry = bool(self.load_errors) and (
                time.monotonic() - self._last_attempt >= self.retry_seconds
            )
            if not force and not retry and self.ready and fingerprint == self.table.fingerprint:
                return False
            self._last_attempt = time.monotonic()
            table = self._build(fingerprint)
            self.table = table  # the swap: one reference assignment
            self.ready = True
            self.last_poll_ok = time.monotonic()
        if self.on_swap is not None:
            self.on_swap(table)
        return True

    def _build(self, fingerprint: tuple[Any, ...]) -> RoutingTable:
        old = self.table
        cache = old.loaded()
        by_model: dict[str, dict[str, ServedVersion]] = {}
        projects: dict[str, str] = {}
        traffic: dict[str, float] = {}
        failed: set[str] = set()
        errors: dict[str, str] = {}
        for row in self._rows():
            name = row["name"]
            projects[name] = row["project"]
            served = cache.get((row["id"], row["artifact_sha256"]))
            if served is None or served.project != row["project"]:
                try:
                    runtime = self.runtime_of(name) if self.runtime_of is not None else "native"
                    served = load_served(self.ws, row, runtime)
                except Exception as exc:  # one bad version must not stop the others
                    ref = f"{name}@{row['version']}"
                    errors[ref] = f"{type(exc).__name__}: {exc}"
                    log.error("cannot load %s for serving: %s", ref, errors[ref])
                    failed.add(name)
                    continue
            by_model.setdefault(name, {})[row["stage"]] = served
            if row["stage"] == "canary":
                traffic[name] = float(row["traffic"] or 0.0)
        models: dict[str, ModelRoutes] = {}
        for name, project in projects.items():
            if name in failed:
                if name in old.models:
                    models[name] = old.models[name]
                continue
            roles = by_model.get(name, {})
            models[name] = ModelRoutes(
                name=name,
                project=project,
                production=roles.get("production"),
                canary=roles.get("canary"),
                traffic=traffic.get(name, 0.0),
                shadow=roles.get("shadow"),
            )
        self.load_errors = errors
        return RoutingTable(models, fingerprint)


class Ticker:
    """A daemon thread that runs tasks every ``interval`` seconds until stopped.

    Each task has its own error handling: one failing task (the store being
    briefly unreachable) neither stops the thread nor the other tasks.
    """

    def __init__(self, interval: float, tasks: list[Callable[[], Any]], name: str) -> None:
        self.interval = interval
        self.tasks = tasks
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for task in self.tasks:
                try:
                    task()
                except Exception as exc:
                    self.failures += 1
                    log.warning(
                        "background task %s failed: %s", getattr(task, "__name__", task), exc
                    )

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

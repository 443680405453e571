"""The prediction API: ``GET /v1/models``, ``GET /v1/models/{name}``, ``POST .../predict``.

A predict request is parsed and checked against the serving version's input
contract, answered by the model, queued for the prediction log (an O(1)
append; a background thread writes it) and counted in the metrics. When a
shadow version runs beside production, it gets a copy of the records on a
worker thread after the answer is computed: its outputs are logged, never
returned, and its failures are counted, never raised.

Requests reach this code through :mod:`aims.server.fastpath`, which answers
them in front of the framework and its middleware, with the same checks; the
route below documents the operation.

Without batching the model runs on the event loop thread: for the small, fast
models this server is built for, a hand-off to a thread would cost more than
it saves when requests come one at a time. With batching on (the default),
concurrent requests for one version share model calls, on the event loop when
the version's calls are cheap and on a small thread pool when they are not
(:mod:`aims.server.batching`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from aims.errors import (
    InvalidInput,
    ModelFailed,
    NotFound,
    StoreUnavailable,
)
from aims.server.auth import Principal, require
from aims.server.batching import Batcher
from aims.server.metrics import PROBABILITY_EDGES, VALUE_EDGES, ServerMetrics
from aims.server.outputs import Outputs, plain
from aims.server.predict_request import Asked, check_request
from aims.server.problems import PROBLEM_JSON
from aims.server.routing import ModelRoutes, ServedVersion
from aims.server.schemas import (
    ModelInfo,
    ModelList,
    PredictRequest,
    PredictResponse,
    ProblemDetails,
)
from aims.server.validation import (
    contract_errors,
)
from aims.storage.predlog.ids import new_ids

log = logging.getLogger("aims.server")

ROUTING_HEADER = "x-routing-key"
PREDICT_ROLE = "predictor"
"""The lowest role that may predict (also enforced by the fast path)."""


class Predictor:
    """Answers predict requests and feeds the log, the metrics and the shadow."""

    def __init__(
        self,
        writer: Any,
        metrics: ServerMetrics,
        *,
        salt: str,
        max_records: int,
        shadow_workers: int = 1,
        shadow_queue: int = 1000,
        batcher: Batcher | None = None,
    ) -> None:
        self.writer = writer
        self.metrics = metrics
        self.salt = salt
        self.max_records = max_records
        self.shadow_queue = shadow_queue
        self.batcher = batcher
        self._shadow = ThreadPoolExecutor(shadow_workers, thread_name_prefix="aims-shadow")
        self._shadow_pending = 0
        self._shadow_lock = threading.Lock()

    async def predict(
        self,
        routes: ModelRoutes,
        body: bytes,
        routing_key: str | None,
        request_id: str,
        query: str | bytes = b"",
    ) -> dict[str, Any]:
        """Answer one request; raises an ``AimsError`` for a refused one (counted).

        Nothing is acknowledged that is not queued for the prediction log: the
        writer's :meth:`~aims.storage.predlog.PredictionLogWriter.append`
        checks every logged value and refuses (422, rule ``storable``) what
        the log could not store, before the answer is built.

        With ``errors=per_row`` in ``query``, rows that break the input
        contract are reported under ``rejected`` and the others predicted; the
        request is refused (422) only when no row is valid. Values breaking a
        ``warn`` rule are predicted either way, counted on ``/metrics`` and
        recorded with their predictions in the log.

        The model call is shared with concurrent requests for the same version
        when batching is on (:mod:`aims.server.batching`); everything else is
        this request's own.
        """
        asked = check_request(
            routes, body, routing_key, query, metrics=self.metrics, max_records=self.max_records
        )
        served = asked.served
        try:
            if self.batcher is not None and self.batcher.enabled(served.model):
                out = await self.batcher.outputs(served, asked.records)
            else:
                out = Outputs(served, asked.records)
        except InvalidInput:
            self.metrics.requests.labels(*asked.labels, "422").inc()
            raise
        except Exception as exc:
            self.metrics.requests.labels(*asked.labels, "500").inc()
            log.exception("model %s@%s failed", served.model, served.version)
            # The exception's text is left out: it may quote an input value.
            raise ModelFailed(
                f"model {served.model}@{served.version} failed ({type(exc).__name__}); "
                "see the server log"
            ) from None
        return self._answer(routes, asked, out, request_id)

    def _answer(
        self, routes: ModelRoutes, asked: Asked, out: Outputs, request_id: str
    ) -> dict[str, Any]:
        """Log, count and shadow a computed request, then build its answer."""
        served, role, labels, records = asked.served, asked.role, asked.labels, asked.records
        ids = new_ids(len(records))
        elapsed = time.perf_counter() - asked.started
        try:
            self._log(served, role, records, out, ids, request_id, elapsed, asked.flags)
        except StoreUnavailable:
            # The log queue is full (its storage is failing): refuse rather than
            # acknowledge predictions that would not be logged.
            self.metrics.requests.labels(*labels, "503").inc()
            raise
        except InvalidInput as exc:
            # A value the log cannot store: refused, so it is never acknowledged.
            for rule in {d.get("rule", exc.code) for d in exc.details} or {exc.code}:
                self.metrics.rejected.labels(served.model, rule).inc()
            self.metrics.requests.labels(*labels, "422").inc()
            raise
        self._observe(served, labels, out, elapsed)
        if routes.shadow is not None and routes.shadow is not served:
            self._submit_shadow(routes.shadow, records, request_id)
        proba = out.proba.tolist() if out.proba is not None else None
        predictions = plain(out.predictions)
        answered: list[dict[str, Any]] = [
            {
                "prediction_id": ids[i],
                "prediction": predictions[i],
                "probabilities": proba[i] if proba is not None else None,
            }
            for i in range(len(ids))
        ]
        answer: dict[str, Any] = {
            "model": served.model,
            "version": served.version,
            "role": role,
            "request_id": request_id,
            "classes": list(served.classes) if served.classes is not None else None,
            "predictions": answered,
        }
        if asked.per_row:
            rows = asked.rows
            for i, p in enumerate(answered):
                p["row"] = rows[i] if rows is not None else i
            answer["rejected"] = asked.rejected
        return answer

    def _log(
        self,
        served: ServedVersion,
        role: str,
        records: Sequence[dict[str, Any]],
        out: Outputs,
        ids: list[str],
        request_id: str,
        elapsed: float,
        warnings: list[str | None] | None = None,
    ) -> None:
        columns = served.logged_columns
        # A record holding exactly the logged columns, in their order (the usual
        # case), is logged as it is: it is this request's own, parsed from its body,
        # and nothing changes it afterwards. Any other is projected onto them.
        inputs = [r if tuple(r) == columns else {c: r.get(c) for c in columns} for r in records]
        keys = None
        key_column = served.key_column
        if key_column is not None:
            keys = [None if row.get(key_column) is None else str(row[key_column]) for row in inputs]
        if served.pii:
            # Imported here: the prediction log's schema module loads Polars, which a
            # server taking in only traces never needs.
            from aims.storage.predlog.schema import apply_pii

            inputs = apply_pii(inputs, served.pii, self.salt)
            if keys is not None and key_column is not None and key_column in served.pii:
                action = served.pii[key_column]
                keys = (
                    [None] * len(keys) if action == "drop" else [r.get(key_column) for r in inputs]
                )
        self.writer.append(
            served.model,
            served.version,
            role,
            inputs,
            out.predictions.tolist(),
            scores=out.scores.tolist() if out.scores is not None else None,
            proba=out.proba.tolist() if out.proba is not None else None,
            prediction_ids=ids,
            request_id=request_id,
            latency_ms=elapsed * 1000.0,
            keys=keys,
            contract_warnings=warnings,
        )

    def _observe(
        self, served: ServedVersion, labels: tuple[str, str, str], out: Outputs, elapsed: float
    ) -> None:
        m = self.metrics
        series = m.answered(labels)
        series.ok.inc()
        series.latency.observe(elapsed)
        if out.scores is not None:
            edges = PROBABILITY_EDGES if out.proba is not None else VALUE_EDGES
            m.scores.observe_many(labels, out.scores, edges)
        if served.classes is not None:
            series.count_classes(out.predictions.tolist())

    def _submit_shadow(
        self, shadow: ServedVersion, records: list[dict[str, Any]], request_id: str
    ) -> None:
        with self._shadow_lock:
            if self._shadow_pending >= self.shadow_queue:
                self.metrics.shadow_dropped.labels(shadow.model, str(shadow.version)).inc()
                return
            self._shadow_pending += 1
        try:
            self._shadow.submit(self._run_shadow, shadow, records, request_id)
        except RuntimeError:  # the pool is shut down: the server is stopping
            with self._shadow_lock:
                self._shadow_pending -= 1

    def _run_shadow(
        self, shadow: ServedVersion, records: list[dict[str, Any]], request_id: str
    ) -> None:
        labels = (shadow.model, str(shadow.version), "shadow")
        try:
            started = time.perf_counter()
            errors = contract_errors(shadow.validator, records)
            if errors:
                for rule in {e["rule"] for e in errors}:
                    self.metrics.rejected.labels(shadow.model, rule).inc()
                self.metrics.requests.labels(*labels, "422").inc()
                return
            out = Outputs(shadow, records)
            elapsed = time.perf_counter() - started
            ids = new_ids(len(records))
            self._log(shadow, "shadow", records, out, ids, request_id, elapsed)
            self._observe(shadow, labels, out, elapsed)
        except Exception as exc:  # a shadow's failure never reaches a caller
            self.metrics.shadow_errors.labels(shadow.model, str(shadow.version)).inc()
            self.metrics.requests.labels(*labels, "500").inc()
            log.debug("shadow %s@%s failed: %s", shadow.model, shadow.version, exc)
        finally:
            with self._shadow_lock:
                self._shadow_pending -= 1

    def close(self) -> None:
        """Finish model calls and queued shadow calls (their predictions are logged)."""
        if self.batcher is not None:
            self.batcher.close()
        self._shadow.shutdown(wait=True)


# -- routes ------------------------------------------------------------------


def _problem_doc(text: str) -> dict[str, Any]:
    return {"model": ProblemDetails, "description": text, "content": {PROBLEM_JSON: {}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    status: _problem_doc(text)
    for status, text in (
        (401, "Missing, invalid, expired or revoked token."),
        (403, "The token's role is too low, or its project does not own the model."),
        (404, "The model is not served."),
        (429, "The key's rate limit is exceeded (see Retry-After)."),
    )
}
PREDICT_ERRORS = {
    **ERRORS,
    400: _problem_doc("The body is not JSON (or too deeply nested, or not UTF-8)."),
    413: _problem_doc("Body or row count over the limit."),
    422: _problem_doc(
        "A record breaks the input contract, or holds a value the log cannot store; "
        "errors name field and rule."
    ),
    500: _problem_doc("The model failed."),
    503: _problem_doc("The prediction log cannot keep up; nothing was acknowledged."),
}

router = APIRouter(tags=["prediction"])


def _state(request: Request) -> Any:
    return request.app.state.aims


@router.get("/v1/models", response_model=ModelList, responses=ERRORS)
async def list_models(
    request: Request,
    project: str | None = Query(None, description="Only this project's models."),
    principal: Principal = Depends(require("viewer")),
) -> dict[str, Any]:
    """The models served, with their versions, roles and input contracts."""
    table = _state(request).deployments.table
    return {
        "models": [
            routes.describe()
            for routes in table.models.values()
            if principal.may_access(routes.project)
            and (project is None or routes.project == project)
            and routes.production is not None
        ]
    }


@router.get("/v1/models/{name}", response_model=ModelInfo, responses=ERRORS)
async def describe_model(
    name: str, request: Request, principal: Principal = Depends(require("viewer"))
) -> dict[str, Any]:
    """One served model: its versions (production, canary, shadow) and input contract."""
    routes = _state(request).deployments.table.get(name)
    if routes is None or routes.production is None:
        raise NotFound(f"model {name!r} is not served")
    return routes.describe()


@router.post(
    "/v1/models/{name}/predict",
    response_model=PredictResponse,
    responses=PREDICT_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
        }
    },
)
async def predict(
    name: str,
    request: Request,
    errors: Literal["all", "per_row"] = Query(
        "all",
        description="all (the default): one row breaking the input contract refuses the "
        "request (422). per_row: valid rows are predicted and logged, invalid ones listed "
        "under `rejected` with their row index and reasons; 200 when at least one row was "
        "predicted, 422 when none was.",
    ),
    principal: Principal = Depends(require(PREDICT_ROLE)),
) -> Response:
    """Predict for records or columns; each row gets a prediction id for later labels."""
    state = _state(request)
    routes = state.deployments.table.get(name)
    if routes is None:
        raise NotFound(f"model {name!r} is not served")
    request_id = uuid.uuid4().hex
    request.state.request_id = request_id
    body = await request.body()
    result = await state.predictor.predict(
        routes,
        body,
        request.headers.get(ROUTING_HEADER),
        request_id,
        request.scope.get("query_string", b""),
    )
    return Response(
        json.dumps(result).encode(),
        media_type="application/json",
        headers={"X-Request-ID": request_id},
    )

"""The ASGI app of ``aims serve``: :func:`create_app` wires the parts together.

=====================================  =========  ==============================================
route                                  role       what
=====================================  =========  ==============================================
``GET /healthz``                       (none)     the process is up
``GET /readyz``                        (none)     models loaded, store reachable, log writers on
``POST /v1/auth/token``                (API key)  exchange an API key for a token
``GET /v1/models``                     viewer     the served models
``GET /v1/models/{name}``              viewer     one served model
``POST /v1/models/{name}/predict``     predictor  predictions
``POST /v1/labels``                    predictor  ground truth for earlier predictions
``GET /metrics``                       viewer     Prometheus exposition (own project's models)
=====================================  =========  ==============================================

The OpenAPI document (``/openapi.json``) is public; it names each
operation's role as ``x-aims-role``. The interactive pages ``/docs`` and
``/redoc`` are served only with ``server.api_docs: true``. More routers (the
dashboard, the monitoring API) are added with ``create_app(..., routers=[...])``
and guard their routes with :func:`aims.server.auth.require`.

Around the routes, outermost first: security headers on every answer
(:mod:`~aims.server.headers`), the client address from trusted proxies
(:mod:`~aims.server.proxies`), the cross-site check on state changes
(:mod:`~aims.server.origin`), authentication and the body limit before a body
is read (:mod:`~aims.server.admission`). Predict requests are answered in front
of all of these, with the same checks (:mod:`~aims.server.fastpath`).
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from aims.errors import ConfigError, PermissionDenied
from aims.server.admission import Admission
from aims.server.announce import Announcer, RefusalSummary
from aims.server.auth import Guard, Principal, TokenIssuer, require
from aims.server.batching import Batcher
from aims.server.collector import quieten
from aims.server.config import ServerConfig, token_secret
from aims.server.deployments import Deployments, Ticker
from aims.server.fastpath import PredictFront
from aims.server.governance import routers as governance_routers
from aims.server.headers import SecurityHeaders
from aims.server.lifespan import run_hooks
from aims.server.metrics import ServerMetrics
from aims.server.oidc import oidc_authority
from aims.server.origin import SameOrigin
from aims.server.predict import ERRORS, Predictor
from aims.server.problems import ApiError, install_handlers
from aims.server.proxies import ClientAddress
from aims.server.ratelimit import RateLimiter, address_bucket
from aims.server.route_roles import document_roles
from aims.server.routing import RoutingTable
from aims.server.schemas import ErrorResponse, Health, TokenRequest, TokenResponse
from aims.services import keys
from aims.services.identity import KEY_ID_RE
from aims.services.personal_data import pii_salt
from aims.workspace import Workspace

log = logging.getLogger("aims.server")


PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/v1/auth/token",
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        # MCP (aims.server.mcp): the endpoint checks its own audience-bound tokens;
        # the OAuth metadata and token endpoint are how a client gets one.
        "/mcp",
        "/oauth/token",
        "/oauth/authorize",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        # The MCP gateway (aims.server.gateway) checks its own audience-bound tokens too.
        "/gateway/mcp",
    }
)
"""Routes that take no API token: health checks, the token exchanges, the API documents,
and ``/mcp``, which checks its own tokens."""

TOKEN_RATE = (2.0, 10.0)
"""Token exchanges per second and burst per client address (each costs an argon2 check)."""

INSECURE_BANNER = (
    "\n"
    "  !!  aims serve --insecure-dev: AUTHENTICATION IS OFF  !!\n"
    "  Anyone who can reach this port may call every route as admin of every project.\n"
    "  Use it on your own machine only; never expose it to a network.\n"
)


@dataclass
class AppState:
    """Everything the routes share, as ``request.app.state.aims``."""

    ws: Workspace
    config: ServerConfig
    deployments: Deployments
    metrics: ServerMetrics
    guard: Guard
    predictor: Predictor
    writer: Any
    salt: str
    token_limiter: RateLimiter
    insecure_dev: bool
    ticker: Ticker | None = None


def exchange_key(state: AppState, api_key: str, *, client: str, path: str) -> dict[str, Any]:
    """The key behind ``api_key``, for a token or a dashboard session.

    Each exchange costs an argon2 check, so exchanges are rate-limited per
    client address; a refused one (limited, or a wrong key) raises
    ``ApiError`` (429 or 401), counted on ``/metrics`` and noted for the audit log.
    """
    wait = state.token_limiter.wait_time(address_bucket(client))
    if wait:
        error = ApiError(
            429,
            "rate_limited",
            f"too many key exchanges from {client}; retry after {wait:.1f} s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
        error.reason = "token_rate_limited"
        raise state.guard.refuse(error, client=client, path=path)
    try:
        return keys.verify_key(state.ws, api_key)
    except PermissionDenied as exc:
        error = ApiError(401, "unauthenticated", exc.message)
        error.reason = "invalid_key"
        parts = api_key.split(".")
        key_id = parts[1] if len(parts) >= 3 and KEY_ID_RE.match(parts[1]) else None
        raise state.guard.refuse(error, client=client, path=path, key_id=key_id) from None


def _limit_of(config: ServerConfig) -> Callable[[str], int]:
    def limit(path: str) -> int:
        if path.endswith("/predict"):
            return config.max_body_bytes
        if path == "/v1/labels":
            return config.max_label_body_bytes
        if path == "/v1/traces":
            from aims.server.traces import TRACE_BODY_BYTES

            return TRACE_BODY_BYTES
        return 65_536

    return limit


def create_app(
    ws: Workspace,
    *,
    insecure_dev: bool = False,
    config: ServerConfig | None = None,
    routers: Sequence[APIRouter] = (),
    collectors: Sequence[Any] = (),
) -> FastAPI:
    """The server app for workspace ``ws``.

    Refuses (``ConfigError``) to build a secured app when no API key is active,
    since nobody could call it: create one with ``aims keys create``. With
    ``insecure_dev`` every call is admitted as an admin of every project.
    """
    from aims.server import labels, predict, traces
    from aims.server.log_writer import DeferredLogWriter

    config = config or ServerConfig.from_workspace(ws)
    # With single sign-on, people sign in through the provider: no key is needed.
    if not insecure_dev and config.oidc is None and keys.active_key_count(ws) == 0:
        raise ConfigError(
            "no active API key exists, so nobody could call the server; create one with "
            "'aims keys create --project P --role predictor' (or pass --insecure-dev on "
            "your own machine)"
        )
    metrics = ServerMetrics()
    for collector in collectors:  # e.g. the monitor's latest window results
        metrics.registry.register(collector)
    issuer = TokenIssuer(token_secret(ws), config.token_ttl_seconds)
    guard = Guard(
        issuer, RateLimiter(config.rate_limit, config.rate_burst), metrics, insecure=insecure_dev
    )
    guard.oidc = None if insecure_dev else oidc_authority(ws, config)

    announce = Announcer()

    def on_swap(table: RoutingTable) -> None:
        announce(table)
        metrics.reloads.labels("swapped").inc()
        metrics.set_served(
            (r.project, r.name, v.version, role, r.traffic if role == "canary" else None)
            for r in table.models.values()
            for v, role in r.served()
        )

    deployments = Deployments(
        ws, poll_interval=config.poll_interval, on_swap=on_swap, runtime_of=config.runtime_of
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The log writer flushes a little more often than the promised window,
        # leaving the rest of the window for the write itself. It is made with the
        # first prediction: a server serving no model never loads Polars for it.
        writer = DeferredLogWriter(
            ws.settings.prediction_log_url, flush_interval=0.8 * config.flush_interval
        )
        metrics.watch_log(
            lambda: {
                "aims_prediction_log_rows": writer.stats.rows_written,
                "aims_prediction_log_errors": writer.stats.flush_errors,
                "aims_prediction_log_queued_rows": writer.stats.queued_rows,
                "aims_prediction_log_dropped_rows": writer.stats.rows_dropped,
            }
        )
        salt = pii_salt(ws)
        predictor = Predictor(
            writer,
            metrics,
            salt=salt,
            max_records=config.max_records,
            shadow_workers=config.shadow_workers,
            shadow_queue=config.shadow_queue,
            batcher=Batcher(metrics, config.batch_limits),
        )
        state = AppState(
            ws=ws,
            config=config,
            deployments=deployments,
            metrics=metrics,
            guard=guard,
            predictor=predictor,
            writer=writer,
            salt=salt,
            token_limiter=RateLimiter(*TOKEN_RATE),
            insecure_dev=insecure_dev,
        )
        app.state.aims = state
        if insecure_dev:
            sys.stderr.write(INSECURE_BANNER)
            log.warning("authentication is OFF (--insecure-dev)")
        await run_in_threadpool(deployments.refresh, force=True)
        thresholds = quieten()  # what is alive now stays alive: see aims.server.collector
        last_audit = [time.monotonic()]

        def refresh_revoked() -> None:
            guard.refresh_revoked(ws)  # revoked keys, and tokens revoked by a log-out

        def flush_audit() -> None:
            if time.monotonic() - last_audit[0] >= config.auth_audit_interval:
                last_audit[0] = time.monotonic()
                guard.events.flush(ws)

        if not insecure_dev:
            refresh_revoked()
        refusals = RefusalSummary(metrics, config.refusal_summary_seconds)
        tasks: list[Callable[[], Any]] = [deployments.refresh, flush_audit, refusals]
        if not insecure_dev:
            tasks.insert(1, refresh_revoked)
        state.ticker = Ticker(config.poll_interval, tasks, "aims-deployments")
        state.ticker.start()
        try:
            async with run_hooks(app):
                yield
        finally:
            gc.set_threshold(*thresholds)
            state.ticker.stop()
            # Order matters: shadows still queued write to the log, then the
            # log is flushed, so a clean shutdown loses nothing acknowledged.
            await run_in_threadpool(predictor.close)
            await run_in_threadpool(writer.close)
            try:
                await run_in_threadpool(guard.events.flush, ws)
            except Exception as exc:  # the store may be gone at shutdown
                log.warning("could not audit the last refused calls: %s", exc)

    app = FastAPI(
        title="aims",
        summary="Prediction API of aims: served models, predictions, labels, metrics.",
        version=_version(),
        lifespan=lifespan,
        # Swagger UI and ReDoc load from a CDN: off unless server.api_docs asks for them.
        docs_url="/docs" if config.api_docs else None,
        redoc_url="/redoc" if config.api_docs else None,
    )
    install_handlers(app)
    app.include_router(_system_router())
    app.include_router(predict.router)
    app.include_router(labels.router)
    for governance in governance_routers():
        app.include_router(governance)
    traces.install(app)
    for extra in routers:
        app.include_router(extra)
    if insecure_dev:

        @app.middleware("http")
        async def _mark_insecure(request: Request, call_next: Any) -> Response:
            response = await call_next(request)
            response.headers["X-Aims-Auth"] = "disabled"
            return response

    app.add_middleware(
        Admission,
        guard=guard,
        limit_of=_limit_of(config),
        public=PUBLIC_PATHS,
        upload_limit=config.max_upload_bytes,
        on_reject=lambda path: metrics.rejected.labels(_model_of(path), "max_body_bytes").inc(),
        answers={"/v1/traces": traces.refusal},
    )
    app.add_middleware(SameOrigin, insecure=insecure_dev)
    if config.trusted_proxies:
        app.add_middleware(ClientAddress, networks=config.proxy_networks())
    # Security headers outside even the error middleware (error answers carry them); predict
    # requests and app.state.fronts' paths (the MCP gateway) in front of it all, with the same
    # checks (fastpath.py). Starlette has no hook there: the method is replaced on this app.
    build_stack = app.build_middleware_stack
    networks = config.proxy_networks() if config.trusted_proxies else []
    app.state.fronts = {}
    app.build_middleware_stack = lambda: PredictFront(  # type: ignore[method-assign]
        SecurityHeaders(build_stack()), app, networks, app.state.fronts
    )
    document_roles(app)
    return app


def _model_of(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) == 4 and parts[:2] == ["v1", "models"] else ""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aims")
    except PackageNotFoundError:
        return "0"


def _system_router() -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up (liveness)."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": Health, "description": "Not ready."}},
    )
    async def readyz(request: Request) -> Response:
        """Ready for traffic: models loaded, store polled recently, prediction log and span
        store running."""
        state: AppState = request.app.state.aims
        d = state.deployments
        stale = time.monotonic() - d.last_poll_ok > max(5.0, 10 * d.poll_interval)
        log_error = state.writer.stats.last_error
        # Set by the span store's lifespan hook (aims.server.traces.install).
        traces = getattr(request.app.state, "traces", None)
        span_error = traces.writer.stats.last_error if traces is not None else None
        if d.ready and not stale and log_error is None and span_error is None:
            return JSONResponse({"status": "ready"})
        reason = (
            "loading models"
            if not d.ready
            else "the store has not answered recently"
            if stale
            else f"the prediction log cannot be written ({log_error})"
            if log_error is not None
            else f"the span store cannot be written ({span_error})"
        )
        return JSONResponse({"status": f"not ready: {reason}"}, status_code=503)

    @router.get(
        "/metrics",
        tags=["metrics"],
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
            **ERRORS,
        },
        response_class=Response,
    )
    async def metrics(
        request: Request,
        project: str | None = Query(None, description="Only this project's models."),
        principal: Principal = Depends(require("viewer")),
    ) -> Response:
        """Prometheus metrics; a project's token sees only its own models' series."""
        from prometheus_client import CONTENT_TYPE_LATEST

        state: AppState = request.app.state.aims
        if project is not None:
            projects: set[str] | None = {project}
        elif principal.project == keys.ALL_PROJECTS:
            projects = None
        else:
            projects = {principal.project}
        body = state.metrics.exposition(projects)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @router.post(
        "/v1/auth/token",
        response_model=TokenResponse,
        tags=["auth"],
        responses={
            401: {"model": ErrorResponse, "description": "The API key is not valid."},
            429: {"model": ErrorResponse, "description": "Too many attempts from this client."},
        },
    )
    async def token(body: TokenRequest, request: Request) -> dict[str, Any]:
        """Exchange an API key for a signed token (valid ``token_ttl_seconds``)."""
        state: AppState = request.app.state.aims
        client = request.client.host if request.client else "unknown"
        key = await run_in_threadpool(
            exchange_key, state, body.api_key, client=client, path=request.url.path
        )
        access, lifetime = state.guard.issuer.issue(key)
        state.guard.events.note("server.token.issued", f"apikey:{key['key_id']}", "issued", "")
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": lifetime,
            "project": key["project"],
            "role": key["role"],
        }

    return router

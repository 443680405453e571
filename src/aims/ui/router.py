"""The dashboard's routes, mounted at ``/ui`` by the server (:func:`mount_ui`).

Login exchanges an API key for a session cookie holding a signed token (the
same tokens the API uses), so the dashboard has the same roles, projects and
expiry as the API. Viewers see no write actions; a model of another project is
a 404, as on the API. Access control comes through the :class:`UiAuth` port
(:mod:`aims.ui.port`), which the server implements.

Every form carries a CSRF token that must match the ``aims_csrf`` cookie
(double submit), on top of the server's check of ``Origin`` on every
state-changing request. Cookies are ``HttpOnly``, ``SameSite=Strict`` and,
over HTTPS, ``Secure``. Logging out (a POST) revokes the session's token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from aims.clock import utc
from aims.errors import AimsError, NotFound, PermissionDenied
from aims.ui import audit_log, compliance, incidents, inventory, llm_routes, monitoring
from aims.ui.page_context import PageContext
from aims.ui.port import LoginRefused, OpenSessions, UiAuth, Viewer
from aims.ui.sso_routes import add_sso_routes
from aims.workspace import Workspace

__all__ = [
    "LoginRefused",
    "OpenSessions",
    "UiAuth",
    "Viewer",
    "build_router",
    "duration",
    "mount_ui",
    "utc_time",
]

HERE = Path(__file__).parent
COOKIE = "aims_session"
CSRF_COOKIE = "aims_csrf"
MAX_VERSION = 2**31 - 1
"""Largest version number a URL may name (the store's integer column); larger ones are 404."""
APPROVER_ROLES = frozenset({"approver", "admin"})


def mount_ui(
    app: FastAPI,
    ws: Workspace,
    auth: UiAuth,
    prefix: str = "/ui",
    *,
    secure_cookies: bool | None = None,
) -> None:
    """Serve the dashboard under ``prefix`` on ``app``.

    ``secure_cookies``: mark cookies ``Secure`` always (True), never (False),
    or when the request came over HTTPS (None).
    """
    app.mount(f"{prefix}/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(
        build_router(ws, auth, prefix, secure_cookies=secure_cookies),
        prefix=prefix,
        include_in_schema=False,
    )


def build_router(
    ws: Workspace, auth: UiAuth, base: str, *, secure_cookies: bool | None = None
) -> APIRouter:
    """The dashboard's routes, for mounting under ``base``.

    The services behind the pages are imported when a page is first asked for:
    they bring the statistics stack (Polars, NumPy), which a server that only
    takes in traces or predictions need not hold from its start.
    """
    router = APIRouter()
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["utc"] = utc_time
    templates.env.filters["duration"] = duration
    templates.env.globals["sso_label"] = auth.sso_label  # the login page's provider button

    def secure(request: Request) -> bool:
        return request.url.scheme == "https" if secure_cookies is None else secure_cookies

    def set_cookie(request: Request, resp: Response, name: str, value: str, ttl: int) -> None:
        resp.set_cookie(
            name,
            value,
            max_age=ttl,
            httponly=True,
            samesite="strict",
            secure=secure(request),
            path=base,
        )

    def render(request: Request, name: str, viewer: Viewer | None, **ctx: Any) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        fresh = len(csrf) < 32  # none yet, or not one of ours
        if fresh:
            csrf = secrets.token_urlsafe(32)
        resp = templates.TemplateResponse(
            request, name, {"base": base, "principal": viewer, "csrf": csrf, **ctx}
        )
        if fresh:
            set_cookie(request, resp, CSRF_COOKIE, csrf, 86_400)
        return resp

    def csrf_refused(request: Request, form_token: str) -> Response | None:
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        if len(cookie) >= 32 and hmac.compare_digest(cookie.encode(), form_token.encode()):
            return None
        return HTMLResponse(
            "<p>This form is out of date or was sent from another site: reload the page "
            "and submit it again.</p>",
            status_code=403,
        )

    def current(request: Request) -> Viewer | None:
        return auth.viewer(request.cookies.get(COOKIE))

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{base}/login", status_code=303)

    def check_model(viewer: Viewer, name: str) -> None:
        from aims.services import dashboard

        project = dashboard.model_project(ws, name)
        if viewer.project is not None and project != viewer.project:
            raise NotFound(f"model {name!r} is not registered; see 'aims model list'")

    def check_version(name: str, version: int) -> None:
        if not 1 <= version <= MAX_VERSION:
            raise NotFound(f"model {name!r} has no version {version}; see 'aims model list'")

    def page(request: Request, fn: Any) -> Response:
        viewer = current(request)
        if viewer is None:
            return to_login()
        try:
            if request.method in ("GET", "HEAD"):
                # A page view only reads: on SQLite it must not queue behind (or hold
                # up) writers, a report being gathered included.
                with ws.db.reading():
                    return fn(viewer)
            return fn(viewer)
        except NotFound as exc:
            return HTMLResponse(f"<p>{_escape(str(exc))}</p>", status_code=404)
        except PermissionDenied as exc:  # e.g. the four-eyes rule: the API answers 403 too
            return HTMLResponse(f"<p>{_escape(str(exc))}</p>", status_code=403)
        except AimsError as exc:
            return HTMLResponse(f"<p>{_escape(str(exc))}</p>", status_code=400)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        return render(request, "login.html", None)

    @router.post("/login")
    def login(request: Request, api_key: str = Form(...), csrf: str = Form("")) -> Response:
        refused = csrf_refused(request, csrf)
        if refused is not None:
            return refused
        try:
            token, ttl = auth.login(api_key.strip(), request)
        except LoginRefused as exc:
            headers = {}
            if exc.status == 429:
                headers["Retry-After"] = str(exc.retry_after or 1)
                message = f"Too many attempts; retry after {headers['Retry-After']} s."
            else:
                message = "That API key is not valid."
            page = render(request, "login.html", None, error=message)
            page.status_code = exc.status
            page.headers.update(headers)
            return page
        resp = RedirectResponse(f"{base}/", status_code=303)
        set_cookie(request, resp, COOKIE, token, ttl)
        return resp

    @router.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        refused = csrf_refused(request, csrf)
        if refused is not None:
            return refused
        auth.logout(request.cookies.get(COOKIE))
        resp = to_login()
        resp.delete_cookie(COOKIE, path=base, secure=secure(request), httponly=True)
        return resp

    add_sso_routes(  # "Sign in with <provider>"
        router,
        auth,
        base,
        render=render,
        set_cookie=set_cookie,
        secure=secure,
        session_cookie=COOKIE,
    )

    # The list pages, each in the module named after it.
    pages = PageContext(ws=ws, base=base, render=render, page=page, check_model=check_model)
    for module in (inventory, monitoring, incidents, audit_log, compliance, llm_routes):
        module.add_routes(router, pages)

    @router.get("/models/{name}", response_class=HTMLResponse)
    def model(request: Request, name: str) -> Response:
        def show(v: Viewer) -> Response:
            from aims.services import dashboard

            check_model(v, name)
            return render(
                request,
                "model.html",
                v,
                nav="inventory",
                m=dashboard.model_page(ws, name),
                can_approve=v.role in APPROVER_ROLES,
            )

        return page(request, show)

    @router.post("/models/{name}/versions/{version}/approve")
    def approve(
        request: Request, name: str, version: int, note: str = Form(""), csrf: str = Form("")
    ) -> Response:
        def act(v: Viewer) -> Response:
            refused = csrf_refused(request, csrf)
            if refused is not None:
                return refused
            check_model(v, name)
            check_version(name, version)
            if v.role not in APPROVER_ROLES:
                return HTMLResponse("<p>Your role may not approve models.</p>", status_code=403)
            from aims.services import governance

            governance.approve(ws, f"{name}@{version}", actor=v.subject, note=note)
            return RedirectResponse(f"{base}/models/{name}", status_code=303)

        return page(request, act)

    @router.get("/models/{name}/card/{version}", response_class=HTMLResponse)
    def card(request: Request, name: str, version: int) -> Response:
        from aims.services.card import card_data, render_html

        def show(v: Viewer) -> Response:
            check_model(v, name)
            check_version(name, version)
            return HTMLResponse(render_html(card_data(ws, f"{name}@{version}")))

        return page(request, show)

    return router


def duration(seconds: float | None) -> str:
    """A span of time for people: ``45 s``, ``12 min 5 s``, ``3 h 20 min``, ``2 d 4 h``.

    Examples
    --------
    >>> [duration(s) for s in (None, 0.4, 45, 725, 12_000, 180_000)]
    ['', '0 s', '45 s', '12 min 5 s', '3 h 20 min', '2 d 2 h']
    """
    if seconds is None:
        return ""
    total = round(seconds)
    for size, unit, sub_size, sub_unit in (
        (86_400, "d", 3_600, "h"),
        (3_600, "h", 60, "min"),
        (60, "min", 1, "s"),
    ):
        if total >= size:
            rest = (total % size) // sub_size
            return f"{total // size} {unit}" + (f" {rest} {sub_unit}" if rest else "")
    return f"{total} s"


def utc_time(value: Any) -> Markup | str:
    """A time as ``2026-12-01 13:05:21 UTC`` in a ``<time>`` element; ``—`` for none.

    Takes datetimes (naive ones are UTC, as SQLite returns them), ISO text
    and epoch seconds, so every page shows times alike whatever the store
    returned. Text that is not a time is shown as it is.
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        when = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        when = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        return str(value)
    when = utc(when)
    exact = when.isoformat()
    # Date and clock apart, so a narrow column breaks between them, never inside.
    return Markup('<time datetime="{}" title="{}"><span>{}</span> <span>{}</span></time>').format(
        exact, exact, when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S UTC")
    )


def _escape(text: str) -> str:
    from html import escape

    return escape(text)

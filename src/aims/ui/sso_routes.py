"""The dashboard's "Sign in with <provider>" routes (single sign-on).

``GET /login/sso`` starts a sign-in through the :class:`~aims.ui.port.UiAuth`
port and sends the browser to the identity provider, keeping the flow's id in
a short-lived cookie; ``GET /login/sso/callback`` hands the provider's answer
back to the port, which checks it and opens the usual session.

The flow cookie is ``SameSite=Lax``: the provider's answer is a navigation from
another site, with which a ``Strict`` cookie would not be sent. For the same
reason the callback does not redirect: the session cookie is ``Strict``, and a
redirect that started on the provider's site would arrive without it. The
callback answers a page that moves on to the dashboard by itself, a navigation
that starts on the dashboard's own site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from aims.ui.port import LoginRefused, UiAuth

FLOW_COOKIE = "aims_sso"
FLOW_COOKIE_SECONDS = 600


def add_sso_routes(
    router: APIRouter,
    auth: UiAuth,
    base: str,
    *,
    render: Callable[..., Response],
    set_cookie: Callable[[Request, Response, str, str, int], None],
    secure: Callable[[Request], bool],
    session_cookie: str,
) -> None:
    """Add the sign-in routes to the dashboard's ``router`` (mounted under ``base``)."""
    flow_path = f"{base}/login/sso"

    def refused(request: Request, exc: LoginRefused) -> Response:
        label = auth.sso_label() or "the identity provider"
        reason = exc.reason or "the sign-in was refused"
        page = render(request, "login.html", None, error=f"Sign-in with {label} failed: {reason}")
        page.status_code = exc.status
        page.delete_cookie(FLOW_COOKIE, path=flow_path, secure=secure(request), httponly=True)
        return page

    @router.get("/login/sso")
    def sso_start(request: Request) -> Response:
        callback = str(request.base_url).rstrip("/") + f"{base}/login/sso/callback"
        try:
            url, flow_id = auth.sso_start(callback)
        except LoginRefused as exc:
            return refused(request, exc)
        resp = RedirectResponse(url, status_code=303)
        resp.set_cookie(
            FLOW_COOKIE,
            flow_id,
            max_age=FLOW_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure(request),
            path=flow_path,
        )
        return resp

    @router.get("/login/sso/callback")
    def sso_callback(request: Request) -> Response:
        params: dict[str, Any] = dict(request.query_params)
        try:
            token, ttl = auth.sso_finish(request.cookies.get(FLOW_COOKIE), params, request)
        except LoginRefused as exc:
            return refused(request, exc)
        page = render(request, "signed_in.html", None, target=f"{base}/")
        set_cookie(request, page, session_cookie, token, ttl)
        page.delete_cookie(FLOW_COOKIE, path=flow_path, secure=secure(request), httponly=True)
        return page

"""Security headers on every response of the server.

==============================  ==================================================================
header                          why
==============================  ==================================================================
``Content-Security-Policy``     scripts, styles, images and fetches only from the server itself
                                (inline styles allowed for the generated reports; no inline
                                script); no plugins; ``frame-ancestors 'none'``: never framed
``X-Frame-Options: DENY``       the same for browsers without ``frame-ancestors``
``Referrer-Policy``             ``same-origin``: URLs (model names, queries) never leak to other
                                sites (``no-referrer`` would make browsers send ``Origin: null``
                                on the server's own form posts, which the origin check refuses)
``X-Content-Type-Options``      ``nosniff``: a JSON or text answer is never run as a script
==============================  ==================================================================

The interactive API pages (``/docs``, ``/redoc``), served only when
``server.api_docs`` is on, load their scripts from a CDN; their policy allows
that CDN and nothing else.
"""

from __future__ import annotations

from aims.server.validation import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers added to the answer for ``path``."""
    csp = DOCS_CSP if path in DOCS_PATHS else CSP
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
    ]


class SecurityHeaders:
    """ASGI middleware adding :func:`security_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                message["headers"] = [
                    *message.get("headers", ()),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

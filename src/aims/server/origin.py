"""Refuse cross-site requests that change state, and foreign ``Host`` names without auth.

A web page of another site can make a browser send a form post to the
server, with the browser's cookies and from the browser's network position
(which reaches a server on loopback). Browsers say where such a request comes
from: ``Origin`` (on every POST) and ``Sec-Fetch-Site``. Every state-changing
request (``POST``, ``PUT``, ``PATCH``, ``DELETE``) whose ``Origin`` is not the
server's own (the ``Host`` it was sent to, or the ``X-Forwarded-Host`` a
trusted proxy names) or whose ``Sec-Fetch-Site`` is ``cross-site`` or
``same-site`` is refused with 403, in every mode. Clients that are not
browsers send neither header and are not affected.

Without authentication (``--insecure-dev``) a page of another site could
also rebind its own name to 127.0.0.1 and read answers as a same-origin page;
so in that mode every request must name a loopback host (``localhost``,
``127.0.0.1``, ``[::1]``) in ``Host``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aims.errors import PermissionDenied
from aims.server.problems import problem_response
from aims.server.validation import ASGIApp, Receive, Scope, Send, no_body

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": "80", "https": "443"}
TRUSTED_PROXY = "aims.trusted_proxy"
"""Scope key set by :class:`~aims.server.proxies.ClientAddress` when the peer is a trusted proxy."""


def host_port(netloc: str, scheme: str) -> tuple[str, str]:
    """``(host, port)`` of ``netloc`` in lower case, with the scheme's default port filled in.

    Examples
    --------
    >>> host_port("Example.org", "https"), host_port("[::1]:8000", "http")
    (('example.org', '443'), ('::1', '8000'))
    """
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return host, str(port) if port is not None else DEFAULT_PORTS.get(scheme, "")


def cross_site_reason(scope: Scope) -> str | None:
    """Why a state-changing request looks cross-site, or None if it does not."""
    headers = {k: v.decode("latin-1") for k, v in scope.get("headers", ()) if k in _READ}
    fetch_site = headers.get(b"sec-fetch-site", "").lower()
    if fetch_site in ("cross-site", "same-site"):
        return f"the browser marks it {fetch_site} (Sec-Fetch-Site)"
    origin = headers.get(b"origin")
    if origin is None:
        return None  # not sent by a browser page (browsers send Origin on every POST)
    if origin == "null":
        return "its Origin is 'null' (a sandboxed page or a cross-site redirect)"
    o = urlsplit(origin)
    if o.scheme not in ("http", "https") or not o.netloc:
        return f"its Origin {origin[:100]!r} is not an http(s) origin"
    own = [headers.get(b"host", "")]
    if scope.get(TRUSTED_PROXY) and headers.get(b"x-forwarded-host"):
        own.append(headers[b"x-forwarded-host"].split(",")[0].strip())
    scheme = scope.get("scheme", "http")
    if any(host_port(o.netloc, o.scheme) == host_port(h, scheme) for h in own if h):
        return None
    return f"its Origin {origin[:100]!r} is not this server ({own[0][:100] or 'no Host'})"


_READ = frozenset({b"origin", b"host", b"sec-fetch-site", b"x-forwarded-host"})


class SameOrigin:
    """ASGI middleware refusing cross-site state changes (and, if ``insecure``, foreign hosts)."""

    def __init__(self, app: ASGIApp, *, insecure: bool = False) -> None:
        self.app = app
        self.insecure = insecure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = None
        if self.insecure:
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if host_port(host, "http")[0] not in LOOPBACK_HOSTS:
                message = (
                    f"this server runs without authentication (--insecure-dev) and answers "
                    f"only requests to a loopback name, not {host[:100]!r}; open it as "
                    "http://127.0.0.1:PORT or http://localhost:PORT"
                )
        if message is None and scope["method"] in STATE_CHANGING:
            reason = cross_site_reason(scope)
            if reason is not None:
                message = (
                    f"cross-site request refused: {reason}; submit forms from the server's "
                    "own pages, and send API calls without an Origin header"
                )
        if message is None:
            await self.app(scope, receive, send)
            return
        error = PermissionDenied(message, headers={"Connection": "close"})
        await problem_response(error, instance=scope["path"])(scope, no_body, send)

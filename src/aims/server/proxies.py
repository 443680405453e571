"""The client's address and scheme, believing forwarding headers only from trusted proxies.

Behind a reverse proxy every connection comes from the proxy, so the client's
address is in ``X-Forwarded-For`` (or RFC 7239 ``Forwarded: for=``) and the
scheme it used in ``X-Forwarded-Proto`` (``proto=``). Anyone can send those
headers, so they are read only when the connection itself comes from an
address in ``server.trusted_proxies`` (as uvicorn's ``--forwarded-allow-ips``
does); by default no proxy is trusted and the peer address is the client.

The address list is read from the right: each trusted hop appended the
address it saw, so the first address from the right that is not a trusted
proxy is the client. Whatever the headers say, the result is a valid IP
address or the peer's own, never arbitrary text, so it can key a rate limit
and name a caller in the audit log.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from aims.server.validation import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS = 32
"""Addresses read from the right of a forwarding header at most; the rest are ignored."""

_FOR = re.compile(r'(?i)(?:^|;)\s*for="?\[?([^;\]",]+)')
_PROTO = re.compile(r'(?i)(?:^|;)\s*proto="?([a-z]+)')


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.count(":") == 1:  # an IPv4 address with a port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(peer: str, networks: Iterable[Network]) -> bool:
    """Whether ``peer`` lies in one of the trusted ``networks``.

    Examples
    --------
    >>> nets = [ipaddress.ip_network("10.0.0.0/8")]
    >>> is_trusted("10.1.2.3", nets), is_trusted("192.0.2.1", nets), is_trusted("junk", nets)
    (True, False, False)
    """
    address = _address(peer)
    return address is not None and any(address in net for net in networks)


def forwarded_chain(headers: Iterable[tuple[bytes, bytes]]) -> tuple[list[str], str | None]:
    """The forwarded client addresses (leftmost first) and the forwarded scheme, if any.

    ``Forwarded`` wins over the ``X-Forwarded-*`` pair when both are present.

    Examples
    --------
    >>> forwarded_chain([(b"x-forwarded-for", b"203.0.113.7, 10.0.0.2")])
    (['203.0.113.7', '10.0.0.2'], None)
    >>> forwarded_chain([(b"forwarded", b'for="[2001:db8::1]";proto=https')])
    (['2001:db8::1'], 'https')
    """
    xff: list[str] = []
    xproto: str | None = None
    fwd: list[str] = []
    fproto: str | None = None
    for name, value in headers:
        if name == b"x-forwarded-for":
            xff += [v.strip() for v in value.decode("latin-1").split(",")]
        elif name == b"x-forwarded-proto":
            xproto = value.decode("latin-1").split(",")[-1].strip().lower() or None
        elif name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                m = _FOR.search(element)
                if m:
                    fwd.append(m.group(1))
                p = _PROTO.search(element)
                if p:
                    fproto = p.group(1).lower()
    if fwd or fproto:
        return fwd, fproto
    return xff, xproto


def client_address(
    peer: str, headers: Iterable[tuple[bytes, bytes]], networks: list[Network]
) -> tuple[str, str | None]:
    """The client's address and forwarded scheme for a connection from ``peer``.

    Examples
    --------
    >>> proxy = [ipaddress.ip_network("10.0.0.2")]
    >>> h = [(b"x-forwarded-for", b"198.51.100.1, 203.0.113.7"), (b"x-forwarded-proto", b"https")]
    >>> client_address("10.0.0.2", h, proxy)  # from the proxy: the header is believed
    ('203.0.113.7', 'https')
    >>> client_address("192.0.2.9", h, proxy)  # from anyone else: ignored
    ('192.0.2.9', None)
    """
    if not networks or not is_trusted(peer, networks):
        return peer, None
    chain, proto = forwarded_chain(headers)
    client = peer
    for hop in reversed(chain[-MAX_HOPS:]):
        address = _address(hop)
        if address is None:
            break  # garbage (or "unknown") from here on: stop at the last good hop
        client = str(address)
        if not any(address in net for net in networks):
            break
    return client, proto if proto in ("http", "https") else None


class ClientAddress:
    """ASGI middleware: set ``scope["client"]`` and ``scope["scheme"]`` from trusted proxies."""

    def __init__(self, app: ASGIApp, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = list(networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks and scope.get("client"):
            peer = scope["client"][0]
            if is_trusted(peer, self.networks):
                scope["aims.trusted_proxy"] = True
            client, proto = client_address(peer, scope.get("headers", ()), self.networks)
            if client != peer:
                scope["client"] = (client, 0)
            if proto is not None:
                websocket = {"http": "ws", "https": "wss"}
                scope["scheme"] = proto if scope["type"] == "http" else websocket[proto]
        await self.app(scope, receive, send)

"""Settings of ``aims serve``: the ``server:`` section of ``aims.yaml`` and two secrets.

=========================  ==========  ========================================================
``server:`` key            default     meaning
=========================  ==========  ========================================================
``token_ttl_seconds``      ``900``     lifetime of a token from ``POST /v1/auth/token``
``max_body_bytes``         ``1048576`` largest predict request body (larger: 413)
``max_records``            ``10000``   most records in one predict request (more: 413)
``max_label_body_bytes``   ``16777216`` largest ``POST /v1/labels`` body
``max_upload_bytes``       ``2147483648`` largest file upload (all files of one request
                                       together: a dataset, a model artifact, data to
                                       evaluate on); larger: 413, nothing registered
``max_concurrent_uploads`` ``2``       uploads one principal may send at once; one more is
                                       a 429 with ``Retry-After``
``upload_free_margin_bytes`` ``536870912`` free disk space an upload must leave in the
                                       uploads folder's filesystem (beyond its declared
                                       ``Content-Length``); less: 507, nothing received
``rate_limit``             ``200``     requests per second per API key (token bucket rate)
``rate_burst``             ``400``     requests a key may send at once (token bucket size)
``flush_interval``         ``1.0``     seconds of acknowledged predictions a ``kill -9`` may lose
``poll_interval``          ``0.5``     seconds between checks of the store for promotions,
                                       rollbacks and revoked keys
``shadow_workers``         ``1``       threads that run shadow versions
``shadow_queue``           ``1000``    shadow calls waiting at most; more are dropped (counted)
``batch_max_size``         ``32``      most rows one model call gathers from concurrent predict
                                       requests for the same version; ``1`` turns batching off
``batch_max_wait_ms``      ``2``       longest a request waits for its batch to start, in
                                       milliseconds (a request alone never waits)
``batching``               ``{}``      per-model overrides: ``{churn: {max_size: 64,
                                       max_wait_ms: 5}}`` (see ``docs/serving.md``)
``runtime``                ``{}``      per-model runtime: ``{churn: onnx}`` serves a
                                       scikit-learn model through its ONNX conversion with
                                       onnxruntime, once it answered the training rows as
                                       the model does (``native``, the default: the model
                                       itself; see ``docs/serving.md``)
``auth_audit_interval``    ``60``      seconds between audit events about refused calls (one
                                       event per key or client address, with the count)
``key_expiry_days``        ``90``      days a new API key lasts unless ``aims keys create
                                       --expires`` says otherwise
``trusted_proxies``        ``[]``      addresses or networks (``10.0.0.0/8``) of the reverse
                                       proxies whose ``X-Forwarded-For``, ``Forwarded`` and
                                       ``X-Forwarded-Proto`` headers are believed; from any
                                       other peer they are ignored. ``$AIMS_TRUSTED_PROXIES``
                                       (comma-separated) overrides it
``secure_cookies``         ``auto``    mark the dashboard's cookies ``Secure``: ``auto`` does
                                       when the request came over HTTPS (directly, or per a
                                       trusted proxy's ``X-Forwarded-Proto``); ``true`` always,
                                       ``false`` never
``api_docs``               ``false``   serve the interactive API pages ``/docs`` and
                                       ``/redoc`` (they load Swagger UI and ReDoc from a CDN,
                                       so they are off by default; ``/openapi.json`` is always
                                       served)
``refusal_summary_seconds`` ``60``     seconds between the lines ``aims serve`` writes to
                                       stderr counting refused requests (only when some were)
``oidc``                   (off)       single sign-on: tokens of the organisation's OpenID
                                       Connect provider (see :mod:`aims.server.oidc_config`)
=========================  ==========  ========================================================

Secrets: the token signing key is ``$AIMS_SERVER_SECRET`` or, when unset, a
random key kept in ``.aims/server.secret``; the salt that hashes personal data
before it is logged is ``$AIMS_PII_SALT`` or ``.aims/pii.salt``. Both files are
created on first use with permissions ``0600``.
"""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass, fields
from typing import Any

from aims.errors import ConfigError
from aims.server.oidc_config import OidcSettings, read_oidc
from aims.storage.secret_file import secret_file
from aims.workspace import Workspace

SECRET_ENV = "AIMS_SERVER_SECRET"
PROXIES_ENV = "AIMS_TRUSTED_PROXIES"
MIN_SECRET_BYTES = 32  # HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2)


@dataclass(frozen=True)
class ServerConfig:
    """Resolved server settings (see the module docstring for each key)."""

    token_ttl_seconds: float = 900.0
    max_body_bytes: int = 1_048_576
    max_records: int = 10_000
    max_label_body_bytes: int = 16_777_216
    max_upload_bytes: int = 2 * 1024**3
    max_concurrent_uploads: int = 2
    upload_free_margin_bytes: int = 512 * 1024**2
    rate_limit: float = 200.0
    rate_burst: float = 400.0
    flush_interval: float = 1.0
    poll_interval: float = 0.5
    shadow_workers: int = 1
    shadow_queue: int = 1000
    batch_max_size: int = 32
    batch_max_wait_ms: float = 2.0
    batching: tuple[tuple[str, int | None, float | None], ...] = ()
    """Per-model (name, max size, max wait in ms); None keeps the server-wide value."""
    runtime: tuple[tuple[str, str], ...] = ()
    """Per-model (name, runtime): ``onnx`` or ``native``."""
    auth_audit_interval: float = 60.0
    key_expiry_days: float = 90.0
    trusted_proxies: tuple[str, ...] = ()
    secure_cookies: str = "auto"
    api_docs: bool = False
    refusal_summary_seconds: float = 60.0
    oidc: OidcSettings | None = None

    @classmethod
    def from_mapping(
        cls, section: Any, where: str = "aims.yaml: server", *, env: Any = None
    ) -> ServerConfig:
        """Read a ``server:`` mapping; unknown keys and bad values raise ``ConfigError``.

        ``env`` (``os.environ`` when None) may override ``trusted_proxies``
        with ``$AIMS_TRUSTED_PROXIES``.
        """
        env = os.environ if env is None else env
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{where} must be a mapping of settings")
        section = dict(section or {})
        override = env.get(PROXIES_ENV)
        if override is not None:
            section["trusted_proxies"] = override
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(unknown)}; known keys are "
                f"{', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for key, value in section.items():
            if key in SPECIAL:
                from_env = key == "trusted_proxies" and override is not None
                values[key] = SPECIAL[key](
                    value, f"${PROXIES_ENV}" if from_env else f"{where}.{key}"
                )
                continue
            want_int = known[key].type == "int"
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok and want_int:
                ok = float(value).is_integer()
            if not ok or not math.isfinite(value) or value <= 0:
                kind = "a positive integer" if want_int else "a positive number"
                raise ConfigError(f"{where}.{key} must be {kind}, got {value!r}")
            values[key] = int(value) if want_int else float(value)
        return cls(**values)

    @classmethod
    def from_workspace(cls, ws: Workspace) -> ServerConfig:
        """The settings of ``ws``'s ``aims.yaml``, with environment overrides applied."""
        return cls.from_mapping(ws.settings.raw.get("server"), f"{ws.root}/aims.yaml: server")

    def batch_limits(self, model: str) -> tuple[int, float]:
        """The largest batch (rows) and longest wait (seconds) for predict calls of ``model``."""
        size, wait_ms = self.batch_max_size, self.batch_max_wait_ms
        for name, own_size, own_wait in self.batching:
            if name == model:
                size = own_size if own_size is not None else size
                wait_ms = own_wait if own_wait is not None else wait_ms
        return size, wait_ms / 1000.0

    def runtime_of(self, model: str) -> str:
        """How ``model`` is served: ``onnx`` (its checked ONNX conversion) or ``native``."""
        return next((runtime for name, runtime in self.runtime if name == model), "native")

    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` as networks (a single address is a /32 or /128)."""
        return tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies)


def _proxies(value: Any, where: str) -> tuple[str, ...]:
    # Text is a comma-separated list (the environment variable's form); blanks are skipped.
    items = [i for i in value.split(",") if i.strip()] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ConfigError(
            f"{where} must be a list of addresses or networks, e.g. [10.0.0.5, 10.1.0.0/16]"
        )
    out = []
    for item in items:
        text = str(item).strip()
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ConfigError(
                f"{where}: {text[:80]!r} is not an IP address or network; write e.g. "
                "10.0.0.5, 10.1.0.0/16 or ::1"
            ) from None
        out.append(text)
    return tuple(out)


def _secure_cookies(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ("auto", "true", "false"):
        return str(value)
    raise ConfigError(f"{where} must be auto, true or false, got {value!r}")


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _batching(value: Any, where: str) -> tuple[tuple[str, int | None, float | None], ...]:
    example = "e.g. {churn: {max_size: 64, max_wait_ms: 5}}"
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must map model names to batch settings, {example}")
    out = []
    for name, limits in value.items():
        if not isinstance(limits, dict) or not limits or set(limits) - {"max_size", "max_wait_ms"}:
            raise ConfigError(
                f"{where}.{name} must hold max_size and/or max_wait_ms (nothing else), {example}"
            )
        size, wait = limits.get("max_size"), limits.get("max_wait_ms")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ConfigError(f"{where}.{name}.max_size must be a positive integer, got {size!r}")
        if wait is not None and (
            isinstance(wait, bool)
            or not isinstance(wait, int | float)
            or not math.isfinite(wait)
            or wait <= 0
        ):
            raise ConfigError(f"{where}.{name}.max_wait_ms must be a positive number, got {wait!r}")
        out.append((str(name), size, None if wait is None else float(wait)))
    return tuple(out)


RUNTIMES = ("native", "onnx")


def _runtime(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(v in RUNTIMES for v in value.values()):
        raise ConfigError(
            f"{where} must map model names to a runtime, native or onnx, e.g. {{churn: onnx}}; "
            f"got {value!r}"
        )
    return tuple((str(name), str(runtime)) for name, runtime in value.items())


SPECIAL = {
    "trusted_proxies": _proxies,
    "secure_cookies": _secure_cookies,
    "api_docs": _flag,
    "oidc": read_oidc,
    "batching": _batching,
    "runtime": _runtime,
}
"""Keys whose values are not positive numbers, each with its own reader."""


def token_secret(ws: Workspace) -> bytes:
    """The key that signs tokens: ``$AIMS_SERVER_SECRET``, else ``.aims/server.secret``."""
    env = os.environ.get(SECRET_ENV, "")
    if env:
        if len(env.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{SECRET_ENV} is {len(env.encode())} bytes; use at least {MIN_SECRET_BYTES} "
                "random bytes, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return env.encode()
    ws.settings.state_dir.mkdir(parents=True, exist_ok=True)
    return secret_file(ws.settings.state_dir / "server.secret", 48).encode()

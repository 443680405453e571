"""Remote mode: the CLI as a client of the governance API of ``aims serve``.

The CLI is in remote mode when ``AIMS_URL`` and ``AIMS_API_KEY`` are set, or
when ``aims login`` saved credentials (:mod:`aims.cli.credentials`). A command
then sends its act to the server instead of opening a workspace::

    if (r := remote()) is not None:
        out = r.call("POST", f"/v1/models/{name}/versions/{v}/approvals", json={"note": note})
    else:
        out = approve(open_workspace(), ref, actor=current_actor(), note=note)
    emit(out, fmt, render)

The server answers with the document the service returns locally, so the
command renders it as it always does. The actor is the principal of the API
key, never ``$AIMS_USER``; the server checks roles, projects and four-eyes.

:class:`Remote` exchanges the key for a token at ``POST /v1/auth/token`` and
keeps it until shortly before it expires. A refusal (an RFC 9457 problem
whose ``type`` is ``urn:aims:problem:<code>``) is raised as the
:mod:`aims.errors` class of that code with the server's ``detail``, so the
message and the exit code are those of local mode. A server that cannot be
reached is one :class:`~aims.errors.StoreUnavailable` naming the URL.
Files are streamed, never read whole, with their SHA-256 sent beside them.
"""

from __future__ import annotations

import hashlib
import os
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aims.cli.credentials import Credentials
from aims.errors import (
    PROBLEM_TYPE_PREFIX,
    AimsError,
    ConfigError,
    ContractViolation,
    GateFailed,
    StoreUnavailable,
    Unauthenticated,
    class_of_code,
    error_classes,
)

__all__ = [
    "Remote",
    "error_of",
    "file_sha256",
    "local_file",
    "local_only",
    "remote",
    "segment",
    "target",
    "version_path",
]

ENV_URL = "AIMS_URL"
ENV_KEY = "AIMS_API_KEY"
CHUNK = 1 << 20
"""Files are hashed in chunks of this many bytes (never read whole)."""
TIMEOUT = (10.0, 900.0)
"""Seconds to connect, and to wait for an answer (an evaluation on the server takes a while)."""
_TOKENS: dict[tuple[str, str], tuple[str, float, dict[str, Any]]] = {}
"""Tokens of this process by (URL, key): token, when to stop using it, its answer."""


def target() -> Credentials | None:
    """Where remote mode acts: ``AIMS_URL`` + ``AIMS_API_KEY``, else ``aims login``'s file.

    None in local mode (neither is set).
    """
    url = os.environ.get(ENV_URL, "").strip()
    key = os.environ.get(ENV_KEY, "").strip()
    if url or key:
        if not (url and key):
            missing = ENV_KEY if url else ENV_URL
            raise ConfigError(
                f"{ENV_URL} and {ENV_KEY} go together (remote mode) and {missing} is not set; "
                f"set both, or unset both to work on a local workspace"
            )
        return Credentials(normal_url(url), key, f"{ENV_URL} and {ENV_KEY}")
    from aims.cli import credentials

    return credentials.load()


def normal_url(url: str) -> str:
    """``url`` without a trailing slash, refused unless it is http(s) with a host.

    Examples
    --------
    >>> normal_url("https://aims.example.org/")
    'https://aims.example.org'
    """
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"{url!r} is not the URL of an aims server; give it as http(s)://HOST[:PORT], "
            "e.g. https://aims.example.org or http://127.0.0.1:8000"
        )
    return text


def remote() -> Remote | None:
    """The client of the server when the CLI is in remote mode, else None."""
    found = target()
    return None if found is None else Remote(found)


def segment(text: str) -> str:
    """``text`` quoted for use as one segment of a URL path.

    Examples
    --------
    >>> segment("a b/c")
    'a%20b%2Fc'
    """
    return quote(str(text), safe="")


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def local_only(command: str, why: str = "it works on a local workspace") -> None:
    """Refuse ``command`` in remote mode, saying why and how to run it locally."""
    found = target()
    if found is None:
        return
    raise ConfigError(
        f"'aims {command}' has no remote mode ({why}), and the CLI is in remote mode "
        f"(from {found.source}); run it where the workspace is, without {ENV_URL} and "
        f"{ENV_KEY} set and after aims logout"
    )


class Remote:
    """A client of one aims server, acting with one API key."""

    def __init__(self, where: Credentials) -> None:
        try:
            import httpx
        except ImportError:
            raise ConfigError(
                "remote mode needs the server extra (httpx); install it with "
                "pip install 'aims[server]'"
            ) from None
        self.where = where
        self.url = normal_url(where.url)
        self._httpx = httpx
        timeout = httpx.Timeout(TIMEOUT[1], connect=TIMEOUT[0])
        self._client = httpx.Client(base_url=self.url, timeout=timeout)
        # Commands drop their client when they end: its connections close with it.
        self._closer = weakref.finalize(self, self._client.close)

    # -- tokens ------------------------------------------------------------------
    def session(self) -> dict[str, Any]:
        """The answer of the token exchange: ``access_token``, ``project``, ``role``,
        ``expires_in`` and the principal the key acts for (``principal``)."""
        cache_key = (self.url, self.where.api_key)
        held = _TOKENS.get(cache_key)
        if held is not None and held[1] > time.monotonic():
            return held[2]
        if self.where.oidc is not None:
            # A single-sign-on login keeps its own tokens (aims login --oidc): the
            # identity provider's access token is the bearer token, refreshed there.
            from importlib import import_module

            session: dict[str, Any] = import_module("aims.cli.oidc_login").session(self.where)
            return session
        answer = self._send(
            "POST", "/v1/auth/token", json={"api_key": self.where.api_key}, authorized=False
        )
        if not isinstance(answer, dict) or "access_token" not in answer:
            raise ConfigError(
                f"{self.url} answered the token exchange without a token; is it an aims server?"
            )
        answer = {**answer, "principal": _principal_of(answer["access_token"])}
        lifetime = float(answer.get("expires_in") or 0)
        # Stop using a token a little before it expires: a call must not arrive late.
        keep = lifetime - min(60.0, lifetime / 10)
        _TOKENS[cache_key] = (answer["access_token"], time.monotonic() + keep, answer)
        return answer

    # -- calls -------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Path] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any:
        """Send one request; the JSON document of the answer.

        ``files`` maps form fields to local files, streamed as multipart with
        ``data`` as the other form fields (lists repeat a field; None leaves it
        out). Refusals raise the :mod:`aims.errors` class the server named.
        """
        return self._send(method, path, json=json, params=params, files=files, data=data)

    def text(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """Send one request; the answer as text (for answers that are not JSON)."""
        return self._send(method, path, json=json, params=params, as_text=True)

    def download(
        self, method: str, path: str, out: Path, *, params: Mapping[str, Any] | None = None
    ) -> Path:
        """Send one request and stream the answer's body into file ``out`` (for answers
        that are files, such as an evidence pack). The body goes to a temporary file
        beside ``out``, renamed once whole: a refusal or a cut connection leaves no
        ``out`` behind."""
        headers = {"authorization": f"Bearer {self.session()['access_token']}"}
        query = {k: _form(v) for k, v in (params or {}).items() if v is not None}
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(out.name + ".part")
        try:
            with self._client.stream(method, path, params=query, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_of(response.status_code, response.headers, response.content)
                with open(part, "wb") as f:
                    for chunk in response.iter_bytes(CHUNK):
                        f.write(chunk)
            part.replace(out)
        except self._httpx.TransportError as exc:
            raise StoreUnavailable(
                f"cannot reach the aims server at {self.url} ({_reason(exc)}); check the "
                f"address (from {self.where.source}) and that aims serve is running there"
            ) from None
        finally:
            part.unlink(missing_ok=True)
        return out

    def close(self) -> None:
        """Close the connection pool."""
        self._closer()

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Path] | None = None,
        data: Mapping[str, Any] | None = None,
        as_text: bool = False,
        authorized: bool = True,
    ) -> Any:
        headers = {"accept": "application/json"}
        if authorized:
            headers["authorization"] = f"Bearer {self.session()['access_token']}"
        query = {k: _form(v) for k, v in (params or {}).items() if v is not None}
        try:
            with _opened(files) as parts:
                response = self._client.request(
                    method,
                    path,
                    json=json,
                    params=query,
                    files=parts,
                    data=_form_fields(data) if data is not None else None,
                    headers=headers,
                )
        except self._httpx.TransportError as exc:
            raise StoreUnavailable(
                f"cannot reach the aims server at {self.url} ({_reason(exc)}); check the "
                f"address (from {self.where.source}) and that aims serve is running there"
            ) from None
        if response.status_code >= 400:
            error = error_of(response.status_code, response.headers, response.content)
            if not authorized and isinstance(error, Unauthenticated):
                error.message += (
                    f" (the API key from {self.where.source}; save a valid one with aims login URL)"
                )
            raise error
        if as_text:
            return response.text
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise AimsError(
                f"{self.url}{path} answered {response.headers.get('content-type', 'no type')} "
                "instead of JSON; is it an aims server of the same version as this CLI?"
            ) from None


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _form(value: Any) -> Any:
    """A query or form value as text (booleans as ``true``/``false``); lists stay lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_form(v) for v in value]
    return str(value)


def _form_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _form(v) for k, v in data.items() if v is not None}


@contextmanager
def _opened(files: Mapping[str, Path] | None) -> Iterator[dict[str, Any] | None]:
    """The files of a multipart body, opened for streaming and closed after."""
    if not files:
        yield None
        return
    with ExitStack() as stack:
        parts = {}
        for field, path in files.items():
            handle = stack.enter_context(open(path, "rb"))
            parts[field] = (Path(path).name, handle, "application/octet-stream")
        yield parts


def _principal_of(token: str) -> str | None:
    """The principal named by a token's ``pal`` claim (read, not verified: for display)."""
    try:
        import jwt

        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:  # a token of another shape (an identity provider's): no name to show
        return None
    name = claims.get("pal")
    return name if isinstance(name, str) and name else None


def _class_of_status(status: int) -> type[AimsError]:
    for cls in error_classes():
        if cls.__dict__.get("status") == status and "code" in cls.__dict__:
            return cls
    return AimsError


def error_of(status: int, headers: Mapping[str, str], body: bytes) -> AimsError:
    """The :mod:`aims.errors` error of a refusal: the class of the problem's ``type``
    (else of the HTTP status) with the server's ``detail`` as its message."""
    import json

    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    kept = {k: headers[k] for k in ("Retry-After", "WWW-Authenticate") if k in headers}
    if not isinstance(doc, dict) or not str(doc.get("type", "")).startswith(PROBLEM_TYPE_PREFIX):
        cls = _class_of_status(status)
        return cls(f"the server answered HTTP {status} without saying why", headers=kept)
    cls = class_of_code(str(doc["type"])[len(PROBLEM_TYPE_PREFIX) :])
    detail = str(doc.get("detail") or doc.get("title") or f"HTTP {status}")
    errors = [e for e in doc.get("errors") or [] if isinstance(e, dict)]
    if issubclass(cls, ContractViolation):
        return cls(detail, errors)
    if issubclass(cls, GateFailed):
        return cls(detail, [str(e.get("message", "")) for e in errors])
    try:
        return cls(detail, details=errors, headers=kept)
    except TypeError:  # a class of the tree with its own constructor
        return AimsError(detail, details=errors, headers=kept)


def local_file(path: Path) -> Path:
    """``path`` if it is a file, else the :class:`~aims.errors.NotFound` local mode raises."""
    from aims.errors import NotFound

    if not Path(path).is_file():
        raise NotFound(f"{path}: no such file")
    return Path(path)


def version_path(text: str) -> str:
    """The API path of the model version ``NAME@VERSION`` (parsed as locally: same refusals).

    Examples
    --------
    >>> version_path("biopsy@1"), version_path("biopsy@production")
    ('/v1/models/biopsy/versions/1', '/v1/models/biopsy/versions/production')
    """
    from aims.refs import parse_ref

    ref = parse_ref(text)
    version = ref.version if ref.version is not None else ref.alias
    return f"/v1/models/{segment(ref.name)}/versions/{segment(str(version))}"

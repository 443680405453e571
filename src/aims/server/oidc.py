"""Tokens of the organisation's OpenID Connect provider, accepted wherever an aims token is.

A bearer token that is not one of the server's own but whose (unverified)
``iss`` is ``server.oidc.issuer`` is checked here, and only here:

1. the provider's discovery document (``{issuer}/.well-known/openid-configuration``)
   names its signing keys (``jwks_uri``); both are fetched over HTTP and kept
   for ``cache_seconds``. A token naming a key id the cached set lacks makes
   the set be fetched again (the provider rotated its keys), at most once per
   ``refetch_seconds``, so a flood of made-up key ids costs the provider one
   request per interval, not one per token;
2. the signature, with an algorithm of ``server.oidc.algorithms`` only (never
   ``none``, never ``HS*``: those are refused before any key is looked at),
   and with the key whose type matches the algorithm;
3. ``iss``, ``aud`` (must include ``server.oidc.audience``), ``exp``, ``nbf``
   and ``iat`` with ``leeway_seconds`` of clock skew.

The person is then signed in (:func:`aims.services.sso.sign_in`): a human
principal created on first sign-in, its grants synced from the token's groups.
The resulting :class:`~aims.server.auth.Principal` holds one role per project
(``grants``). A verified token is remembered until it expires, and its
principal's grants and status are read again from the store at most every
``recheck`` seconds (the server's poll interval), so a disabled principal's
tokens are refused from the next check.

Each refusal is a 401 whose message names the reason (``expired``,
``wrong_audience``, ``wrong_issuer``, ``unknown_key``, ``algorithm``,
``bad_signature``, ``provider_unreachable``, ``disabled``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx
import jwt

from aims.core.roles import ALL_PROJECTS, ROLES
from aims.errors import PermissionDenied
from aims.server.oidc_config import OidcSettings
from aims.server.principal import Principal
from aims.server.problems import ApiError
from aims.workspace import Workspace

OIDC_KEY_PREFIX = "oidc:"
"""Key id of a principal signed in through the provider (``oidc:<name>``); API key ids
never contain a colon, so the two cannot be confused."""

_KTY_OF = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def refused(reason: str, message: str) -> ApiError:
    """A 401 naming ``reason`` (for the refusal counter and the audit) and what to do."""
    error = ApiError(401, "unauthenticated", message, headers={"WWW-Authenticate": "Bearer"})
    error.reason = reason
    return error


def unverified_issuer(token: str) -> str | None:
    """The ``iss`` a JWT claims, before any check (None for what is not a JWT)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None


class ProviderKeys:
    """The provider's discovery document and signing keys, fetched and cached.

    ``fetches`` counts the fetches of the key set (a flood of unknown key ids
    must not raise it by more than one per ``refetch_seconds``).
    """

    def __init__(self, settings: OidcSettings, *, timeout: float = 5.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.fetches = 0
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] = {}
        self._metadata_at = -float("inf")
        self._keys: list[jwt.PyJWK] = []
        self._keys_at = -float("inf")

    def metadata(self) -> dict[str, Any]:
        """The discovery document (its ``issuer`` checked against the setting)."""
        with self._lock:
            return self._discover()

    def _discover(self) -> dict[str, Any]:
        if time.monotonic() - self._metadata_at < self.settings.cache_seconds and self._metadata:
            return self._metadata
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        doc = self._get(url)
        if doc.get("issuer") != self.settings.issuer or not isinstance(doc.get("jwks_uri"), str):
            raise refused(
                "provider_misconfigured",
                f"the discovery document at {url} names issuer {doc.get('issuer')!r} "
                f"(expected {self.settings.issuer!r}) or no jwks_uri; check server.oidc.issuer",
            )
        self._metadata, self._metadata_at = doc, time.monotonic()
        return doc

    def _get(self, url: str) -> dict[str, Any]:
        try:
            answer = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            answer.raise_for_status()
            doc = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise refused(
                "provider_unreachable",
                f"the identity provider could not be asked for its signing keys ({url}: "
                f"{type(exc).__name__}); retry later",
            ) from None
        if not isinstance(doc, dict):
            raise refused("provider_unreachable", f"{url} did not answer a JSON object")
        return doc

    def candidates(self, kid: str | None, alg: str) -> list[jwt.PyJWK]:
        """The keys that may have signed a token with header ``kid`` and ``alg``.

        An unknown ``kid`` fetches the set again, unless it was fetched less
        than ``refetch_seconds`` ago; still unknown, it is refused.
        """
        with self._lock:
            age = time.monotonic() - self._keys_at
            if age >= self.settings.cache_seconds:
                self._fetch()
            found = self._match(kid, alg)
            since = time.monotonic() - self._keys_at
            if not found and kid is not None and since >= self.settings.refetch_seconds:
                self._fetch()  # the provider may have rotated its keys
                found = self._match(kid, alg)
        if not found:
            raise refused(
                "unknown_key",
                f"the token was signed with key id {kid!r}, which the provider does not "
                "publish; get a new token from the provider",
            )
        return found

    def _fetch(self) -> None:
        doc = self._get(str(self._discover()["jwks_uri"]))
        keys = []
        for entry in doc.get("keys", []) if isinstance(doc.get("keys"), list) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                keys.append(jwt.PyJWK(entry))
            except jwt.PyJWTError:
                continue  # a key type this server cannot use (never one it is asked to)
        self._keys, self._keys_at = keys, time.monotonic()
        self.fetches += 1

    def _match(self, kid: str | None, alg: str) -> list[jwt.PyJWK]:
        kty = _KTY_OF.get(alg[:2])
        out = []
        for key in self._keys:
            if kid is not None and key.key_id != kid:
                continue
            if key.key_type != kty:
                continue
            declared = key._jwk_data.get("alg")
            if declared is not None and declared != alg:
                continue
            out.append(key)
        return out


class OidcVerifier:
    """Checks a provider's token: algorithm, key, signature, issuer, audience, times."""

    def __init__(self, settings: OidcSettings, keys: ProviderKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or ProviderKeys(settings)

    def verify(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> dict:
        """The claims of a valid token; raises a 401 ``ApiError`` naming the reason otherwise.

        ``audience`` defaults to ``server.oidc.audience`` (the dashboard checks
        its own ID tokens against its client id); ``nonce``, when given, must
        equal the token's.
        """
        s = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise refused("invalid_token", "the token is not a valid JWT") from None
        alg = header.get("alg")
        if alg not in s.algorithms:
            raise refused(
                "algorithm",
                f"the token is signed with {alg!r}, which this server does not accept "
                f"(accepted: {', '.join(s.algorithms)})",
            )
        kid = header.get("kid")
        candidates = self.keys.candidates(kid if isinstance(kid, str) else None, alg)
        expected = audience or s.audience
        last: Exception | None = None
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=[alg],
                    audience=expected,
                    issuer=s.issuer,
                    leeway=s.leeway_seconds,
                    options={"require": ["exp", "iss", "sub", "aud"]},
                )
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except jwt.ExpiredSignatureError:
                raise refused(
                    "expired", "the provider's token has expired; sign in again"
                ) from None
            except jwt.InvalidAudienceError:
                raise refused(
                    "wrong_audience",
                    f"the token is not meant for this server: its audience is not {expected!r} "
                    "(ask the provider for a token for this audience)",
                ) from None
            except jwt.InvalidIssuerError:
                raise refused("wrong_issuer", f"the token was not issued by {s.issuer}") from None
            except jwt.ImmatureSignatureError:
                raise refused("not_yet_valid", "the token is not valid yet (nbf/iat)") from None
            except jwt.MissingRequiredClaimError as exc:
                raise refused("invalid_token", f"the token has no {exc.claim!r} claim") from None
            except jwt.PyJWTError as exc:
                raise refused("invalid_token", f"the token is not valid ({exc})") from None
            if nonce is not None and claims.get("nonce") != nonce:
                raise refused("nonce", "the ID token's nonce does not match the sign-in")
            return claims
        raise refused(
            "bad_signature", "the token's signature does not verify with the provider's keys"
        ) from last


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``claims`` (``realm_access.roles``), else None.

    Examples
    --------
    >>> claim_at({"realm_access": {"roles": ["a"]}, "groups": ["g"]}, "realm_access.roles")
    ['a']
    >>> claim_at({"groups": "g"}, "roles") is None
    True
    """
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class OidcAuthority:
    """Provider tokens to principals: verify, sign in (first use of a token), recheck."""

    def __init__(self, ws: Workspace, settings: OidcSettings, *, recheck: float = 0.5) -> None:
        self.ws = ws
        self.settings = settings
        self.verifier = OidcVerifier(settings)
        self.recheck = recheck
        self._tokens: dict[str, Principal] = {}
        self._holders: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def accepts(self, token: str) -> bool:
        """Whether ``token`` claims to come from the provider (then only this checks it)."""
        return unverified_issuer(token) == self.settings.issuer

    def names(self, claims: dict[str, Any]) -> tuple[str, list[str]]:
        """The person's name and groups in a verified token's claims."""
        name = claims.get(self.settings.username_claim)
        if not isinstance(name, str) or not name:
            raise refused(
                "no_name",
                f"the token has no {self.settings.username_claim!r} claim to name the person; "
                "ask for a scope that includes it, or set server.oidc.username_claim",
            )
        groups = claim_at(claims, self.settings.groups_claim)
        if isinstance(groups, str):
            groups = groups.split()
        return name, [g for g in groups or [] if isinstance(g, str)]

    def authenticate(self, token: str) -> Principal:
        """The principal of a provider token (signed in on its first use), or a 401/403."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            known = self._tokens.get(digest)
        if known is None:
            claims = self.verifier.verify(token)
            known = self.principal_of(claims, token_id=digest[:32])
            with self._lock:
                # Dropped whole when large, as the server's own token cache is.
                if len(self._tokens) > 50_000:
                    self._tokens.clear()
                self._tokens[digest] = known
        elif known.expires_at + self.settings.leeway_seconds < time.time():
            raise refused("expired", "the provider's token has expired; sign in again")
        return self.current(known)

    def principal_of(
        self, claims: dict[str, Any], *, token_id: str, expires_at: float = 0.0
    ) -> Principal:
        """Sign the person of verified ``claims`` in; their principal (grants synced)."""
        from aims.services.sso import sign_in

        name, groups = self.names(claims)
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        try:
            held = sign_in(
                self.ws,
                name,
                email=email,
                issuer=self.settings.issuer,
                subject=str(claims.get("sub")),
                grants=self.settings.grants_for(groups),
            )
        except PermissionDenied as exc:  # a service's name, or one no principal may have
            raise refused("not_a_person", exc.message) from None
        with self._lock:
            self._holders[name] = (time.monotonic(), held)
        return principal_for(
            name, held.grants, expires_at or float(claims["exp"]), token_id=token_id
        )

    def current(self, principal: Principal) -> Principal:
        """``principal`` with its grants as the store has them now (read at most every
        ``recheck`` seconds); a 401 when it is disabled, a 403 when it holds no grant."""
        from aims.services.sso import holder

        name = principal.name or principal.key_id.removeprefix(OIDC_KEY_PREFIX)
        with self._lock:
            seen = self._holders.get(name)
        if seen is None or time.monotonic() - seen[0] >= self.recheck:
            seen = (time.monotonic(), holder(self.ws, name))
            with self._lock:
                self._holders[name] = seen
        held = seen[1]
        if held.disabled:
            raise refused("disabled", f"principal {name} is disabled; its sign-ins are refused")
        if not held.grants:
            error = ApiError(
                403,
                "permission_denied",
                f"{name} holds no role on any project: none of the groups in the token's "
                f"{self.settings.groups_claim!r} claim is mapped in server.oidc.groups; ask an "
                "admin to map one, or to grant a role with 'aims grant'",
            )
            error.reason = "no_grant"
            raise error
        if held.grants == principal.grants:
            return principal
        return principal_for(name, held.grants, principal.expires_at, token_id=principal.token_id)


def principal_for(
    name: str, grants: tuple[tuple[str, str], ...], expires_at: float, *, token_id: str
) -> Principal:
    """The :class:`~aims.server.principal.Principal` of a signed-in person holding ``grants``.

    With a ``*`` grant its ``project`` and ``role`` are that grant's; else
    those of its highest grant. The API checks each project with ``role_on``.
    """
    if not grants:  # may access nothing: role_on answers None for every project
        return Principal(OIDC_KEY_PREFIX + name, "", "viewer", expires_at, token_id, name, ())
    everywhere = [r for p, r in grants if p == ALL_PROJECTS]
    if everywhere:  # "role on every project" must mean the * grant, not a higher local one
        project, role = ALL_PROJECTS, max(everywhere, key=ROLES.index)
    else:
        project, role = max(grants, key=lambda g: (ROLES.index(g[1]), g[0]))
    return Principal(OIDC_KEY_PREFIX + name, project, role, expires_at, token_id, name, grants)


def oidc_authority(ws: Workspace, config: Any) -> OidcAuthority | None:
    """The authority for ``config.oidc`` (None when single sign-on is off)."""
    settings = getattr(config, "oidc", None)
    if settings is None:
        return None
    return OidcAuthority(ws, settings, recheck=float(config.poll_interval))


__all__ = [
    "OIDC_KEY_PREFIX",
    "OidcAuthority",
    "OidcVerifier",
    "ProviderKeys",
    "claim_at",
    "oidc_authority",
    "principal_for",
    "refused",
    "unverified_issuer",
]

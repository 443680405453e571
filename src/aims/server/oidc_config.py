"""Settings of single sign-on: the ``server.oidc`` section of ``aims.yaml``.

=====================  =====================  ==================================================
``server.oidc:`` key   default                meaning
=====================  =====================  ==================================================
``issuer``             (required)             the provider's issuer URL, exactly as its tokens'
                                              ``iss`` claim and its discovery document say it
``audience``           (required)             the ``aud`` a token must carry to be accepted by
                                              the API (the API's client id at the provider)
``client_id``          ``audience``           the dashboard's client id at the provider (its
                                              secret, if it has one: ``$AIMS_OIDC_CLIENT_SECRET``)
``name``               the issuer's host      what the dashboard's "Sign in with ..." button says
``username_claim``     ``email``              the claim naming the person (``email`` or
                                              ``preferred_username``): the principal's name
``groups_claim``       ``groups``             the claim listing the person's groups or roles;
                                              a dotted path reaches into an object
                                              (``realm_access.roles``)
``groups``             ``{}``                 ``group -> {project: role}``: the grants each group
                                              gives (``*`` as project: every project)
``algorithms``         ``[RS256, ES256]``     signature algorithms accepted (asymmetric only:
                                              ``none`` and ``HS*`` are refused)
``leeway_seconds``     ``30``                 clock skew allowed on ``exp``, ``nbf`` and ``iat``
``cache_seconds``      ``300``                how long the discovery document and the signing
                                              keys are kept before they are fetched again
``refetch_seconds``    ``10``                 least time between two fetches of the keys caused by
                                              an unknown key id (a flood of made-up key ids cannot
                                              hammer the provider)
``redirect_url``       (from the request)     the dashboard's callback URL as the provider must
                                              send the browser back to it (behind a proxy that
                                              rewrites paths)
=====================  =====================  ==================================================
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlparse

from aims.core.roles import ALL_PROJECTS, ROLES
from aims.errors import ConfigError
from aims.settings import project_problem

CLIENT_SECRET_ENV = "AIMS_OIDC_CLIENT_SECRET"
ASYMMETRIC = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""Algorithms a token may be signed with: public-key ones only. ``none`` is no signature,
and an ``HS*`` token checked against a provider's public key is forgeable by anyone."""


@dataclass(frozen=True)
class OidcSettings:
    """Resolved ``server.oidc`` settings (see the module docstring for each key)."""

    issuer: str
    audience: str
    client_id: str = ""
    name: str = ""
    username_claim: str = "email"
    groups_claim: str = "groups"
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: float = 30.0
    cache_seconds: float = 300.0
    refetch_seconds: float = 10.0
    redirect_url: str = ""
    client_secret: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        """What the sign-in button names: ``name``, else the issuer's host."""
        return self.name or urlparse(self.issuer).hostname or self.issuer

    def grants_for(self, groups: list[str]) -> dict[str, str]:
        """The grants (project -> role) the groups give: the highest role per project.

        Examples
        --------
        >>> s = read_oidc({"issuer": "https://id.example.org", "audience": "aims",
        ...     "groups": {"sci": {"credit": "scientist"}, "risk": {"credit": "approver"}}}, "x")
        >>> s.grants_for(["sci", "risk", "other"])
        {'credit': 'approver'}
        """
        out: dict[str, str] = {}
        table = dict(self.groups)
        for group in groups:
            for project, role in table.get(group, ()):
                if project not in out or ROLES.index(role) > ROLES.index(out[project]):
                    out[project] = role
        return dict(sorted(out.items()))


def read_oidc(value: Any, where: str, *, env: Any = None) -> OidcSettings | None:
    """Read a ``server.oidc`` mapping (None: single sign-on is off); bad values raise
    ``ConfigError`` naming the key."""
    env = os.environ if env is None else env
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping with at least issuer and audience")
    known = {f.name for f in fields(OidcSettings)} - {"client_secret"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; known keys are "
            f"{', '.join(sorted(known))}"
        )
    out: dict[str, Any] = {}
    for key in ("issuer", "audience"):
        if not isinstance(value.get(key), str) or not value[key].strip():
            raise ConfigError(f"{where}.{key} is required: give the provider's {key} as text")
    issuer = value["issuer"].strip().rstrip("/")
    parsed = urlparse(issuer)
    local = parsed.hostname in ("localhost", "127.0.0.1", "::1")
    if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
        raise ConfigError(
            f"{where}.issuer must be an https URL (http only for localhost), got {issuer!r}"
        )
    out["issuer"] = issuer
    out["audience"] = value["audience"].strip()
    for key in ("client_id", "name", "username_claim", "groups_claim", "redirect_url"):
        if key in value:
            if not isinstance(value[key], str) or not value[key].strip():
                raise ConfigError(f"{where}.{key} must be non-empty text, got {value[key]!r}")
            out[key] = value[key].strip()
    out.setdefault("client_id", out["audience"])
    if "groups" in value:
        out["groups"] = _groups(value["groups"], f"{where}.groups")
    if "algorithms" in value:
        out["algorithms"] = _algorithms(value["algorithms"], f"{where}.algorithms")
    for key in ("leeway_seconds", "cache_seconds", "refetch_seconds"):
        if key in value:
            number = value[key]
            ok = isinstance(number, int | float) and not isinstance(number, bool)
            if not ok or not math.isfinite(number) or number < 0:
                raise ConfigError(f"{where}.{key} must be a number of seconds >= 0, got {number!r}")
            out[key] = float(number)
    out["client_secret"] = env.get(CLIENT_SECRET_ENV, "")
    return OidcSettings(**out)


def _algorithms(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a list of algorithms, e.g. [RS256, ES256]")
    for alg in value:
        if alg not in ASYMMETRIC:
            raise ConfigError(
                f"{where}: {alg!r} is not accepted; use public-key algorithms only "
                f"({', '.join(ASYMMETRIC)}): 'none' is no signature and HS* would let "
                "anyone who has the provider's public key sign tokens"
            )
    return tuple(dict.fromkeys(value))


def _groups(value: Any, where: str) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where} must map each group to its grants, e.g. "
            "{ml-credit: {credit: scientist}, platform-admins: {'*': admin}}"
        )
    out = []
    for group, grants in value.items():
        if not isinstance(grants, dict) or not grants:
            raise ConfigError(
                f"{where}.{group} must map projects to roles, e.g. {{credit: approver}}"
            )
        pairs = []
        for project, role in grants.items():
            if not isinstance(project, str) or (
                project != ALL_PROJECTS and project_problem(project) is not None
            ):
                raise ConfigError(
                    f"{where}.{group}: {project!r} is not a project name (or '*' for every project)"
                )
            if role not in ROLES:
                raise ConfigError(
                    f"{where}.{group}.{project}: role {role!r} is unknown; use one of "
                    f"{', '.join(ROLES)}"
                )
            pairs.append((project, str(role)))
        out.append((str(group), tuple(sorted(pairs))))
    return tuple(out)


__all__ = ["ASYMMETRIC", "CLIENT_SECRET_ENV", "OidcSettings", "read_oidc"]

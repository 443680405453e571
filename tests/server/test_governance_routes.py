"""Every governance route refuses a principal without a grant on the project it touches.

The routes are enumerated from the app's route table (every path under
``/v1/`` except predictions, labels, token exchange and health), never listed
by hand, so a route added later is checked without anyone remembering to.
Each is called over real HTTP, in team mode:

- as eve, admin of project ``other`` and of nothing in ``credit``: a route
  naming a model, an incident or a key of ``credit`` answers 404 (as one that
  does not exist); any other route answers 403, or, for a list, only eve's
  projects (nothing of ``credit``) and 403 when eve names ``credit``;
- with a key of ``credit`` one role below the route's ``x-aims-role``: 403.

After each refusal the store is unchanged: the audit chain's length, the
registry, approvals, risk assessments, incidents, principals, grants, keys.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from aims.server.route_roles import api_routes, route_role
from tests.server.governed import PROJECT, ROLES, open_incident, prepare, serve, snapshot

MODEL = "loanscore"
EXCLUDED = re.compile(r"^/v1/(auth/|labels|models/\{name\}/predict$)")
"""Not governance: the token exchange, labels (the prediction API's) and predictions."""
HIDDEN = ("name", "incident_id", "key_id")
"""Path parameters naming a thing of one project: another project's caller gets 404."""


def governance_routes(app: Any) -> list[tuple[str, str, str]]:
    """``(method, path, role)`` of every governance route of ``app``."""
    out = []
    for route in api_routes(app):
        path = getattr(route, "path", "")
        if not path.startswith("/v1/") or EXCLUDED.match(path):
            continue
        for method in sorted(route.methods or ()):
            out.append((method, path, route_role(route) or ""))
    return out


# The routes are parameters, so the app must exist when the tests are collected: the
# module's one workspace and app are made then, and served by the fixture below.
_FOLDER = tempfile.TemporaryDirectory(prefix="aims-governance-")
with pytest.MonkeyPatch.context() as env:
    # As the autouse fixture does for each test: no developer's store or identity.
    for var in ("AIMS_WORKSPACE", "AIMS_DATABASE_URL", "AIMS_ARTIFACT_URL", "AIMS_PROJECT"):
        env.delenv(var, raising=False)
    for var in ("AIMS_PREDICTION_LOG_URL", "AIMS_IDENTITY"):
        env.delenv(var, raising=False)
    _PREPARED = prepare(Path(_FOLDER.name) / "ws")
ROUTES = governance_routes(_PREPARED.app)


@pytest.fixture(scope="module")
def gov(tiny_files: dict[str, Any]):
    try:
        with serve(_PREPARED, tiny_files, {MODEL: 1}) as g:
            g.incidents["drift"] = open_incident(g.ws, MODEL)
            yield g
    finally:
        _FOLDER.cleanup()


@pytest.fixture(scope="module")
def openapi(gov) -> dict[str, Any]:
    r = httpx.get(f"{gov.url}/openapi.json", timeout=30)
    assert r.status_code == 200
    return r.json()


def _path(gov, path: str) -> str:
    values = {
        "name": MODEL,
        "version": "1",
        "incident_id": str(gov.incidents["drift"]),
        "key_id": gov.key_id("spare"),
        "project": PROJECT,
        "principal_name": "ana@x.org",
    }
    # A parameter of a route this test does not know gets a value that names nothing:
    # the caller must still be refused, never served.
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def _example(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value valid for ``schema``: its documented example, else the smallest one."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("examples"):
        return schema["examples"][0]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return _example(doc, next(o for o in options if o.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(doc, props.get(k, {})) for k in schema.get("required", [])}
    if kind == "array":
        return [_example(doc, schema.get("items", {}))] * schema.get("minItems", 0)
    if kind in ("integer", "number", "boolean"):
        return {"integer": 1, "number": 1.0, "boolean": False}[kind]
    pattern = schema.get("pattern")
    return next(c for c in ("x", "0" * 64, "x1") if pattern is None or re.search(pattern, c))


def _request(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """A body the route accepts (its documented example where it has one), so that no
    validation error can come before the project check."""
    operation = doc["paths"][path][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        media = content["application/json"]
        if media.get("examples"):
            return {"json": next(iter(media["examples"].values()))["value"]}
        return {"json": _example(doc, media.get("schema", {}))}
    if "multipart/form-data" in content:
        props = content["multipart/form-data"].get("schema", {}).get("properties", {})
        files, data = {}, {}
        for name, prop in props.items():
            if prop.get("format") == "binary":
                files[name] = (f"{name}.csv", b"prediction_id,label\nx,1\n")
            elif name != "sha256":
                data[name] = (prop.get("enum") or [MODEL if name == "model" else "x"])[0]
        return {"files": files or None, "data": data}
    return {}


def _id(route: tuple[str, str, str]) -> str:
    return f"{route[0]} {route[1]}"


def test_the_route_table_holds_the_governance_api() -> None:
    # A floor, so that an enumeration that found nothing cannot pass the tests below.
    paths = {path for _, path, _ in ROUTES}
    assert len(ROUTES) >= 30
    for must in ("/v1/models/{name}/versions/{version}/approvals", "/v1/audit/verify", "/v1/keys"):
        assert must in paths


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_every_route_names_its_role_in_the_openapi_document(route, openapi) -> None:
    method, path, role = route
    assert role in ROLES, f"{method} {path} declares no role with require()"
    assert openapi["paths"][path][method.lower()]["x-aims-role"] == role


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_a_principal_without_a_grant_on_the_project_is_refused(route, gov, openapi) -> None:
    method, path, _ = route
    before = snapshot(gov.ws)
    url = _path(gov, path)
    body = _request(openapi, method, path)
    names = re.findall(r"\{(\w+)\}", path)
    if any(n in HIDDEN for n in names):
        r = gov.call("eve", method, url, **body)
        assert r.status_code == 404, r.text
    elif names:
        r = gov.call("eve", method, url, **body)
        assert r.status_code in (403, 404), r.text
    else:
        # Nothing of credit in the path: the route is asked about credit by name.
        r = gov.call("eve", method, url, params={"project": PROJECT}, **body)
        assert r.status_code == 403, r.text
        if method == "GET":
            # Unasked, a list shows eve's projects only: nothing of credit's.
            plain = gov.call("eve", method, url, **body)
            assert plain.status_code in (200, 403), plain.text
            assert MODEL not in plain.text and f'"{PROJECT}"' not in plain.text
    assert r.headers["content-type"].startswith(("application/problem+json", "application/json"))
    assert snapshot(gov.ws) == before


@pytest.mark.parametrize("route", [r for r in ROUTES if r[2] != "viewer"], ids=_id)
def test_a_role_below_the_routes_role_is_refused(route, gov, openapi) -> None:
    method, path, role = route
    below = ROLES[ROLES.index(role) - 1]
    before = snapshot(gov.ws)
    r = gov.call(f"bo-{below}", method, _path(gov, path), **_request(openapi, method, path))
    assert r.status_code == 403, r.text
    # /v1/traces answers as OTLP asks: a google.rpc.Status, code 7 (PERMISSION_DENIED).
    assert r.json()["code"] == (7 if path == "/v1/traces" else "permission_denied")
    assert snapshot(gov.ws) == before

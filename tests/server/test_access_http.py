"""The access review and key rotation over real HTTP, in team mode."""

from __future__ import annotations

import httpx
import pytest

from aims.server.assembly import build_server
from aims.services import identity, keys
from tests.server.conftest import LiveServer, bearer


@pytest.fixture
def team(workspace, monkeypatch):
    """root: admin everywhere; pat: admin of default only; ana: scientist on default;
    olga: scientist on other."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    ws = workspace
    made = {}
    for name, role, project in (
        ("root", "admin", "*"),
        ("pat", "admin", "default"),
        ("ana", "scientist", "default"),
        ("olga", "scientist", "other"),
    ):
        identity.add_principal(ws, name, kind="human", actor="setup")
        identity.grant(ws, name, role=role, project=project, actor="setup")
        made[name] = keys.create_key(ws, project=project, role=role, actor="setup", principal=name)
    with (
        LiveServer(build_server(ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield {"ws": ws, "http": http, **made}


def access(http: httpx.Client, made: tuple) -> dict:
    answer = http.post("/v1/auth/token", json={"api_key": made[1]})
    assert answer.status_code == 200, answer.text
    return bearer(answer.json()["access_token"])


def test_the_review_needs_admin_on_what_it_covers(team) -> None:
    http = team["http"]
    whole = http.get("/v1/access/review", headers=access(http, team["root"]))
    assert whole.status_code == 200, whole.text
    assert {p["name"] for p in whole.json()["principals"]} == {"root", "pat", "ana", "olga"}
    assert ("grant.standing_admin", "root") in {
        (f["rule"], f["principal"]) for f in whole.json()["findings"]
    }
    pat = access(http, team["pat"])
    assert http.get("/v1/access/review", headers=pat).status_code == 403
    mine = http.get("/v1/access/review", params={"project": "default"}, headers=pat)
    assert mine.status_code == 200
    assert {p["name"] for p in mine.json()["principals"]} == {"root", "pat", "ana"}
    assert http.get("/v1/access/review", headers=access(http, team["ana"])).status_code == 403


def test_a_key_is_rotated_through_the_api(team) -> None:
    http = team["http"]
    pat = access(http, team["pat"])
    ana_id = team["ana"][0]["key_id"]
    rotated = http.post(f"/v1/keys/{ana_id}/rotate", json={"overlap_seconds": 600}, headers=pat)
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert body["rotated_from"] == ana_id and body["principal"] == "ana"
    new = http.post("/v1/auth/token", json={"api_key": body["api_key"]})
    assert new.status_code == 200 and new.json()["role"] == "scientist"
    # The old key works through the overlap.
    assert http.post("/v1/auth/token", json={"api_key": team["ana"][1]}).status_code == 200
    olga_id = team["olga"][0]["key_id"]
    hidden = http.post(f"/v1/keys/{olga_id}/rotate", headers=pat)
    assert hidden.status_code == 404
    assert {k["key_id"] for k in keys.list_keys(team["ws"])} == {
        team[n][0]["key_id"] for n in ("root", "pat", "ana", "olga")
    } | {body["key_id"]}

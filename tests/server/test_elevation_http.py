"""Just-in-time elevation over real HTTP, in team mode: asked, approved, used, lapsed."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml

from aims.server.assembly import build_server
from aims.services import identity, keys, registry
from aims.workspace import Workspace
from tests.server.conftest import LiveServer, bearer, wait_until

TTL = 60  # the token lifetime; a lapsed elevation must stop working well within it
LIFT = 2  # seconds the elevation lasts, doubled while the machine is too slow for it


@pytest.fixture
def team(workspace, cancer_files, monkeypatch):
    """Team mode; ana (scientist) and bo (operator) on default, bot (ana's agent),
    eve (operator on another project); the server polls the store every 0.1 s."""
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    path = workspace.root / "aims.yaml"
    config = yaml.safe_load(path.read_text())
    config["server"] = {"poll_interval": 0.1, "token_ttl_seconds": TTL}
    path.write_text(yaml.safe_dump(config))
    workspace.close()
    ws = Workspace.open(workspace.root)
    made = {}
    for name, role, project in (
        ("ana", "scientist", "default"),
        ("bo", "operator", "default"),
        ("eve", "operator", "other"),
    ):
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project=project, actor="root")
        made[name] = keys.create_key(ws, project=project, role=role, actor="root", principal=name)[
            1
        ]
    identity.add_principal(ws, "bot", kind="agent", owner="ana", actor="root")
    identity.grant(ws, "bot", role="scientist", project="default", actor="root")
    made["bot"] = keys.create_key(
        ws, project="default", role="scientist", actor="root", principal="bot"
    )[1]
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana")
    registry.register_model(
        ws, cancer_files["model"], "m", actor="ana", datasets=["cancer@1"], owners={}
    )
    with (
        LiveServer(build_server(ws)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        yield {"ws": ws, "http": http, **made}
    ws.close()


def token(http: httpx.Client, api_key: str) -> dict:
    answer = http.post("/v1/auth/token", json={"api_key": api_key})
    assert answer.status_code == 200, answer.text
    return answer.json()


def operator_call(http: httpx.Client, access: str) -> int:
    """A route that needs the operator role on default (the audit log of model m)."""
    return http.get("/v1/audit/events", params={"model": "m"}, headers=bearer(access)).status_code


def ask(http: httpx.Client, api_key: str, seconds: int = 1800) -> httpx.Response:
    body = {"role": "operator", "project": "default", "seconds": seconds, "reason": "hotfix"}
    return http.post(
        "/v1/elevations", json=body, headers=bearer(token(http, api_key)["access_token"])
    )


def elevation_status(http: httpx.Client, api_key: str, eid: int) -> str:
    listed = http.get("/v1/elevations", headers=bearer(token(http, api_key)["access_token"]))
    return next(e["status"] for e in listed.json() if e["id"] == eid)


def test_a_lapsed_elevation_stops_working_within_the_token_lifetime(team) -> None:
    http = team["http"]
    before = token(http, team["ana"])
    assert before["role"] == "scientist" and operator_call(http, before["access_token"]) == 403
    # An elevation short enough to lapse during the test. Between its approval and
    # the first call stand a key exchange (argon2) and a request: when the machine
    # is so slow that it lapsed before that call, it is awaited as lapsed and asked
    # for again, twice as long, so the test waits on what it sees, not on a guess.
    lift, asked_for = LIFT, []
    while True:
        asked = ask(http, team["ana"], seconds=lift)
        assert asked.status_code == 201, asked.text
        eid = asked.json()["id"]
        asked_for.append(eid)
        assert asked.json()["status"] == "pending" and asked.json()["principal"] == "ana"
        bo = token(http, team["bo"])["access_token"]
        approved = http.post(
            f"/v1/elevations/{eid}/approve", json={"note": "ok"}, headers=bearer(bo)
        )
        assert approved.status_code == 200, approved.text
        approved_at = time.monotonic()
        assert approved.json()["decided_by"] == "bo"
        raised = token(http, team["ana"])
        if raised["role"] == "operator":
            assert raised["expires_in"] <= lift  # the token never outlives the elevation
            first = operator_call(http, raised["access_token"])
            if first == 200:
                break
            assert first == 401, first  # only the token's end may refuse it here
        # Too slow for this length: the elevation has run out, nothing else failed.
        wait_until(
            lambda e=eid: elevation_status(http, team["bo"], e) == "lapsed", timeout=lift + 5
        )
        lift *= 2
        assert lift <= 16 * LIFT, "the elevation lapsed before every first call"
    # It stops by itself when the elevation ends, far within the token lifetime.
    wait_until(lambda: operator_call(http, raised["access_token"]) == 401, timeout=TTL / 2)
    assert time.monotonic() - approved_at < TTL / 2
    # Tokens end on a whole second at or before the elevation's end; then new ones are low.
    after = wait_until(
        lambda: (t := token(http, team["ana"]))["role"] == "scientist" and t,
        timeout=lift + 5,
        interval=0.5,
    )
    assert operator_call(http, after["access_token"]) == 403
    listed = http.get("/v1/elevations", headers=bearer(after["access_token"])).json()
    assert sorted((e["id"], e["status"]) for e in listed) == [(i, "lapsed") for i in asked_for]


def test_a_revoked_elevation_is_refused_at_the_next_poll(team) -> None:
    http = team["http"]
    eid = ask(http, team["ana"]).json()["id"]
    bo = token(http, team["bo"])["access_token"]
    assert http.post(f"/v1/elevations/{eid}/approve", headers=bearer(bo)).status_code == 200
    raised = token(http, team["ana"])
    assert raised["role"] == "operator" and raised["expires_in"] > 30
    assert operator_call(http, raised["access_token"]) == 200
    ended = http.post(f"/v1/elevations/{eid}/revoke", json={"reason": "done"}, headers=bearer(bo))
    assert ended.status_code == 200 and ended.json()["status"] == "revoked"
    wait_until(lambda: operator_call(http, raised["access_token"]) == 401, timeout=10)


def test_only_another_holder_of_the_role_decides(team) -> None:
    http = team["http"]
    eid = ask(http, team["ana"]).json()["id"]
    ana = token(http, team["ana"])["access_token"]
    bot = token(http, team["bot"])["access_token"]
    eve = token(http, team["eve"])["access_token"]
    # Her own token is too low for it, and the service would refuse her as the requester.
    assert http.post(f"/v1/elevations/{eid}/approve", headers=bearer(ana)).status_code == 403
    assert http.post(f"/v1/elevations/{eid}/approve", headers=bearer(bot)).status_code == 403
    # Another project's operator does not learn that it exists.
    refused = http.post(f"/v1/elevations/{eid}/approve", headers=bearer(eve))
    assert refused.status_code == 404 and "does not exist" in refused.json()["detail"]
    assert http.get("/v1/elevations", headers=bearer(eve)).json() == []
    bad = http.post(
        "/v1/elevations",
        json={"role": "operator", "project": "default", "seconds": 60, "reason": "x"},
        headers=bearer(eve),
    )
    assert bad.status_code == 403
    listed = http.get("/v1/elevations", headers=bearer(ana)).json()
    assert [(e["id"], e["status"]) for e in listed] == [(eid, "pending")]


@pytest.mark.parametrize(
    ("seconds", "says"),
    [
        (10**20, "less than or equal to"),  # once an overflow deep in the service: a 500
        (2**63, "less than or equal to"),
        (9 * 3600, "access.elevation_max"),
        (0, "greater than or equal to"),
    ],
)
def test_a_duration_out_of_range_is_a_422_naming_the_bound(team, seconds, says) -> None:
    http = team["http"]
    refused = ask(http, team["ana"], seconds=seconds)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    # The schema's refusals name the field and its bound; the service's names the setting.
    said = [problem["detail"]] + [f"{e['field']}: {e['message']}" for e in problem["errors"]]
    assert any(says in text for text in said), problem
    assert problem["errors"] == [] or problem["errors"][0]["field"] == "seconds"
    bo = token(http, team["bo"])["access_token"]
    assert http.get("/v1/elevations", headers=bearer(bo)).json() == []

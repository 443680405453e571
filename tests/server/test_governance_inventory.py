"""The governance API's inventory over real HTTP, in team mode: datasets and model
versions registered by upload, listed, shown and refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from aims.storage.schema import AuditEvent, DatasetVersion, ModelVersion
from tests.server.governance_team import (
    UPLOAD_LIMIT,
    Team,
    sha256_of,
    team,
    upload_dataset,
    upload_model,
)

__all__ = ["team"]  # the fixture, imported to be used here

WRONG = "0" * 64


def datasets_in(ws: Any) -> list[tuple[str, int, str, str]]:
    with ws.db.session() as s:
        return [
            (dv.dataset.name, dv.version, dv.content_hash, dv.created_by)
            for dv in s.scalars(select(DatasetVersion)).all()
        ]


def versions_in(ws: Any) -> list[tuple[str, int, str, str]]:
    with ws.db.session() as s:
        return [
            (mv.model.name, mv.version, mv.artifact_sha256, mv.created_by)
            for mv in s.scalars(select(ModelVersion)).all()
        ]


def actors_of(ws: Any, action: str) -> list[str]:
    with ws.db.session() as s:
        return list(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == action)))


def test_a_dataset_and_a_model_registered_by_upload_are_stored_under_the_keys_principal(
    team: Team, cancer_files: dict[str, Path]
) -> None:
    data, model = cancer_files["data"], cancer_files["model"]
    with team.client("ana@x.org") as c:
        r = upload_dataset(c, data, "cancer")
        assert r.status_code == 201, r.text
        assert r.json()["created"] is True and r.json()["content_hash"] == sha256_of(data)
        assert r.json()["source"] == "upload:cancer.parquet"
        again = upload_dataset(c, data, "cancer")
        assert again.status_code == 200 and again.json()["created"] is False
        r = upload_model(c, model, "biopsy", tag=["team=onc"], metric=["auc=0.9"])
        assert r.status_code == 201, r.text
        shown = r.json()
        assert shown["artifact_sha256"] == sha256_of(model)
        assert shown["artifact_name"] == "model_v1.skops"
        assert shown["owners"] == {"deployment": "dep@x.org", "monitoring": "mon@x.org"}
        assert shown["tags"] == {"team": "onc"} and shown["metrics"] == {"auc": 0.9}
        # The server's own folder says nothing of the uploaded model's code.
        assert shown["git_commit"] is None
    # $AIMS_USER (mallory) changes nothing: the actor is the key's principal.
    assert datasets_in(team.ws) == [("cancer", 1, sha256_of(data), "ana@x.org")]
    assert versions_in(team.ws) == [("biopsy", 1, sha256_of(model), "ana@x.org")]
    assert actors_of(team.ws, "dataset.register") == ["ana@x.org"]
    assert actors_of(team.ws, "model.register") == ["ana@x.org"]
    assert team.ws.artifacts.exists(sha256_of(model))
    assert team.uploads_left() == []


def test_the_registered_model_is_shown_listed_owned_and_traced_as_the_cli_shows_it(
    team: Team, cancer_files: dict[str, Path]
) -> None:
    from aims.services import lineage, registry

    with team.client("ana@x.org") as c:
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        assert upload_model(c, cancer_files["model"], "biopsy").status_code == 201
        owners = c.put("/v1/models/biopsy/owners", json={"owners": ["business=bo@x.org"]})
        assert owners.status_code == 200, owners.text
        assert owners.json()["business"] == "bo@x.org"
        shown = c.get("/v1/models/biopsy/versions/1")
        described = c.get("/v1/registry/models/biopsy")
        listed = c.get("/v1/registry/models")
        traced = c.get("/v1/models/biopsy/versions/1/lineage")
        event = c.get("/v1/models/biopsy/versions/1/lineage", params={"format": "openlineage"})
    ws = team.ws
    assert shown.json() == _jsonable(registry.show_version(ws, "biopsy@1"))
    assert described.json() == _jsonable(registry.describe(ws, "biopsy"))
    assert listed.json() == _jsonable(registry.list_models(ws))
    assert traced.json() == _jsonable(lineage.lineage(ws, "biopsy@1"))
    assert event.json()["eventType"] == lineage.openlineage_event(ws, "biopsy@1")["eventType"]
    assert actors_of(ws, "model.owners.set") == ["ana@x.org", "ana@x.org"]


def _jsonable(doc: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(doc)


def test_a_wrong_sha256_or_an_unreadable_file_is_refused_and_nothing_is_registered(
    team: Team, cancer_files: dict[str, Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not data")
    with team.client("ana@x.org") as c:
        r = upload_dataset(c, notes, "notes")
        assert r.status_code == 422
        # The file is named as sent, not by the server's temporary path.
        assert r.json()["detail"].startswith("notes.txt: unsupported file type '.txt'")
        r = upload_dataset(c, cancer_files["data"], "cancer", sha256=WRONG)
        assert r.status_code == 422
        assert r.json()["type"] == "urn:aims:problem:invalid_input"
        assert f"has sha256 {sha256_of(cancer_files['data'])}" in r.json()["detail"]
        assert datasets_in(team.ws) == []
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        r = upload_model(c, cancer_files["model"], "biopsy", sha256=WRONG)
        assert r.status_code == 422 and "not the file meant" in r.json()["detail"]
    assert versions_in(team.ws) == []
    assert not team.ws.artifacts.exists(sha256_of(cancer_files["model"]))
    assert team.uploads_left() == []


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(
    team: Team, tmp_path: Path, cancer_files: dict[str, Path]
) -> None:
    big = tmp_path / "big.parquet"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT + 1))
    with team.client("ana@x.org") as c:
        r = upload_dataset(c, big, "big")
        assert r.status_code == 413
        assert "server.max_upload_bytes" in r.json()["detail"]
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        heavy = tmp_path / "heavy.skops"
        heavy.write_bytes(b"\0" * (UPLOAD_LIMIT + 1))
        assert upload_model(c, heavy, "biopsy").status_code == 413
    assert [d[0] for d in datasets_in(team.ws)] == ["cancer"]
    assert versions_in(team.ws) == []
    assert team.uploads_left() == []


def test_a_principal_of_another_project_finds_no_model_and_may_not_register_here(
    team: Team, cancer_files: dict[str, Path], tmp_path: Path
) -> None:
    with team.client("ana@x.org") as c:
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        assert upload_model(c, cancer_files["model"], "biopsy").status_code == 201
    with team.client("cora@x.org") as c:
        for r in (
            c.get("/v1/models/biopsy/versions/1"),
            c.get("/v1/registry/models/biopsy"),
            c.get("/v1/models/biopsy/versions/1/lineage"),
            c.put("/v1/models/biopsy/owners", json={"owners": {"business": "cora@x.org"}}),
            upload_model(c, cancer_files["model2"], "biopsy"),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["detail"] == "model 'biopsy' is not registered"
        # A new dataset would belong to the workspace's project, default: not hers.
        refused = upload_dataset(c, cancer_files["other"], "other")
        assert refused.status_code == 403
        assert "project" in refused.json()["detail"]
        # Refused before the body is read: an upload over the limit is not a 413.
        big = tmp_path / "big.parquet"
        big.write_bytes(b"\0" * (UPLOAD_LIMIT + 1))
        assert upload_dataset(c, big, "other").status_code == 403
        assert upload_model(c, big, "biopsy").status_code == 404
        # A new model here could not name the other project's data either.
        assert c.get("/v1/datasets").json() == []
        assert c.get("/v1/registry/models").json() == []
    assert [d[0] for d in datasets_in(team.ws)] == ["cancer"]
    assert [v[:2] for v in versions_in(team.ws)] == [("biopsy", 1)]


def test_a_dataset_name_of_another_project_answers_as_one_not_registered(
    team: Team, cancer_files: dict[str, Path]
) -> None:
    """Registering under a name another project holds does not reveal that project:
    the answer is the one a reference to that name gets (404), as for models."""
    from aims.services.datasets import register_dataset
    from aims.storage.schema import Dataset

    register_dataset(team.ws, cancer_files["other"], "ledger", actor="root")
    with team.ws.db.session() as s:
        s.scalars(select(Dataset).where(Dataset.name == "ledger")).one().project = "credit"
    before = datasets_in(team.ws)
    with team.client("ana@x.org") as c:
        taken = upload_dataset(c, cancer_files["data"], "ledger")
        assert taken.status_code == 404, taken.text
        assert (
            taken.json()["detail"] == "dataset 'ledger' is not registered; see 'aims dataset list'"
        )
        assert "credit" not in taken.text
        # The answer a model registration naming that dataset gets: the same.
        named = upload_model(c, cancer_files["model"], "biopsy", dataset=["ledger@1"])
        assert (named.status_code, named.json()["detail"]) == (404, taken.json()["detail"])
    assert datasets_in(team.ws) == before
    assert team.uploads_left() == []


def test_a_viewer_lists_but_may_not_register(team: Team, cancer_files: dict[str, Path]) -> None:
    with team.client("ana@x.org") as c:
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        assert upload_model(c, cancer_files["model"], "biopsy").status_code == 201
    with team.client("vic@x.org") as c:
        listed = c.get("/v1/datasets")
        assert listed.status_code == 200
        assert [(d["name"], d["version"]) for d in listed.json()] == [("cancer", 1)]
        assert [m["name"] for m in c.get("/v1/registry/models").json()] == ["biopsy"]
        refused = upload_dataset(c, cancer_files["other"], "other")
        assert refused.status_code == 403
        assert "needs the scientist role or higher" in refused.json()["detail"]
        assert upload_model(c, cancer_files["model2"], "biopsy").status_code == 403
        owners = c.put("/v1/models/biopsy/owners", json={"owners": ["business=vic@x.org"]})
        assert owners.status_code == 403
    assert [d[0] for d in datasets_in(team.ws)] == ["cancer"]
    assert [v[:2] for v in versions_in(team.ws)] == [("biopsy", 1)]


def test_a_pickle_is_not_loaded_from_an_upload_by_a_scientist(
    team: Team, tmp_path: Path, cancer_files: dict[str, Path]
) -> None:
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"not even a pickle")
    with team.client("ana@x.org") as c:
        assert upload_dataset(c, cancer_files["data"], "cancer").status_code == 201
        r = upload_model(c, pickled, "biopsy", trust="true")
        assert r.status_code == 403
        assert "only an admin" in r.json()["detail"]
    assert versions_in(team.ws) == []


def test_every_route_of_the_inventory_is_documented_with_its_role(team: Team) -> None:
    doc = httpx.get(f"{team.url}/openapi.json").json()
    ours = {
        ("post", "/v1/datasets"): "scientist",
        ("get", "/v1/datasets"): "viewer",
        ("post", "/v1/models/{name}/versions"): "scientist",
        ("get", "/v1/registry/models"): "viewer",
        ("get", "/v1/registry/models/{name}"): "viewer",
        ("get", "/v1/models/{name}/versions/{version}"): "viewer",
        ("put", "/v1/models/{name}/owners"): "scientist",
        ("get", "/v1/models/{name}/versions/{version}/lineage"): "viewer",
        ("post", "/v1/models/{name}/versions/{version}/evaluations"): "scientist",
        ("post", "/v1/models/{name}/versions/{version}/evaluations:attach"): "scientist",
    }
    for (method, path), role in ours.items():
        op = doc["paths"][path][method]
        assert op["summary"] and op["description"], (method, path)
        assert op["x-aims-role"] == role, (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)
    upload = doc["paths"]["/v1/models/{name}/versions"]["post"]["requestBody"]["content"]
    assert "artifact" in upload["multipart/form-data"]["schema"]["properties"]


def test_a_malformed_upload_is_refused_with_what_to_send(team: Team) -> None:
    csv = ("cells.csv", b"a,b\n1,2\n")
    with team.client("ana@x.org") as c:
        cases = [
            (c.post("/v1/datasets", json={"name": "x"}), 422, "multipart/form-data"),
            (c.post("/v1/datasets", data={"name": "x", "file": "a,b"}), 422, "multipart"),
            (
                c.post("/v1/datasets", data={"name": "x"}, files={"extra": csv}),
                422,
                "unexpected file 'extra'",
            ),
            (
                c.post("/v1/datasets", files=[("file", csv), ("file", csv)], data={"name": "x"}),
                422,
                "sent twice",
            ),
            (c.post("/v1/datasets", files={"file": csv}), 422, "'name' is required"),
            (
                c.post(
                    "/v1/datasets",
                    data={"name": ["x", "y"]},
                    files={"file": csv},
                ),
                422,
                "sent 2 times",
            ),
            (
                c.post(
                    "/v1/datasets",
                    content=b"--b\r\nno headers here",
                    headers={"Content-Type": "multipart/form-data; boundary=b"},
                ),
                400,
                "does not parse",
            ),
        ]
        for r, status, words in cases:
            assert r.status_code == status, r.text
            assert words in r.json()["detail"], r.json()["detail"]
            assert r.headers["content-type"] == "application/problem+json"
    assert datasets_in(team.ws) == []
    assert team.uploads_left() == []


def test_an_upload_cut_off_by_the_client_leaves_no_temporary_file(team: Team) -> None:
    import socket
    from urllib.parse import urlsplit

    from tests.server.conftest import wait_until

    with team.client("ana@x.org") as c:
        token = c.headers["Authorization"]
    url = urlsplit(team.url)
    head = (
        "POST /v1/datasets HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        "Content-Length: 1000000\r\n\r\n"
        "--b\r\n"
        'Content-Disposition: form-data; name="file"; filename="cells.csv"\r\n\r\n'
    )
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head.encode() + b"a,b\n" * 50_000)
        # The part is being written to disk: the temporary file exists...
        wait_until(lambda: any(p.is_file() for p in team.uploads_left()), 10)
    # ...and is removed once the client has gone away.
    wait_until(lambda: team.uploads_left() == [], 10)
    assert datasets_in(team.ws) == []

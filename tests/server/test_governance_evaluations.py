"""Evaluations over real HTTP, in team mode: run by the server on a registered
dataset or on uploaded data, or attached; each stores what the CLI stores locally."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from aims.storage.schema import AuditEvent, Evaluation
from tests.server.governance_team import Team, sha256_of, team, upload_dataset, upload_model

__all__ = ["team"]  # the fixture, imported to be used here

PATH = "/v1/models/biopsy/versions/1/evaluations"


@pytest.fixture
def biopsy(team: Team, tiny_files: dict[str, Path]) -> Team:
    """ana has uploaded the tiny data (cheap to evaluate) and model ``biopsy`` version 1."""
    with team.client("ana@x.org") as c:
        assert upload_dataset(c, tiny_files["data"], "tiny").status_code == 201
        r = upload_model(c, tiny_files["model"], "biopsy", dataset=["tiny@1"])
        assert r.status_code == 201, r.text
    return team


def stored(ws: Any) -> list[dict[str, Any]]:
    with ws.db.session() as s:
        return [
            {
                "data_source": e.data_source,
                "data_hash": e.data_hash,
                "result": e.result,
                "created_by": e.created_by,
            }
            for e in s.scalars(select(Evaluation).order_by(Evaluation.id)).all()
        ]


def local_evaluation(ws: Any, data: Path) -> dict[str, Any]:
    """What ``aims evaluate biopsy@1 --data DATA --label y`` stores (its service)."""
    from aims.services.evaluations import evaluate

    evaluate(ws, "biopsy@1", data, actor="local@x.org", label="y")
    return stored(ws)[-1]


def test_the_server_evaluates_a_registered_dataset_and_an_upload_as_the_cli_does(
    biopsy: Team, tiny_files: dict[str, Path]
) -> None:
    data = tiny_files["data"]
    with biopsy.client("ana@x.org") as c:
        on_dataset = c.post(PATH, json={"dataset": "tiny@1", "label": "y"})
        assert on_dataset.status_code == 201, on_dataset.text
        with data.open("rb") as f:
            on_upload = c.post(
                PATH,
                data={"label": "y", "sha256": sha256_of(data)},
                files={"data": (data.name, f)},
            )
        assert on_upload.status_code == 201, on_upload.text
    remote = stored(biopsy.ws)
    local = local_evaluation(biopsy.ws, data)
    assert [r["data_source"] for r in remote] == ["dataset:tiny@1", "upload:tiny.parquet"]
    for got, answer in zip(remote, (on_dataset, on_upload), strict=True):
        assert got["created_by"] == "ana@x.org"  # not $AIMS_USER
        assert got["data_hash"] == local["data_hash"] == sha256_of(data)
        assert got["result"]["evaluation"] == local["result"]["evaluation"]
        assert answer.json()["evaluation"] == local["result"]["evaluation"]
    assert local["result"]["evaluation"]["metrics"]["roc_auc"] > 0.9
    assert biopsy.uploads_left() == []


def test_an_upload_with_a_wrong_sha256_or_a_missing_dataset_evaluates_nothing(
    biopsy: Team, tiny_files: dict[str, Path]
) -> None:
    data = tiny_files["data"]
    with biopsy.client("ana@x.org") as c:
        with data.open("rb") as f:
            r = c.post(PATH, data={"label": "y", "sha256": "f" * 64}, files={"data": f})
        assert r.status_code == 422 and "sha256" in r.json()["detail"]
        r = c.post(PATH, json={"dataset": "nope@1", "label": "y"})
        assert r.status_code == 404 and "nope" in r.json()["detail"]
        r = c.post(PATH, json={"dataset": "tiny@1", "labels": "y"})
        assert r.status_code == 422 and "labels" in r.json()["detail"]
    assert stored(biopsy.ws) == []
    assert biopsy.uploads_left() == []


def test_a_viewer_and_another_projects_scientist_may_not_evaluate(biopsy: Team) -> None:
    body = {"dataset": "tiny@1", "label": "y"}
    with biopsy.client("vic@x.org") as c:
        assert c.post(PATH, json=body).status_code == 403
    with biopsy.client("cora@x.org") as c:
        r = c.post(PATH, json=body)
        assert r.status_code == 404 and r.json()["detail"] == "model 'biopsy' is not registered"
    assert stored(biopsy.ws) == []


def test_an_evaluation_computed_elsewhere_is_attached_and_marked(
    biopsy: Team, tiny_files: dict[str, Path]
) -> None:
    local = local_evaluation(biopsy.ws, tiny_files["data"])
    body = {
        "evaluation": local["result"]["evaluation"],
        "data": "s3://clinic/holdout.parquet",
        "data_sha256": local["data_hash"],
    }
    with biopsy.client("ana@x.org") as c:
        broken = c.post(PATH + ":attach", json={**body, "evaluation": {"metrics": {}}})
        assert broken.status_code == 422, broken.text
        assert "schema" in broken.json()["detail"]
        r = c.post(PATH + ":attach", json=body)
        assert r.status_code == 201, r.text
    attached = stored(biopsy.ws)[-1]
    assert len(stored(biopsy.ws)) == 2
    assert attached["created_by"] == "ana@x.org"
    assert attached["data_source"] == "s3://clinic/holdout.parquet"
    assert attached["result"]["attached"] is True
    assert attached["result"]["evaluation"] == local["result"]["evaluation"]
    with biopsy.ws.db.session() as s:
        actors = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "model.evaluate.attach")
        ).all()
    assert actors == ["ana@x.org"]

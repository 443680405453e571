"""LLM applications in team mode, over real HTTP: registered and evaluated by the server
as the command line does locally, under the token's principal."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from aims.services.llm_apps import self_contained
from aims.storage.schema import Evaluation, Model
from tests.server.governance_team import Team, sha256_of, team, upload_model
from tests.services.llm_fixtures import GOOD, write_cases

__all__ = ["team"]  # the fixture, imported to be used here

SYSTEM = "Give the capital only.\n"


def test_an_application_is_registered_and_evaluated_through_the_server(
    team: Team, tmp_path: Path
) -> None:
    (tmp_path / "system.md").write_text(SYSTEM)
    app = tmp_path / "geo.yaml"
    app.write_text(
        "kind: llm-application\nprompt: {system_file: system.md, template: 'Q: {input}'}\n"
        "model: {provider: openai, name: gpt-4o-mini}\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: llm-application\nprompt: {system: hi}\nmodel: {provider: p}\n")
    cases = write_cases(tmp_path / "cases.jsonl", GOOD)
    with team.client("ana@x.org") as c:
        refused = upload_model(c, bad, "geo", dataset=[])
        assert refused.status_code == 422
        assert "line 3: model: missing required key name" in refused.json()["detail"]
        # The command line inlines the prompt file: the server cannot read files beside it.
        with self_contained(app) as upload:
            r = upload_model(c, upload, "geo", dataset=[], sha256=sha256_of(upload))
        assert r.status_code == 201, r.text
        registered = r.json()
        assert (registered["flavour"], registered["created_by"]) == ("llm-app", "ana@x.org")
        assert registered["prompt_sha256"] == hashlib.sha256(SYSTEM.encode()).hexdigest()
        shown = c.get("/v1/models/geo/versions/1").json()
        assert shown["model"]["name"] == "gpt-4o-mini" and shown["kind"] == "llm-application"
        with cases.open("rb") as f:
            ev = c.post(
                "/v1/models/geo/versions/1/evaluations",
                data={"sha256": sha256_of(cases)},
                files={"data": (cases.name, f)},
            )
        assert ev.status_code == 201, ev.text
    result = ev.json()
    assert result["kind"] == "llm-application" and result["data"] == "upload:cases.jsonl"
    assert result["evaluation"]["metrics"]["normalised_match"] == 1.0
    with team.ws.db.session() as s:
        assert s.scalar(select(func.count(Model.id))) == 1
        row = s.scalar(select(Evaluation))
        assert row is not None and row.created_by == "ana@x.org"
    assert team.uploads_left() == []


def test_the_registration_form_requires_no_dataset_and_a_model_file_without_one_is_refused(
    team: Team, tmp_path: Path
) -> None:
    with team.client("ana@x.org") as c:
        doc = c.get("/openapi.json").json()
        form = doc["paths"]["/v1/models/{name}/versions"]["post"]["requestBody"]["content"]
        schema = form["multipart/form-data"]["schema"]
        assert schema["required"] == ["artifact"]
        assert "optional for an LLM application" in schema["properties"]["dataset"]["description"]
        # What the schema no longer demands, the registry still does for a model file.
        model = tmp_path / "m.onnx"
        model.write_bytes(b"not a model")
        r = upload_model(c, model, "plain", dataset=[])
        assert r.status_code == 422, r.text
        assert "--dataset NAME@VERSION (lineage is required)" in r.json()["detail"]
    with team.ws.db.session() as s:
        assert s.scalar(select(func.count(Model.id)).where(Model.name == "plain")) == 0

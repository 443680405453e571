"""LLM applications from the Python API: registered from YAML and evaluated on cases, as the CLI does."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import aims
from aims.errors import GateFailed, InvalidInput
from tests.services.fake_openai import fake_openai
from tests.services.llm_fixtures import GOOD, QUESTIONS, write_app, write_cases

OWNERS = {"development": "ana@x.org", "deployment": "raj@x.org", "monitoring": "oncall@x.org"}


def _audit(root: Path) -> list[tuple[str, str, str]]:
    from aims.services.audit import query
    from aims.workspace import Workspace

    ws = Workspace.open(root)
    try:
        return [
            (e["actor"], e["action"], e["subject"])
            for e in query(ws.db)
            if e["action"].startswith("model.") and e["action"] != "model.owners.set"
        ]
    finally:
        ws.close()


def test_an_llm_application_is_registered_without_data_evaluated_and_gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    apps = tmp_path / "apps"
    with aims.Workspace.init(tmp_path / "ws", policy="minimal", actor="ana@x.org") as ws:
        first = ws.register_model(
            write_app(apps, "v1", "Give the capital only."), "geo", owners=OWNERS
        )
        assert (first["version"], first["flavour"]) == (1, "llm-app")
        assert len(first["prompt_sha256"]) == 64 and first["tools"][0]["name"] == "lookup_city"

        given = ws.evaluate("geo@1", write_cases(tmp_path / "given.jsonl", GOOD))
        assert given["kind"] == "llm-application" and given["outputs"] == "given"
        assert given["evaluation"]["metrics"]["pass_rate"] == 1.0

        # Answers asked of an OpenAI-compatible endpoint with the version's own prompt.
        with fake_openai() as (url, requests):
            asked = ws.evaluate(
                "geo@1",
                str(write_cases(tmp_path / "open.jsonl", {})),
                endpoint=url,
                api_key_env="TEST_LLM_KEY",
            )
        assert asked["outputs"] == "generated" and len(requests) == len(QUESTIONS)
        assert asked["evaluation"]["metrics"]["normalised_match"] == 1.0
        assert requests[0]["body"]["messages"][0]["content"] == "Give the capital only."

        traced = ws.evaluate("geo@1", from_traces=True, since="7d")
        assert traced["model"] == "geo" and traced["version"] == 1

        unmet = [r["rule"] for r in ws.gates("geo@1")["rules"] if not r["passed"]]
        assert unmet == ["approvals.count"]
        with pytest.raises(GateFailed, match="approvals"):
            ws.promote("geo@1")
        ws.act_as("raj@x.org").approve("geo@1")
        assert ws.promote("geo@1")["stage"] == "production"

    actions = _audit(tmp_path / "ws")
    assert actions[:4] == [
        ("ana@x.org", "model.register", "model:geo@1"),
        ("ana@x.org", "model.evaluate", "model:geo@1"),
        ("ana@x.org", "model.evaluate", "model:geo@1"),
        ("ana@x.org", "model.evaluate.traces", "model:geo@1"),
    ]


def test_llm_and_model_options_are_refused_where_they_do_not_apply(tmp_path: Path) -> None:
    apps = tmp_path / "apps"
    with aims.Workspace.init(tmp_path / "ws", actor="ana@x.org") as ws:
        with pytest.raises(InvalidInput, match="no input contract"):
            ws.register_model(write_app(apps, "v1", "Capital."), "geo", contract="c.yaml")
        assert ws.models() == []
        ws.register_model(write_app(apps, "v1", "Capital."), "geo", owners=OWNERS)
        cases = pl.DataFrame({"input": ["What is the capital of France?"]})
        with pytest.raises(InvalidInput, match="JSONL file: give its path"):
            ws.evaluate("geo@1", cases)
        with pytest.raises(InvalidInput, match="give the cases of geo@1"):
            ws.evaluate("geo@1")
        with pytest.raises(InvalidInput, match="endpoint_model needs endpoint"):
            ws.evaluate("geo@1", tmp_path / "cases.jsonl", endpoint_model="m")
        with pytest.raises(InvalidInput, match="not both"):
            ws.evaluate("geo@1", tmp_path / "cases.jsonl", from_traces=True)
    assert _audit(tmp_path / "ws") == [("ana@x.org", "model.register", "model:geo@1")]

"""Evaluating LLM application versions: answers generated through a real HTTP endpoint,
a judge, the production version beside it, and refusals that store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aims.core.genai.pricing import builtin_prices
from aims.errors import ConfigError, InvalidInput
from aims.services import evaluations, lifecycle, llm_apps, llm_evaluation
from aims.services.llm_endpoint import Endpoint
from aims.storage.schema import Evaluation
from tests.services.fake_openai import fake_openai
from tests.services.llm_fixtures import GOOD, QUESTIONS, write_app, write_cases

OWNERS = {"development": "ana@x.org", "deployment": "d@x.org", "monitoring": "m@x.org"}


def _stored(ws) -> int:
    with ws.db.session() as s:
        return int(s.scalar(select(func.count(Evaluation.id))) or 0)


def _cases_without_outputs(path: Path) -> Path:
    write_cases(path, {}, rubric="Names the right capital city.")
    return path


def test_answers_come_from_the_endpoint_with_the_versions_prompt_and_a_judge_scores_them(
    workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    apps = tmp_path / "apps"
    llm_apps.register_app(
        workspace,
        write_app(apps, "v1", "Give the capital only."),
        "geo",
        actor="ana@x.org",
        owners=OWNERS,
    )
    cases = _cases_without_outputs(tmp_path / "cases.jsonl")
    with fake_openai() as (url, requests):
        generation = llm_evaluation.Generation(
            endpoint=Endpoint(url, api_key_env="TEST_LLM_KEY"), judge_model="judge-1"
        )
        out = llm_evaluation.evaluate_app(
            workspace, "geo@1", cases, actor="ana@x.org", generation=generation
        )
    metrics = out["evaluation"]["metrics"]
    assert out["outputs"] == "generated"
    assert metrics["normalised_match"] == 1.0 and metrics["exact_match"] == 1.0
    assert metrics["judge_score"] == 1.0 and metrics["refusal_rate"] == 0.0
    asked = [r for r in requests if r["body"]["model"] == "gpt-4o-mini"]
    judged = [r for r in requests if r["body"]["model"] == "judge-1"]
    assert len(asked) == len(judged) == len(QUESTIONS)
    first = asked[0]["body"]
    assert first["messages"][0] == {"role": "system", "content": "Give the capital only."}
    assert first["messages"][1]["content"].startswith("Question: What is the capital of")
    assert first["temperature"] == 0 and first["max_tokens"] == 64
    assert first["tools"][0]["function"]["name"] == "lookup_city"
    assert {r["auth"] for r in requests} == {"Bearer sk-test"}
    # Cost per case from the usage the endpoint reported and the offline price table.
    usage = [
        builtin_prices().cost("gpt-4o-mini", c["input_tokens"], c["output_tokens"])
        for c in out["cases"]
    ]
    assert metrics["cost_usd"] == pytest.approx(sum(usage) / len(usage))
    assert metrics["input_tokens"] > 0 and metrics["latency_ms"] > 0
    assert _stored(workspace) == 1


def test_the_production_version_answers_the_same_cases_beside_a_new_prompt(
    workspace, tmp_path: Path
) -> None:
    apps = tmp_path / "apps"
    for name, system in (("v1", "Give the capital only."), ("v2", "Be brief.")):
        llm_apps.register_app(
            workspace, write_app(apps, name, system), "geo", actor="ana@x.org", owners=OWNERS
        )
    lifecycle.promote(workspace, "geo@1", "production", actor="ana@x.org")
    cases = _cases_without_outputs(tmp_path / "cases.jsonl")
    with fake_openai() as (url, requests):
        generation = llm_evaluation.Generation(endpoint=Endpoint(url, api_key_env=""))
        out = llm_evaluation.evaluate_app(
            workspace, "geo@2", cases, actor="ana@x.org", generation=generation
        )
    assert len(requests) == 2 * len(QUESTIONS)
    assert out["champion"]["version"] == 1
    rows = {r["name"]: r for r in out["comparison"]["rows"]}
    assert rows["normalised_match"]["verdict"] == "worse"
    assert rows["normalised_match"]["challenger"] == 0.0
    assert rows["refusal_rate"]["challenger"] == pytest.approx(0.2)
    assert rows["refusal_rate"]["verdict"] == "worse"
    assert out["comparison"]["same_data"] is True


def test_missing_outputs_templates_and_endpoints_are_refused_before_anything_is_stored(
    workspace, tmp_path: Path
) -> None:
    apps = tmp_path / "apps"
    llm_apps.register_app(
        workspace, write_app(apps, "v1", "Give the capital only."), "geo", actor="ana@x.org"
    )
    cases = _cases_without_outputs(tmp_path / "cases.jsonl")
    with pytest.raises(InvalidInput, match=r"5 case\(s\) have no 'output' .*--endpoint URL"):
        llm_evaluation.evaluate_app(workspace, "geo@1", cases, actor="ana@x.org")
    with pytest.raises(InvalidInput, match="--judge-model needs an endpoint"):
        llm_evaluation.evaluate_app(
            workspace,
            "geo@1",
            write_cases(tmp_path / "given.jsonl", GOOD),
            actor="ana@x.org",
            generation=llm_evaluation.Generation(judge_model="judge-1"),
        )
    # An object input lacking the template's variable: refused before the first request.
    bad = tmp_path / "vars.jsonl"
    bad.write_text(json.dumps({"id": "v", "input": {"country": "France"}}) + "\n")
    with fake_openai() as (url, requests):
        generation = llm_evaluation.Generation(endpoint=Endpoint(url))
        with pytest.raises(
            InvalidInput, match=r"template needs \{input\} but the input gives country"
        ):
            llm_evaluation.evaluate_app(
                workspace, "geo@1", bad, actor="ana@x.org", generation=generation
            )
        assert requests == []
        with pytest.raises(ConfigError, match="answered HTTP 404"):
            llm_evaluation.evaluate_app(
                workspace,
                "geo@1",
                cases,
                actor="ana@x.org",
                generation=llm_evaluation.Generation(endpoint=Endpoint(url + "/wrong")),
            )
    with pytest.raises(ConfigError, match="cannot reach"):
        llm_evaluation.evaluate_app(
            workspace,
            "geo@1",
            cases,
            actor="ana@x.org",
            generation=llm_evaluation.Generation(endpoint=Endpoint(url, timeout=5)),
        )
    with pytest.raises(InvalidInput, match="not an http"):
        Endpoint("localhost:1234/v1")
    assert _stored(workspace) == 0


def test_a_model_evaluation_of_an_llm_application_says_how_to_evaluate_it(
    workspace, tmp_path: Path
) -> None:
    llm_apps.register_app(
        workspace, write_app(tmp_path, "v1", "Give the capital only."), "geo", actor="ana@x.org"
    )
    table = tmp_path / "rows.csv"
    table.write_text("x,target\n1,0\n2,1\n")
    with pytest.raises(InvalidInput, match=r"LLM application.*--data cases\.jsonl"):
        evaluations.evaluate(workspace, "geo@1", table, actor="a", label="target")
    assert _stored(workspace) == 0


def test_cost_per_case_uses_the_workspaces_own_prices(tmp_path: Path) -> None:
    import yaml

    from aims.workspace import Workspace
    from tests.conftest import _open_workspace

    root = tmp_path / "ws"
    _open_workspace(root).close()
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["traces"] = {"prices": {"house-model": {"input": 1.0, "output": 2.0}}}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ws = Workspace.open(root)
    try:
        app = write_app(tmp_path / "apps", "v1", "Give the capital only.", model="house-model")
        llm_apps.register_app(ws, app, "geo", actor="ana@x.org")
        out = llm_evaluation.evaluate_app(
            ws, "geo@1", write_cases(tmp_path / "c.jsonl", GOOD), actor="ana@x.org"
        )
    finally:
        ws.close()
    # 40 input tokens at $1 and 10 output tokens at $2 per million, in every case.
    assert out["evaluation"]["metrics"]["cost_usd"] == pytest.approx(60e-6)
    assert out["evaluation"]["metrics"]["cost_usd_total"] == pytest.approx(5 * 60e-6)


def test_a_new_template_the_production_prompt_cannot_fill_is_evaluated_without_comparison(
    workspace, tmp_path: Path
) -> None:
    llm_apps.register_app(
        workspace,
        write_app(tmp_path, "v1", "Give the capital only."),
        "geo",
        actor="ana@x.org",
        owners=OWNERS,
    )
    lifecycle.promote(workspace, "geo@1", "production", actor="ana@x.org")
    v2 = tmp_path / "v2.yaml"
    v2.write_text(
        "kind: llm-application\n"
        "prompt: {system: Give the capital only., template: 'Country: {country}'}\n"
        "model: {provider: openai, name: gpt-4o-mini}\n"
    )
    llm_apps.register_app(workspace, v2, "geo", actor="ana@x.org")
    cases = tmp_path / "countries.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps({"id": c, "input": {"country": c}, "expected": e})
            for c, e in (("France", "Paris"), ("Italy", "Rome"))
        )
    )
    with fake_openai() as (url, requests):
        generation = llm_evaluation.Generation(endpoint=Endpoint(url, api_key_env=""))
        out = llm_evaluation.evaluate_app(
            workspace, "geo@2", cases, actor="ana@x.org", generation=generation
        )
    assert len(requests) == 2  # only version 2 was asked
    assert "champion" not in out
    assert out["evaluation"]["metrics"]["normalised_match"] == 1.0
    [note] = [n for n in out["evaluation"]["notes"] if "production" in n]
    assert "geo@1 not compared" in note and "template needs {input}" in note

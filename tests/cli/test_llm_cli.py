"""LLM applications from the command line: register, describe, evaluate, refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.in_process import run
from tests.conftest import _open_workspace
from tests.services.fake_openai import fake_openai
from tests.services.llm_fixtures import GOOD, write_app, write_cases


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("llm-cli") / "ws"
    _open_workspace(root).close()
    app = write_app(root.parent / "apps", "geo", "Give the capital only.")
    out = run(
        [
            "model",
            "register",
            str(app),
            "-n",
            "geo",
            "--owner",
            "development=ana@x.org",
            "-f",
            "json",
        ],
        root,
    )
    assert out.returncode == 0, out.stderr
    registered = json.loads(out.stdout)
    assert (registered["version"], registered["flavour"]) == (1, "llm-app")
    return root


def test_describe_shows_the_prompt_hash_model_and_tools(root: Path) -> None:
    import hashlib

    out = run(["model", "describe", "geo@1"], root)
    assert out.returncode == 0, out.stderr
    prompt = hashlib.sha256(b"Give the capital only.").hexdigest()
    assert f"prompt sha256: {prompt}" in out.stdout
    assert "model: openai/gpt-4o-mini (temperature=0, max_tokens=64)" in out.stdout
    assert "lookup_city" in out.stdout and "1 tool(s)" in out.stdout


def test_a_malformed_file_is_one_line_naming_line_and_field(root: Path) -> None:
    bad = root.parent / "bad.yaml"
    bad.write_text("kind: llm-application\nprompt: {system: hi}\nmodel: {provider: p, nme: m}\n")
    out = run(["model", "register", str(bad), "-n", "geo"], root)
    assert out.returncode == 1
    assert f"{bad} line 3: model.nme: unknown key 'nme'" in out.stderr
    assert "model: missing required key name" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_evaluate_given_and_generated_answers(root: Path) -> None:
    given = write_cases(root.parent / "given.jsonl", GOOD)
    out = run(["evaluate", "geo@1", "--data", str(given), "-f", "json"], root)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["outputs"] == "given" and doc["evaluation"]["metrics"]["normalised_match"] == 1.0

    asked = write_cases(root.parent / "asked.jsonl", {}, rubric="Names the capital.")
    with fake_openai() as (url, requests):
        out = run(
            ["evaluate", "geo@1", "--data", str(asked), "--endpoint", url, "--judge-model", "j"],
            root,
        )
    assert out.returncode == 0, out.stderr
    assert "judge_score" in out.stdout and "generated" in out.stdout
    assert len(requests) == 10

    refused = run(["evaluate", "geo@1", "--data", str(asked)], root)
    assert refused.returncode == 1
    assert "5 case(s) have no 'output'" in refused.stderr
    traces = run(["evaluate", "geo@1", "--from-traces", "--since", "24h"], root)
    assert traces.returncode == 0, traces.stderr
    assert "0 evaluation result(s) on 0 span(s) from traces" in traces.stdout

"""LLM applications from the command line in remote mode: the definition is uploaded with its
prompt files inlined, cases are scored by the server, and local-only options are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tests.cli.test_remote import Server, aims, server
from tests.services.llm_fixtures import GOOD, write_cases

__all__ = ["aims", "server"]  # the fixtures, imported to be used here

SYSTEM = "Give the capital only.\n"


def test_register_describe_and_evaluate_through_the_server(
    server: Server, tmp_path: Path, aims: Any
) -> None:
    env = {"AIMS_URL": server.url, "AIMS_API_KEY": server.keys["ana@x.org"]}
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "system.md").write_text(SYSTEM)
    (tmp_path / "geo.yaml").write_text(
        "kind: llm-application\nprompt: {system_file: prompts/system.md}\n"
        "model: {provider: openai, name: gpt-4o-mini}\n"
    )
    out = aims(["model", "register", "geo.yaml", "-n", "geo-remote", "-f", "json"], tmp_path, env)
    assert out.returncode == 0, out.stderr
    registered = json.loads(out.stdout)
    assert registered["created_by"] == "ana@x.org"
    assert registered["prompt_sha256"] == hashlib.sha256(SYSTEM.encode()).hexdigest()

    shown = aims(["model", "describe", "geo-remote@1"], tmp_path, env)
    assert shown.returncode == 0, shown.stderr
    assert "LLM application geo-remote@1" in shown.stdout and "openai/gpt-4o-mini" in shown.stdout

    cases = write_cases(tmp_path / "cases.jsonl", GOOD)
    ev = aims(["evaluate", "geo-remote@1", "--data", str(cases), "-f", "json"], tmp_path, env)
    assert ev.returncode == 0, ev.stderr
    result = json.loads(ev.stdout)
    assert (result["kind"], result["outputs"], result["data"]) == (
        "llm-application",
        "given",
        str(cases),
    )
    assert result["evaluation"]["metrics"]["normalised_match"] == 1.0

    local_only = aims(
        ["evaluate", "geo-remote@1", "--data", str(cases), "--endpoint", "http://127.0.0.1:9/v1"],
        tmp_path,
        env,
    )
    assert local_only.returncode == 1
    assert "run in a local workspace" in local_only.stderr

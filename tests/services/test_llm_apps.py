"""LLM application versions in the registry: the YAML definition, its errors, what is
recorded, and the index that links spans to versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from aims.errors import ConfigError, InvalidInput
from aims.services import lifecycle, llm_apps, registry
from aims.storage.schema import AuditEvent, Model
from tests.services.llm_fixtures import write_app

OWNERS = {"development": "ana@x.org", "deployment": "d@x.org", "monitoring": "m@x.org"}
SYSTEM = "You answer questions about orders.\nBe polite.\n"
TOOL = {
    "name": "lookup_order",
    "description": "Find an order by id",
    "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}},
}


def _app_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "support"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "system.md").write_text(SYSTEM)
    (folder / "app.yaml").write_text(
        "kind: llm-application\n"
        "name: support-agent\n"
        "version: 2.1\n"
        "prompt:\n"
        "  system_file: prompts/system.md\n"
        '  template: "Customer: {question} (order {order})"\n'
        "model: {provider: openai, name: gpt-4o-mini, parameters: {temperature: 0.2}}\n"
        f"tools:\n  - {json.dumps(TOOL)}\n"
        "agent:\n"
        "  nodes: [{id: triage}, {id: refunds, kind: tool}]\n"
        "  edges: [[triage, refunds]]\n"
    )
    return folder / "app.yaml"


@pytest.fixture(scope="module")
def empty_ws(tmp_path_factory: pytest.TempPathFactory):
    """One workspace for the refusals: each test checks that it stays empty."""
    from tests.conftest import _open_workspace

    ws = _open_workspace(tmp_path_factory.mktemp("llm-apps") / "ws")
    yield ws
    ws.close()


def _models(ws) -> int:
    with ws.db.session() as s:
        return int(s.scalar(select(func.count(Model.id))) or 0)


def test_an_application_is_registered_with_its_prompt_model_and_tool_hashes(
    workspace, tmp_path: Path
) -> None:
    out = llm_apps.register_app(
        workspace, _app_folder(tmp_path), "support", actor="ana@x.org", owners=OWNERS
    )
    assert (out["name"], out["version"], out["flavour"]) == ("support", 1, "llm-app")
    assert out["prompt_sha256"] == hashlib.sha256(SYSTEM.encode()).hexdigest()
    assert out["model"] == {
        "provider": "openai",
        "name": "gpt-4o-mini",
        "parameters": {"temperature": 0.2},
    }
    canonical = json.dumps(TOOL, sort_keys=True, separators=(",", ":")).encode()
    assert out["tools"] == [
        {
            "name": "lookup_order",
            "description": "Find an order by id",
            "sha256": hashlib.sha256(canonical).hexdigest(),
        }
    ]
    assert out["agent"] == {"nodes": 2, "edges": 1}
    assert (out["app_name"], out["app_version"]) == ("support-agent", "2.1")
    assert out["owners"]["development"] == "ana@x.org"
    # The stored artifact is the definition itself, the prompt file inlined.
    stored = json.loads(workspace.artifacts.get_bytes(out["artifact_sha256"]))
    assert stored["prompt"]["system"] == SYSTEM and "system_file" not in stored["prompt"]
    assert registry.show_version(workspace, "support@1")["prompt_sha256"] == out["prompt_sha256"]
    with workspace.db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "model.register"))
        assert event is not None and event.subject == "model:support@1"
        payload = json.loads(event.payload)
        assert payload["prompt_sha256"] == out["prompt_sha256"]
        assert payload["tools"] == {"lookup_order": out["tools"][0]["sha256"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: llm-app\nprompt: {system: hi}\nmodel: {provider: p, name: m}\n", "line 1: kind"),
        ("kind: llm-application\nprompt: {system: hi}\n", "missing required key model"),
        (
            "kind: llm-application\nprompt: {system: hi}\nmodel: {provider: p, name: m}\n"
            "tools:\n  - {name: 'bad name!'}\n",
            "line 5: tools[0].name: a tool name is 1-128",
        ),
        (
            "kind: llm-application\nprompt: {system: hi}\nmodel: {provider: p, name: m, temp: 1}\n",
            "line 3: model.temp: unknown key 'temp'; allowed keys: provider, name, parameters",
        ),
        (
            "kind: llm-application\nprompt:\n  system_file: nowhere.md\nmodel: {provider: p, name: m}\n",
            "line 3: prompt.system_file: 'nowhere.md' is not a file",
        ),
        (
            "kind: llm-application\nprompt: {template: 'Hi {name'}\nmodel: {provider: p, name: m}\n",
            "line 2: prompt.template:",
        ),
        (
            "kind: llm-application\nprompt: {system: hi}\nmodel: {provider: p, name: m}\n"
            "agent: {nodes: [{id: a}], edges: [[a, b]]}\n",
            "line 4: agent: edge [a, b] names node 'b'",
        ),
        ("kind: llm-application\nprompt: {system: [unclosed\n", "line 3: not valid YAML"),
        ("- kind: llm-application\n", "is a mapping starting with 'kind: llm-application'"),
    ],
)
def test_a_malformed_definition_is_refused_with_its_line_and_field(
    empty_ws, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(text)
    with pytest.raises((ConfigError, InvalidInput)) as refused:
        llm_apps.register_app(empty_ws, path, "support", actor="ana@x.org")
    assert message in str(refused.value)
    assert str(path) in str(refused.value)
    assert _models(empty_ws) == 0


def test_spans_find_their_version_by_name_version_label_or_prompt_hash(
    workspace, tmp_path: Path
) -> None:
    apps = tmp_path / "apps"
    for name, system in (("v1", "Prompt one."), ("v2", "Prompt two."), ("v3", "Prompt two.")):
        llm_apps.register_app(
            workspace, write_app(apps, name, system), "geo", actor="ana@x.org", owners=OWNERS
        )
    llm_apps.register_app(workspace, _app_folder(tmp_path), "support", actor="ana@x.org")
    lifecycle.promote(workspace, "geo@2", "production", actor="ana@x.org")
    index = llm_apps.version_index(workspace, "default")
    assert len(index) == 4

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def match(application=None, version=None, prompt=None):
        return index.match(application=application, version=version, prompt_sha256=prompt)

    # By the registered name or the name the definition declares, with a number or label.
    assert match("geo", "3") == ("geo", "3")
    assert match("geo", "v1") == ("geo", "1")
    assert match("support-agent", "2.1") == ("support", "1")
    assert match("support", "1") == ("support", "1")
    # By the prompt hash: the production version of those sharing a prompt wins.
    assert match(prompt=sha("Prompt two.")) == ("geo", "2")
    assert match("unknown-service", "9", sha("Prompt one.")) == ("geo", "1")
    # The prompt as written in the file (trailing newline) and as sent (stripped) both match.
    assert match(prompt=sha(SYSTEM)) == ("support", "1")
    assert match(prompt=sha(SYSTEM.strip())) == ("support", "1")
    assert match(prompt=sha(SYSTEM.strip()).upper()) == ("support", "1")
    # Unknown versions, names and prompts find nothing; other projects see nothing.
    assert match("geo", "7") is None
    assert match("geo", None) is None
    assert match("nobody", "1", sha("another prompt")) is None
    assert len(llm_apps.version_index(workspace, "other-project")) == 0


def test_an_application_in_production_is_not_loaded_for_serving(workspace, tmp_path: Path) -> None:
    from aims.server.deployments import Deployments

    llm_apps.register_app(
        workspace, write_app(tmp_path, "v1", "Prompt."), "geo", actor="ana@x.org", owners=OWNERS
    )
    lifecycle.promote(workspace, "geo@1", "production", actor="ana@x.org")
    deployments = Deployments(workspace)
    assert deployments.refresh(force=True)
    assert deployments.load_errors == {}
    assert "geo" not in deployments.table.models


def test_a_name_holds_models_or_applications_never_both(workspace, tmp_path: Path) -> None:
    llm_apps.register_app(workspace, write_app(tmp_path, "v1", "Prompt."), "geo", actor="ana@x.org")
    registry.register_dataset(workspace, _csv(tmp_path), "rows", actor="ana@x.org")
    artifact = tmp_path / "model.skops"
    artifact.write_bytes(b"not looked at: the name is refused first")
    with pytest.raises(InvalidInput, match="'geo' holds LLM application versions"):
        registry.register_model(workspace, artifact, "geo", actor="ana@x.org", datasets=["rows@1"])
    assert [v["flavour"] for v in registry.describe(workspace, "geo")["versions"]] == ["llm-app"]


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("x,y\n1,0\n2,1\n")
    return path

"""``aims gateway server|allow|pins|calls`` in remote mode: the CLI acting through a real
server on loopback as the key's principal, printing what local mode prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder

from aims.server.app import create_app
from aims.services import audit, identity, keys
from aims.services.gateway import calls, inventory, pins
from tests.cli.test_remote import aims  # noqa: F401 - the fixture that runs the CLI
from tests.server.conftest import LiveServer

PEOPLE = {"ana": "admin", "owen": "viewer", "rita": "approver"}
"""Roles on project default: ana administers the gateway, owen owns its servers."""


class Served:
    def __init__(self, ws: Any, url: str, keys_of: dict[str, str]) -> None:
        self.ws, self.url, self.keys = ws, url, keys_of

    def env(self, who: str) -> dict[str, str]:
        # AIMS_USER is set to show that it changes nothing: the key's principal acts.
        return {"AIMS_URL": self.url, "AIMS_API_KEY": self.keys[who], "AIMS_USER": "mallory"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import yaml

    from aims.workspace import Workspace, init_workspace

    root = init_workspace(tmp_path_factory.mktemp("gwremote") / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    (root / "aims.yaml").write_text(yaml.safe_dump({**config, "identity": "team"}))
    ws = Workspace.open(root)
    made = {}
    for who, role in PEOPLE.items():
        name = f"{who}@x.org"
        identity.add_principal(ws, name, kind="human", actor="root")
        identity.grant(ws, name, role=role, project="default", actor="root")
        made[who] = keys.create_key(ws, project="default", role=role, actor="root", principal=name)[
            1
        ]
    identity.add_principal(ws, "report-bot", kind="agent", owner="owen@x.org", actor="root")
    try:
        with LiveServer(create_app(ws)) as live:
            yield Served(ws, live.url, made)
    finally:
        ws.close()


def _json(out: Any) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_servers_allow_lists_pins_and_calls_administered_remotely(
    served: Served,
    tmp_path: Path,
    aims: Any,  # noqa: F811
) -> None:
    add = ["gateway", "server", "add", "files", "--url", "https://files.example/mcp"]
    added = aims([*add, "--owner", "owen@x.org"], tmp_path, served.env("ana"))
    assert added.returncode == 0, added.stderr
    assert "registered MCP server files (https://files.example/mcp), owner owen@x.org" in (
        added.stdout
    )
    # The list a viewer gets is the document the local command prints.
    listed = _json(aims(["gateway", "server", "list", "-f", "json"], tmp_path, served.env("owen")))
    assert listed == jsonable_encoder(inventory.list_servers(served.ws))
    assert [s["name"] for s in listed] == ["files"]
    refused = aims([*add, "--owner", "owen@x.org"], tmp_path, served.env("owen"))
    assert refused.returncode == 1 and "admin role" in refused.stderr

    allowed = aims(
        [
            *("gateway", "allow", "report-bot", "files", "read_file", "--prefix", "path=/data/"),
            *("--domains", "notify=acme.example,Partner.example"),
        ],
        tmp_path,
        served.env("ana"),
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "report-bot may call files/read_file" in allowed.stdout
    rows = _json(
        aims(["gateway", "allowed", "report-bot", "-f", "json"], tmp_path, served.env("owen"))
    )
    assert rows == [
        {
            "agent": "report-bot",
            "server": "files",
            "tool": "read_file",
            "constraints": {
                "path": {"prefix": "/data/"},
                "notify": {"domains": ["acme.example", "partner.example"]},
            },
        }
    ]

    # The gateway saw the tool; its owner approves it from where she works.
    tool = {"name": "read_file", "description": "Read a file.", "inputSchema": {}}
    pins.observe(served.ws, "files", [tool])
    table = aims(["gateway", "pins", "list", "files"], tmp_path, served.env("owen"))
    assert table.returncode == 0 and "new" in table.stdout
    not_owner = aims(
        ["gateway", "pins", "approve", "files", "read_file"], tmp_path, served.env("ana")
    )
    assert not_owner.returncode == 1 and "only owen@x.org, the owner" in not_owner.stderr
    ok = aims(["gateway", "pins", "approve", "files", "read_file"], tmp_path, served.env("owen"))
    assert ok.returncode == 0, ok.stderr
    [pin] = pins.list_pins(served.ws, "files")
    assert pin["status"] == "approved" and pin["approved_by"] == "owen@x.org"
    assert f"approved files/read_file as {pin['sha256'][:12]}" in ok.stdout

    waiting = calls.file_call(
        served.ws,
        agent="report-bot",
        owner="owen@x.org",
        server="files",
        tool="read_file",
        arguments={"path": "/data/q3.csv"},
        timeout_seconds=600,
    )
    pending = _json(
        aims(["gateway", "calls", "pending", "-f", "json"], tmp_path, served.env("rita"))
    )
    assert [c["id"] for c in pending] == [waiting]
    decided = aims(
        ["gateway", "calls", "approve", str(waiting), "--note", "report data"],
        tmp_path,
        served.env("rita"),
    )
    assert decided.returncode == 0, decided.stderr
    assert f"call {waiting} of files/read_file by report-bot: approved" in decided.stdout
    [event] = audit.query(served.ws.db, audit.EventFilter(action="gateway.call.approve"))
    assert event["actor"] == "rita@x.org"  # the key's principal, never $AIMS_USER

    gone = aims(["gateway", "server", "remove", "files"], tmp_path, served.env("ana"))
    assert gone.returncode == 0 and "removed MCP server files" in gone.stdout
    assert inventory.list_servers(served.ws) == []

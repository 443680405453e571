"""``aims elevate``, ``aims elevation`` and ``aims access review`` in remote mode, through a
real server on loopback: same arguments, same output as locally."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from aims.server.app import create_app
from aims.services import identity, keys
from aims.workspace import Workspace, init_workspace
from tests.cli.in_process import run_as_process
from tests.server.conftest import LiveServer


@pytest.fixture
def served(tmp_path: Path):
    root = init_workspace(tmp_path / "ws")
    config = yaml.safe_load((root / "aims.yaml").read_text())
    (root / "aims.yaml").write_text(yaml.safe_dump({**config, "identity": "team"}))
    ws = Workspace.open(root)
    made = {}
    for who, role, project in (("ana", "scientist", "default"), ("root", "admin", "*")):
        identity.add_principal(ws, who, kind="human", actor="setup")
        identity.grant(ws, who, role=role, project=project, actor="setup")
        made[who] = keys.create_key(ws, project=project, role=role, actor="setup", principal=who)[1]
    try:
        with LiveServer(create_app(ws)) as live:
            yield live.url, made, tmp_path
    finally:
        ws.close()


def remote(url: str, key: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AIMS_URL": url,
        "AIMS_API_KEY": key,
        "XDG_CONFIG_HOME": str(cwd / "config"),
        "AIMS_USER": "someone-else",  # changes nothing: the key says who acts
    }
    env.pop("AIMS_WORKSPACE", None)
    return run_as_process(list(args), cwd, env)


def test_elevation_and_review_run_through_the_server(served) -> None:
    url, made, cwd = served
    asked = remote(
        url, made["ana"], cwd, "elevate", "--role", "operator", "--for", "30m", "--reason", "fix"
    )
    assert asked.returncode == 0, asked.stderr
    assert "requested elevation 1: ana as operator on default (pending)" in asked.stdout
    own = remote(url, made["ana"], cwd, "elevation", "approve", "1")
    # Her own token is below the role she asked for: refused as locally, with exit code 1.
    assert own.returncode == 1 and "needs the operator role or higher" in own.stderr
    ok = remote(url, made["root"], cwd, "elevation", "approve", "1", "--note", "go")
    assert ok.returncode == 0, ok.stderr
    assert "approved elevation 1: ana as operator on default (active until" in ok.stdout
    listed = json.loads(remote(url, made["root"], cwd, "elevation", "list", "-f", "json").stdout)
    assert [(e["principal"], e["status"], e["decided_by"]) for e in listed] == [
        ("ana", "active", "root")
    ]
    review = remote(url, made["root"], cwd, "access", "review")
    assert review.returncode == 0, review.stderr
    assert "grant.standing_admin: root holds admin on *" in review.stdout
    assert "operator@default" in review.stdout  # ana's elevation, shown beside her grant

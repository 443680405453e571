"""``aims elevate`` and ``aims elevation ...`` as a user runs them, in local and team mode."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.in_process import run


def test_elevate_approve_list_and_team_mode_refusal(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    for name, role in (("ana", "scientist"), ("bo", "operator")):
        assert run(["principals", "add", name, "--kind", "human"], root).returncode == 0
        assert run(["grant", name, "--role", role, "--project", "default"], root).returncode == 0
    asked = run(
        ["elevate", "--role", "operator", "--for", "30m", "--reason", "hotfix", "-f", "json"],
        root,
        {"AIMS_USER": "ana"},
    )
    assert asked.returncode == 0, asked.stderr
    eid = json.loads(asked.stdout)["id"]
    own = run(["elevation", "approve", str(eid)], root, {"AIMS_USER": "ana"})
    assert own.returncode != 0
    assert f"ana asked for elevation {eid} and may not approve it" in own.stderr
    ok = run(["elevation", "approve", str(eid), "--note", "go"], root, {"AIMS_USER": "bo"})
    assert ok.returncode == 0, ok.stderr
    assert f"approved elevation {eid}: ana as operator on default (active until" in ok.stdout
    listed = json.loads(run(["elevation", "list", "-f", "json"], root).stdout)
    assert [(e["id"], e["status"], e["decided_by"]) for e in listed] == [(eid, "active", "bo")]
    bad = run(["elevate", "--role", "operator", "--for", "soon", "--reason", "x"], root)
    assert bad.returncode != 0 and "--for 'soon' is not a duration" in bad.stderr
    # In team mode the request goes through the server; straight to the store it is refused.
    team = {"AIMS_USER": "ana", "AIMS_IDENTITY": "team"}
    refused = run(["elevate", "--role", "operator", "--for", "1h", "--reason", "x"], root, team)
    assert refused.returncode != 0 and "team mode" in refused.stderr
    assert len(json.loads(run(["elevation", "list", "-f", "json"], root).stdout)) == 1

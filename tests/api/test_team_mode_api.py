"""In team mode the Python API refuses governance writes as the CLI does, with its message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from sklearn.tree import DecisionTreeClassifier

import aims
from aims.errors import PermissionDenied
from aims.services.team_mode import store_write_refusal

OWNERS = {"deployment": "raj@x.org", "monitoring": "oncall@x.org"}


def test_every_write_is_refused_in_team_mode_and_reads_still_work(
    tmp_path: Path, cancer_frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = aims.Workspace.init(tmp_path / "ws", policy="minimal", actor="ana@x.org")
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(
        cancer_frame.drop("target").to_numpy(), cancer_frame["target"].to_numpy()
    )
    ws.register_dataset(cancer_frame, "cancer")
    ws.register_model(model, "c", dataset="cancer@1", owners=OWNERS)
    risk = tmp_path / "risk.yaml"
    risk.write_text("tier: minimal\nreviewer: bo@x.org\nnext_review: 2030-01-01\n")
    monkeypatch.setenv("AIMS_IDENTITY", "team")
    from aims.services.audit import query

    before = query(ws._ws.db)
    writes = {
        "dataset register": lambda: ws.register_dataset(cancer_frame.head(50), "cancer"),
        "model register": lambda: ws.register_model(model, "c", dataset="cancer@1"),
        "model owners": lambda: ws.set_owners("c", {"business": "bo@x.org"}),
        "evaluate": lambda: ws.evaluate("c@1", cancer_frame, label="target"),
        "risk assess": lambda: ws.assess_risk("c", risk),
        "approve": lambda: ws.act_as("bo@x.org").approve("c@1"),
        "promote": lambda: ws.promote("c@1", stage="staging"),
        "rollback": lambda: ws.rollback("c"),
    }
    for command, write in writes.items():
        with pytest.raises(PermissionDenied) as info:
            write()
        assert info.value.message == store_write_refusal(ws._ws, command), command
    assert query(ws._ws.db) == before
    assert [m["name"] for m in ws.models()] == ["c"]
    assert ws.gates("c@1", stage="staging")["stage"] == "staging"
    # The CLI says the same words for the same act.
    cli = subprocess.run(
        [sys.executable, "-m", "aims", "approve", "c@1"],
        cwd=ws.root,
        env={**os.environ, "AIMS_USER": "bo@x.org"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = " ".join(cli.stderr.split())
    assert cli.returncode != 0
    assert " ".join(store_write_refusal(ws._ws, "approve").split()) in said
    ws.close()

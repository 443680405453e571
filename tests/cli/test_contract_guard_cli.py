"""Production's door through the command line: a rollback that would refuse today's traffic.

Every call runs the CLI's entry point on a real workspace, in this process
(:mod:`tests.cli.in_process`): the same parsing, messages and exit codes as an
``aims`` process, without a new interpreter and its imports per call.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl

from aims.core.contract import infer_contract, write_contract
from tests.cli.in_process import run_in_process
from tests.conftest import use_open_policy


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_in_process(args, cwd, {"AIMS_USER": "ana@example.org", "COLUMNS": "200"})


def ok(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    out = run(args, cwd)
    assert out.returncode == 0, out.stderr
    return out


def test_rollback_refused_with_the_difference_then_forced_with_a_reason(
    tmp_path: Path, cancer_files, cancer_frame: pl.DataFrame
) -> None:
    ok(["init", "ws"], tmp_path)
    ws = tmp_path / "ws"
    use_open_policy(ws)
    owners = ["--owner", "deployment=raj@example.org", "--owner", "monitoring=kim@example.org"]
    ok(["dataset", "register", str(cancer_files["data"]), "--name", "cancer"], ws)
    # v1 was registered with a reviewed contract whose ranges refuse; v2 with the
    # inferred one, whose ranges only warn. Production traffic now holds values
    # v1 would refuse.
    strict = write_contract(
        infer_contract(cancer_frame.head(100), name="cancer", range_severity="error"),
        tmp_path / "strict.odcs.yaml",
    )
    ok(["model", "register", str(cancer_files["model"]), "-n", "m", "-d", "cancer@1",
        "--contract", str(strict), *owners], ws)  # fmt: skip
    ok(["model", "register", str(cancer_files["model2"]), "-n", "m", "-d", "cancer@1"], ws)
    ok(["promote", "m@1", "--stage", "production"], ws)
    ok(["promote", "m@2", "--stage", "production"], ws)

    refused = run(["rollback", "m"], ws)
    assert refused.returncode == 1
    assert "rollback of m to v1 refused, nothing changed" in refused.stderr
    assert "mean_radius: range any -> [" in refused.stderr
    assert "--force --reason" in refused.stderr
    shown = json.loads(ok(["model", "show", "m@2", "--format", "json"], ws).stdout)
    assert shown["stage"] == "production"
    assert "reason" in run(["rollback", "m", "--force"], ws).stderr

    ok(["rollback", "m", "--force", "--reason", "v2 mislabels the night shift"], ws)
    shown = json.loads(ok(["model", "show", "m@1", "--format", "json"], ws).stdout)
    assert shown["stage"] == "production"
    events = json.loads(ok(["audit", "log", "--format", "json"], ws).stdout)
    actions = [e["action"] for e in events]
    assert "model.rollback.refused" in actions
    (done,) = [e for e in events if e["action"] == "model.rollback"]
    forced = done["payload"]["forced"]
    assert forced["reason"] == "v2 mislabels the night shift"
    assert {"field": "mean_radius", "rule": "range"}.items() <= forced["narrowed"][0].items()

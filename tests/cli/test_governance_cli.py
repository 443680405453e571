"""Evaluation, risk, approvals, gates, promotion and the card, run as a user would.

The commands run in this process through the CLI's entry point
(:mod:`tests.cli.in_process`): the same parsing, output and exit codes, without
paying a new interpreter and its imports for each of them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import yaml

from tests.cli.in_process import run_in_process


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return run_in_process(args, cwd, {"AIMS_USER": "ana@x.org", **(env or {})})


def test_a_version_goes_through_the_policy_from_the_command_line(tmp_path: Path, cancer_files):
    root = tmp_path / "ws"
    assert run(["init", str(root)], tmp_path).returncode == 0
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["people"] = {"bo@x.org": ["approver"], "root@x.org": ["admin"]}
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    ana = {"AIMS_USER": "ana@x.org"}
    assert (
        run(["dataset", "register", str(cancer_files["data"]), "-n", "cancer"], root).returncode
        == 0
    )
    out = run(
        [
            "model",
            "register",
            str(cancer_files["model"]),
            "-n",
            "c",
            "-d",
            "cancer@1",
            "--owner",
            "development=ana@x.org",
            "--owner",
            "deployment=raj@x.org",
            "--owner",
            "monitoring=oncall@x.org",
        ],
        root,
        ana,
    )
    assert out.returncode == 0, out.stderr

    gates = run(["gates", "c@1", "--format", "json"], root)
    assert gates.returncode == 1
    unmet = {r["rule"] for r in json.loads(gates.stdout)["rules"] if not r["passed"]}
    assert "risk_assessment.required" in unmet
    # Not evaluated yet, but a classifier: no regression gate is listed.
    assert not any(rule.startswith("gate:r2") for rule in unmet)

    risk = tmp_path / "risk.yaml"
    today = dt.date.today()
    risk.write_text(
        yaml.safe_dump(
            {
                "intended_use": "Flag tumours for a second reading.",
                "risk_tier": "minimal",
                "failure_modes": [{"name": "missed", "likelihood": "rare", "impact": "minor"}],
                "data_dependencies": ["cancer@1"],
                "downstream_impact": "A later second reading.",
                "mitigations": ["every case is read by a person"],
                "residual_risk": "low",
                "reviewer": "risk@x.org",
                "assessed_on": today.isoformat(),
                "next_review": (today + dt.timedelta(days=90)).isoformat(),
            }
        )
    )
    assert run(["risk", "assess", "c", "--file", str(risk)], root).returncode == 0
    listed = json.loads(run(["risk", "list", "--format", "json"], root).stdout)
    assert [(r["model"], r["tier"], r["overdue"]) for r in listed] == [("c", "minimal", False)]

    evaluated = run(
        [
            "evaluate",
            "c@1",
            "--data",
            str(cancer_files["data"]),
            "--label",
            "target",
            "--sensitive",
            "mean_radius",
        ],
        root,
        ana,
    )
    assert evaluated.returncode == 0, evaluated.stderr
    for shown in (
        "accuracy",
        "fairness by mean_radius",
        "demographic_parity_difference",
        "robustness",
        "permutation importance",
    ):
        assert shown in evaluated.stdout, shown

    self_approval = run(["approve", "c@1"], root, ana)
    assert self_approval.returncode == 1 and "registered" in self_approval.stderr
    assert (
        run(
            ["approve", "c@1", "--note", "slices checked"], root, {"AIMS_USER": "bo@x.org"}
        ).returncode
        == 0
    )

    override = run(
        ["promote", "c@1", "--stage", "production", "--override", "--reason", "hurry"], root, ana
    )
    assert override.returncode == 1 and "people: ana@x.org: [admin]" in override.stderr
    promoted = run(["promote", "c@1", "--stage", "production"], root, {"AIMS_USER": "raj@x.org"})
    assert promoted.returncode == 0, promoted.stderr

    card = tmp_path / "card.md"
    assert run(["card", "c@1", "--out", str(card)], root).returncode == 0
    text = card.read_text()
    assert "## Approvals" in text and "bo@x.org" in text and "minimal" in text

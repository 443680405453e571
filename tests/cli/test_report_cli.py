"""``aims report compliance``: the three file formats, the terminal summary, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from aims.cli.report import report_app
from aims.errors import InvalidInput
from aims.services import governance, lifecycle, registry
from aims.workspace import Workspace, init_workspace
from tests.conftest import use_open_policy


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    return app


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Path:
    """One model in production with a risk assessment and an approval (no evaluation)."""
    root = init_workspace(tmp_path_factory.mktemp("report") / "ws")
    use_open_policy(root)
    ws = Workspace.open(root)
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws,
        cancer_files["model"],
        "cancer",
        actor="ana@x.org",
        datasets=["cancer@1"],
        owners={"deployment": "ops@x.org", "monitoring": "mon@x.org"},
    )
    today = dt.date.today()
    risk = root / "risk.yaml"
    risk.write_text(
        yaml.safe_dump(
            {
                "intended_use": "Flag scans for a second reading.",
                "risk_tier": "high",
                "failure_modes": [
                    {"name": "missed tumour", "likelihood": "rare", "impact": "severe"}
                ],
                "data_dependencies": ["cancer@1"],
                "downstream_impact": "A diagnosis comes later.",
                "residual_risk": "low",
                "reviewer": "risk@x.org",
                "assessed_on": today.isoformat(),
                "next_review": (today + dt.timedelta(days=30)).isoformat(),
            }
        )
    )
    governance.assess_risk(ws, "cancer", risk, actor="risk@x.org")
    governance.approve(ws, "cancer@1", actor="bo@x.org")
    lifecycle.promote(ws, "cancer@1", "production", actor="ops@x.org")
    ws.close()
    return root


@pytest.fixture
def root(built: Path, tmp_path: Path) -> Path:
    """A copy of the built workspace for one test: a report records its chain walk in the
    workspace, so no test sees what another test's reports left behind, in any order."""
    return Path(shutil.copytree(built, tmp_path / "ws"))


def invoke(app: typer.Typer, root: Path, *args: str):
    return CliRunner().invoke(
        app, ["report", "compliance", *args], env={"AIMS_WORKSPACE": str(root)}
    )


@pytest.mark.parametrize(
    ("standard", "ids"),
    [
        ("iso42001", ("A.2.2", "A.5.3", "A.6.2.4", "A.10.4")),
        ("nist-ai-rmf", ("GOVERN 1", "MAP 5", "MEASURE 2.11", "MANAGE 4")),
        ("eu-ai-act", ("Art. 9", "Art. 15", "Art. 72", "Art. 73")),
    ],
)
def test_writes_html_markdown_and_json(app, root, tmp_path, standard, ids) -> None:
    for suffix in ("html", "md", "json"):
        out = tmp_path / f"report.{suffix}"
        result = invoke(app, root, "--standard", standard, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "wrote" in result.stdout and out.exists()
    html = (tmp_path / "report.html").read_text()
    md = (tmp_path / "report.md").read_text()
    data = json.loads((tmp_path / "report.json").read_text())
    for control_id in ids:
        assert f">{control_id}<" in html and f"| {control_id} |" in md
    assert set(ids) <= {c["id"] for c in data["controls"]}
    assert data["standard"]["key"] == standard
    assert data["models_in_scope"][0]["name"] == "cancer"
    # The file is read without the server: links stay inside the page, none into /ui.
    assert '<a href="#model-cancer">' in html and '<section id="model-cancer">' in html
    assert 'href="/ui' not in html and "event #" in html


def test_json_to_stdout_and_risk_controls_met(app, root) -> None:
    result = invoke(app, root, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    status = {c["id"]: c["status"] for c in data["controls"]}
    assert status["A.5.3"] == "partial"  # recorded, but no mitigations listed
    assert status["A.9.4"] == "partial"  # intended use, but nothing out of scope
    assert status["A.5.5"] == "met"
    assert data["impacts"][0]["failure_modes"][0]["score"] == 5  # rare (1) x severe (5)


def test_table_summary_and_strict_exit(app, root) -> None:
    result = invoke(app, root)
    assert result.exit_code == 0 and "A.6.2.6" in result.stdout
    strict = invoke(app, root, "--strict")
    assert strict.exit_code == 1  # monitoring evidence is missing


def test_unknown_suffix_and_standard_are_refused(app, root, tmp_path) -> None:
    bad = invoke(app, root, "--out", str(tmp_path / "report.pdf"))
    assert isinstance(bad.exception, InvalidInput) and ".html, .md or .json" in str(bad.exception)
    unknown = invoke(app, root, "--standard", "soc2")
    assert isinstance(unknown.exception, InvalidInput)
    assert "iso42001, nist-ai-rmf, eu-ai-act" in str(unknown.exception)


def test_the_chain_walk_is_whole_unless_resumed_and_is_recorded(app, root) -> None:
    whole = json.loads(invoke(app, root, "--format", "json").stdout)
    assert whole["audit"]["ok"] and whole["audit"]["verified_from"] == 0
    head = whole["audit"]["head_seq"]
    # The walk is recorded: a resumed walk starts where it ended, and the report says so.
    resumed = json.loads(invoke(app, root, "--format", "json", "--resume-chain").stdout)
    assert resumed["audit"]["verified_from"] == head
    again = json.loads(invoke(app, root, "--format", "json").stdout)
    assert again["audit"]["verified_from"] == 0

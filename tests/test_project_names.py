"""Project names follow one documented pattern, checked wherever a project is set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aims.errors import ConfigError, InvalidInput
from aims.settings import PROJECT_PATTERN, load_settings, project_problem
from aims.workspace import Workspace, init_workspace

BAD = ["Fraud", "has space", "-dash-first", "dots.in.name", "a" * 64, "ünïcode", "x/../y", ""]
GOOD = ["default", "fraud-detection", "team_7", "0", "a" * 63]


@pytest.mark.parametrize("name", GOOD)
def test_good_project_names_pass(name: str) -> None:
    assert project_problem(name) is None


@pytest.mark.parametrize("name", BAD)
def test_bad_project_names_are_refused_at_init_and_nothing_is_created(
    tmp_path: Path, name: str
) -> None:
    assert PROJECT_PATTERN in (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    with pytest.raises(InvalidInput, match="is not valid: use lower-case letters"):
        init_workspace(tmp_path / "ws", project=name)
    assert not (tmp_path / "ws").exists()


def test_a_bad_project_in_aims_yaml_or_the_environment_is_a_config_error(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    with pytest.raises(ConfigError, match="AIMS_PROJECT: project 'Big Team' is not valid"):
        load_settings(root, {"AIMS_PROJECT": "Big Team"})
    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["project"] = "Big Team"
    (root / "aims.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"aims.yaml: 'project': .*e\.g\. 'big-team'"):
        Workspace.open(root)


def test_aims_init_refuses_a_bad_project_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aims", "init", str(tmp_path / "ws"), "--project", "Big Team"],
        capture_output=True,
        text=True,
        env={**os.environ, "AIMS_USER": "ops@x.org"},
        timeout=60,
    )
    assert done.returncode != 0
    assert "project 'Big Team' is not valid" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "ws" / "aims.yaml").exists()

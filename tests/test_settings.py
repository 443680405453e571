from __future__ import annotations

from pathlib import Path

import pytest

from aims.errors import ConfigError, Conflict, NotFound
from aims.settings import load_settings
from aims.workspace import find_root, init_workspace


def test_init_creates_config_and_state_dir(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "w")
    assert (root / "aims.yaml").is_file() and (root / ".aims").is_dir()
    s = load_settings(root, environ={})
    assert s.database_url == f"sqlite:///{root / '.aims' / 'aims.db'}"
    assert s.artifact_url == str(root / ".aims" / "artifacts")


def test_init_refuses_an_existing_workspace(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    before = (tmp_path / "aims.yaml").read_text()
    with pytest.raises(Conflict, match="already an aims workspace"):
        init_workspace(tmp_path)
    assert (tmp_path / "aims.yaml").read_text() == before


def test_environment_overrides_file(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    s = load_settings(
        root,
        environ={"AIMS_DATABASE_URL": "postgresql://u@h/db", "AIMS_ARTIFACT_URL": "memory://arts"},
    )
    assert s.database_url == "postgresql://u@h/db"
    assert s.artifact_url == "memory://arts"


def test_workspace_found_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = init_workspace(tmp_path)
    sub = root / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert find_root() == root


def test_workspace_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = init_workspace(tmp_path / "w")
    monkeypatch.setenv("AIMS_WORKSPACE", str(root))
    monkeypatch.chdir(tmp_path)
    assert find_root() == root


def test_missing_workspace_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match="aims init"):
        find_root()


def test_unknown_key_is_named(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    (root / "aims.yaml").write_text("version: 1\nstor: {}\n")
    with pytest.raises(ConfigError, match="stor"):
        load_settings(root, environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    root = init_workspace(tmp_path)
    (root / "aims.yaml").write_text("version: 1\nstore: [\n")
    with pytest.raises(ConfigError, match="line"):
        load_settings(root, environ={})

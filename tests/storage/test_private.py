"""The store is its owner's only: database 0600, folders 0700, objects 0400, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from aims.storage.artifacts import ArtifactStore
from aims.storage.private import private_dir, private_file, tighten
from aims.workspace import Workspace, init_workspace


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The most permissive umask: any mode left to it would be readable by all."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_workspace_keeps_its_state_to_its_owner(tmp_path: Path, loose_umask: None) -> None:
    root = init_workspace(tmp_path / "ws")
    state = root / ".aims"
    ws = Workspace.open(root)
    try:
        ref = ws.artifacts.put_bytes(b"weights")
        # While a connection is open SQLite keeps its -wal and -shm files.
        wal = [state / "aims.db-wal", state / "aims.db-shm"]
        assert all(p.exists() for p in wal)
        assert [mode(p) for p in wal] == [0o600, 0o600]
    finally:
        ws.close()
    assert mode(state) == 0o700
    assert mode(state / "aims.db") == 0o600
    artifacts = state / "artifacts"
    for folder in (artifacts / "sha256", artifacts / "tmp", artifacts / "sha256" / ref.sha256[:2]):
        assert mode(folder) == 0o700, folder
    assert mode(artifacts / "sha256" / ref.sha256[:2] / ref.sha256) == 0o400


def test_an_existing_loose_workspace_is_tightened_when_opened(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    Workspace.open(root).close()
    (root / ".aims").chmod(0o755)
    (root / ".aims" / "aims.db").chmod(0o644)
    Workspace.open(root).close()
    assert mode(root / ".aims") == 0o700
    assert mode(root / ".aims" / "aims.db") == 0o600


def test_an_artifact_store_in_a_new_folder_is_private(tmp_path: Path, loose_umask: None) -> None:
    store = ArtifactStore(str(tmp_path / "deep" / "store"))
    store.put_bytes(b"x")
    assert mode(tmp_path / "deep") == 0o700
    assert mode(tmp_path / "deep" / "store" / "sha256") == 0o700


def test_folders_that_already_exist_keep_their_mode(tmp_path: Path, loose_umask: None) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    private_dir(mine / "a" / "b")
    assert mode(mine) == 0o755
    assert mode(mine / "a") == mode(mine / "a" / "b") == 0o700


def test_private_file_creates_0600_and_tightens_an_existing_file(
    tmp_path: Path, loose_umask: None
) -> None:
    fresh = private_file(tmp_path / "new.db")
    assert mode(fresh) == 0o600 and fresh.read_bytes() == b""
    old = tmp_path / "old.db"
    old.write_bytes(b"data")
    old.chmod(0o664)
    private_file(old)
    assert mode(old) == 0o600 and old.read_bytes() == b"data"
    tighten(old, 0o700)  # never widens
    assert mode(old) == 0o600

from __future__ import annotations

from pathlib import Path

import pytest

from aims.errors import IntegrityError, NotFound
from aims.storage.artifacts import ArtifactStore


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    ra, rb = store.put_file(a), store.put_file(b)
    assert ra == rb and ra.size == 3_000_000
    assert len(list((tmp_path / "store").rglob(ra.sha256))) == 1
    assert store.get_bytes(ra.sha256) == a.read_bytes()


def test_tampered_object_is_refused_on_every_read(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    ref = store.put_bytes(b"model weights")
    stored = next((tmp_path / "store").rglob(ref.sha256))
    stored.chmod(0o644)
    stored.write_bytes(b"model weightz")
    with pytest.raises(IntegrityError, match=ref.sha256[:12]):
        store.get_bytes(ref.sha256)
    with pytest.raises(IntegrityError):
        store.local_path(ref.sha256)
    dest = tmp_path / "out.bin"
    with pytest.raises(IntegrityError):
        store.get_file(ref.sha256, dest)
    assert not dest.exists()


def test_missing_object_says_how_to_fix(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    with pytest.raises(NotFound, match="register the file again"):
        store.get_bytes("0" * 64)


def test_memory_filesystem_round_trips() -> None:
    store = ArtifactStore("memory://aims-test-artifacts")
    ref = store.put_bytes(b"hello")
    assert store.exists(ref.sha256) and store.get_bytes(ref.sha256) == b"hello"
    assert store.local_path(ref.sha256).read_bytes() == b"hello"

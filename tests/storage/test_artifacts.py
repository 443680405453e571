from __future__ import annotations

import doctest
import hashlib
import stat
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from aims.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable
from aims.storage import artifacts
from aims.storage.artifacts import CHUNK_SIZE, ArtifactRef, ArtifactStore, file_ref

# FIPS 180-2, appendix B.1: the sha256 of "abc".
ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "store"))


def _objects(root: Path) -> list[Path]:
    return [p for p in (root / "sha256").rglob("*") if p.is_file()]


def _flip_byte(path: Path, at: int = 0) -> None:
    path.chmod(0o644)  # objects are read-only on disk
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_examples_in_docstrings_run() -> None:
    assert doctest.testmod(artifacts).failed == 0


def test_address_is_the_sha256_under_its_two_digit_folder(store: ArtifactStore) -> None:
    ref = store.put_bytes(b"abc")
    assert ref == ArtifactRef(ABC_SHA256, 3)
    stored = Path(store.root) / "sha256" / "ba" / ABC_SHA256
    assert stored.read_bytes() == b"abc"
    assert store.key(ABC_SHA256.upper()) == str(stored)


def test_same_content_twice_is_one_object_and_leaves_no_temporary_file(
    tmp_path: Path, store: ArtifactStore
) -> None:
    content = bytes(range(256)) * (3 * CHUNK_SIZE // 256 + 7)  # several chunks, ragged end
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(content)
    b.write_bytes(content)
    ra, rb = store.put_file(a), store.put_file(b)
    assert ra == rb == ArtifactRef(hashlib.sha256(content).hexdigest(), len(content))
    assert store.put_bytes(content) == ra
    assert _objects(Path(store.root)) == [Path(store.key(ra.sha256))]
    assert list((Path(store.root) / "tmp").iterdir()) == []
    assert store.get_bytes(ra.sha256) == content


def test_objects_are_read_only_on_disk(store: ArtifactStore) -> None:
    ref = store.put_bytes(b"weights")
    mode = Path(store.key(ref.sha256)).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_a_flipped_byte_is_refused_by_every_read(tmp_path: Path, store: ArtifactStore) -> None:
    ref = store.put_bytes(b"model weights")
    _flip_byte(Path(store.key(ref.sha256)), at=5)
    actual = hashlib.sha256(Path(store.key(ref.sha256)).read_bytes()).hexdigest()
    with pytest.raises(IntegrityError) as caught:
        store.get_bytes(ref.sha256)
    assert ref.sha256 in str(caught.value) and actual in str(caught.value)
    with pytest.raises(IntegrityError):
        store.local_path(ref.sha256)
    with pytest.raises(IntegrityError):
        store.verify(ref.sha256)
    with pytest.raises(IntegrityError), store.open(ref.sha256) as reader:
        reader.read()
    dest = tmp_path / "out" / "model.bin"
    with pytest.raises(IntegrityError):
        store.get_file(ref.sha256, dest)
    assert list(dest.parent.iterdir()) == []  # neither the file nor its temporary copy


def test_a_truncated_object_is_refused(store: ArtifactStore) -> None:
    ref = store.put_bytes(b"x" * 5000)
    path = Path(store.key(ref.sha256))
    path.chmod(0o644)
    path.write_bytes(b"x" * 4999)
    with pytest.raises(IntegrityError):
        store.get_bytes(ref.sha256)


def test_storing_the_original_again_repairs_a_damaged_object(
    tmp_path: Path, store: ArtifactStore
) -> None:
    original = tmp_path / "model.bin"
    original.write_bytes(b"the original model")
    ref = store.put_file(original)
    _flip_byte(Path(store.key(ref.sha256)))
    assert store.put_file(original) == ref
    assert store.get_bytes(ref.sha256) == b"the original model"


def test_streamed_read_verifies_at_the_end(store: ArtifactStore) -> None:
    content = b"0123456789" * 300_000  # 3 MB: several chunks
    ref = store.put_bytes(content)
    with store.open(ref.sha256) as reader:
        first = reader.read(10)
        assert first == b"0123456789" and not reader.verified
        rest = b"".join(reader)
        assert reader.verified
    assert first + rest == content


def test_a_missing_object_says_how_to_fix(tmp_path: Path, store: ArtifactStore) -> None:
    missing = "0" * 64
    assert not store.exists(missing)
    for read in (store.get_bytes, store.open, store.local_path, store.verify):
        with pytest.raises(NotFound, match="restore the store from a backup"):
            read(missing)
    with pytest.raises(NotFound, match="register the original file again"):
        store.get_file(missing, tmp_path / "x")


def test_a_malformed_address_is_invalid_input(store: ArtifactStore) -> None:
    for bad in ("abc", "g" * 64, "../" + "0" * 61):
        with pytest.raises(InvalidInput, match="not a sha256 digest"):
            store.get_bytes(bad)


def test_putting_a_missing_file_or_a_folder_is_not_found(
    tmp_path: Path, store: ArtifactStore
) -> None:
    with pytest.raises(NotFound, match="no such file"):
        store.put_file(tmp_path / "nope.bin")
    with pytest.raises(NotFound, match="folder"):
        store.put_file(tmp_path)


def _failing_chunks() -> Iterator[bytes]:
    yield b"first half of the model"
    raise OSError("disk unplugged")


def test_a_write_that_fails_midway_leaves_nothing_at_the_address(store: ArtifactStore) -> None:
    ref = ArtifactRef(hashlib.sha256(b"never completed").hexdigest(), 15)
    with pytest.raises(StoreUnavailable, match="disk unplugged"):
        store._write(ref, _failing_chunks(), "test")
    assert not store.exists(ref.sha256)
    assert list((Path(store.root) / "tmp").iterdir()) == []


def test_content_that_changes_while_stored_is_refused(store: ArtifactStore) -> None:
    ref = ArtifactRef(hashlib.sha256(b"before").hexdigest(), 6)
    with pytest.raises(InvalidInput, match="changed while it was being stored"):
        store._write(ref, iter([b"after!"]), "model.bin")
    assert not store.exists(ref.sha256)


def test_memory_filesystem_round_trips_and_detects_tampering() -> None:
    url = f"memory://aims-test-{uuid.uuid4().hex}"
    store = ArtifactStore(url)
    assert not store.is_local
    ref = store.put_bytes(b"hello")
    assert store.put_bytes(b"hello") == ref
    assert store.exists(ref.sha256) and store.get_bytes(ref.sha256) == b"hello"
    local = store.local_path(ref.sha256)
    assert local.read_bytes() == b"hello" and local.name == ref.sha256
    fs = fsspec.filesystem("memory")
    assert len(fs.find(f"{store.root}/sha256")) == 1
    fs.pipe(store.key(ref.sha256), b"hellO")
    with pytest.raises(IntegrityError):
        store.get_bytes(ref.sha256)
    local.unlink()  # the cached copy is gone: the next copy is verified again
    with pytest.raises(IntegrityError):
        store.local_path(ref.sha256)


def test_file_url_is_the_same_store(tmp_path: Path) -> None:
    ref = ArtifactStore(f"file://{tmp_path / 'store'}").put_bytes(b"abc")
    assert ArtifactStore(str(tmp_path / "store")).get_bytes(ref.sha256) == b"abc"


def test_an_unreachable_store_is_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match=r"store\.artifact_url"):
        ArtifactStore("nosuchprotocol://bucket/aims")
    with pytest.raises(StoreUnavailable, match="empty"):
        ArtifactStore("")
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(StoreUnavailable, match="cannot be reached or written"):
        ArtifactStore(str(blocker / "store"))


def test_put_and_get_file_use_bounded_memory(tmp_path: Path, store: ArtifactStore) -> None:
    big = tmp_path / "big.bin"
    size = 48 * CHUNK_SIZE
    with big.open("wb") as f:
        for i in range(48):
            f.write(bytes([i]) * CHUNK_SIZE)
    tracemalloc.start()
    try:
        ref = store.put_file(big)
        store.get_file(ref.sha256, tmp_path / "copy.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref == file_ref(big) and ref.size == size
    assert (tmp_path / "copy.bin").stat().st_size == size
    assert peak < 4 * CHUNK_SIZE  # a few chunks in flight, never the 48 MiB file

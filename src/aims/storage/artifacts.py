"""The content-addressed artifact store on fsspec.

Objects live at ``<root>/sha256/<first two hex digits>/<hash>``. Writing the
same content twice stores one object; every read re-hashes what it read and
refuses content that does not match its address.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from aims.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArtifactRef:
    """The address of a stored object."""

    sha256: str
    size: int


def _check_hash(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput(f"{sha256!r} is not a sha256 hex digest")
    return sha256


class ArtifactStore:
    """A content-addressed store under ``url`` (a folder or any fsspec URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.fs, root = fsspec.core.url_to_fs(url)
        except (ValueError, ImportError) as exc:
            raise StoreUnavailable(
                f"artifact store {url!r} cannot be used: {exc}; check AIMS_ARTIFACT_URL / "
                "store.artifact_url (for s3:// install 'aims[s3]')"
            ) from None
        self.root = root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)
        try:
            self.fs.makedirs(f"{self.root}/sha256", exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"artifact store {url!r} is not reachable: {exc}") from None

    def _path(self, sha256: str) -> str:
        return f"{self.root}/sha256/{sha256[:2]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self._path(_check_hash(sha256))))

    def put_file(self, path: str | Path) -> ArtifactRef:
        """Store a file (streamed, bounded memory); idempotent by content."""
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            while block := f.read(CHUNK):
                h.update(block)
                size += len(block)
        digest = h.hexdigest()
        final = self._path(digest)
        if self.fs.exists(final):
            return ArtifactRef(digest, size)
        self.fs.makedirs(f"{self.root}/sha256/{digest[:2]}", exist_ok=True)
        tmp = f"{final}.tmp-{uuid.uuid4().hex}"
        # Write under a temporary name, then move: a crash never leaves a
        # half-written object at its final address.
        with path.open("rb") as src, self.fs.open(tmp, "wb") as dst:
            while block := src.read(CHUNK):
                dst.write(block)
        self.fs.mv(tmp, final)
        if self.local:
            os.chmod(final, 0o444)
        return ArtifactRef(digest, size)

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store ``data``; idempotent by content."""
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            return self.put_file(tmp.name)
        finally:
            os.unlink(tmp.name)

    def _open_checked(self, sha256: str) -> IO[bytes]:
        path = self._path(_check_hash(sha256))
        if not self.fs.exists(path):
            raise NotFound(
                f"artifact {sha256[:12]}… is missing from the artifact store {self.url}; "
                "restore the store from a backup or register the file again"
            )
        return self.fs.open(path, "rb")

    def _verify(self, sha256: str, actual: str) -> None:
        if actual != sha256:
            raise IntegrityError(
                f"artifact {sha256[:12]}… was modified in the store (its content now hashes to "
                f"{actual[:12]}…); refusing to load it — restore it from a backup or register "
                "the original file again"
            )

    def get_bytes(self, sha256: str) -> bytes:
        """The object's bytes, verified against its address."""
        with self._open_checked(sha256) as f:
            data = f.read()
        self._verify(sha256, hashlib.sha256(data).hexdigest())
        return data

    def get_file(self, sha256: str, dest: str | Path) -> Path:
        """Copy the object to ``dest`` (streamed), verified; a mismatch leaves no file."""
        dest = Path(dest)
        h = hashlib.sha256()
        tmp = dest.with_name(dest.name + f".tmp-{uuid.uuid4().hex}")
        try:
            with self._open_checked(sha256) as src, tmp.open("wb") as out:
                while block := src.read(CHUNK):
                    h.update(block)
                    out.write(block)
            self._verify(sha256, h.hexdigest())
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def local_path(self, sha256: str) -> Path:
        """A verified local path to the object (a verified copy for remote stores).

        The check and the later load are two reads of a file only aims writes
        (read-only on disk); remote objects are copied once to a private temp file.
        """
        if self.local:
            with self._open_checked(sha256) as f:
                h = hashlib.sha256()
                while block := f.read(CHUNK):
                    h.update(block)
            self._verify(sha256, h.hexdigest())
            return Path(self._path(sha256))
        folder = Path(tempfile.mkdtemp(prefix="aims-artifact-"))
        return self.get_file(sha256, folder / sha256)

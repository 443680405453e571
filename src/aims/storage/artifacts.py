"""The content-addressed artifact store on fsspec.

An object's address is the sha256 of its bytes; it is stored once at
``<root>/sha256/<first two hex digits>/<hash>``, whatever name it was registered
under. The root is a local folder by default or any fsspec URL (``file://``,
``memory://``, ``s3://`` ...).

Three promises:

* **Bounded memory.** Files are hashed and copied in chunks of
  :data:`CHUNK_SIZE` bytes, never read whole (except by :meth:`get_bytes`,
  which returns the whole object by definition).
* **No half objects.** Content is written under a temporary name in
  ``<root>/tmp/`` and moved to its address only when complete, so a crash
  leaves at most an orphan temporary file, never a truncated object.
* **Verified reads.** Every read re-hashes what it read and raises
  :class:`~aims.errors.IntegrityError` when the bytes no longer match their
  address; a missing object is :class:`~aims.errors.NotFound`. Nothing is
  ever loaded silently from a damaged store.

Examples
--------
>>> store = ArtifactStore("memory://aims-doctest-artifacts")
>>> ref = store.put_bytes(b"abc")
>>> ref.sha256[:16], ref.size
('ba7816bf8f01cfea', 3)
>>> store.get_bytes(ref.sha256)
b'abc'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from aims.errors import IntegrityError, InvalidInput, NotFound, StoreUnavailable
from aims.storage.private import private_dir

#: Bytes read or written at a time: large enough to amortise the per-call
#: overhead of remote filesystems, small enough to keep memory flat.
CHUNK_SIZE = 1 << 20

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ArtifactRef:
    """The address of a stored object: its sha256 (lower-case hex) and size in bytes."""

    sha256: str
    size: int


def check_sha256(sha256: str) -> str:
    """``sha256`` normalised to lower case, or :class:`InvalidInput` if it is not a digest.

    Examples
    --------
    >>> check_sha256("AB" * 32) == "ab" * 32
    True
    """
    digest = str(sha256).strip().lower()
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise InvalidInput(
            f"{sha256!r} is not a sha256 digest; give the 64 hex digits shown by "
            "'aims model show' or 'aims dataset show'"
        )
    return digest


def _integrity_error(sha256: str, actual: str, url: str) -> IntegrityError:
    return IntegrityError(
        f"artifact {sha256} in the store {url} is damaged: its content hashes to {actual}; "
        "refusing to use it — restore the object from a backup of the store or register "
        "the original file again"
    )


class VerifiedReader:
    """A read-only stream over one stored object that checks its hash at the end.

    Bytes are hashed as they are read; reaching the end of the object (a read
    that returns ``b""`` or ``read()`` with no size) raises
    :class:`~aims.errors.IntegrityError` if the content does not match its
    address. Treat what was read as trusted only after the end was reached
    without an error: a partial read cannot be verified.
    """

    def __init__(self, raw: IO[bytes], sha256: str, url: str) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self.sha256 = sha256
        self._url = url
        self.verified = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining bytes when ``size < 0``)."""
        block = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._hash.update(block)
        if not block or size is None or size < 0:
            self._finish()
        return block

    def __iter__(self) -> Iterator[bytes]:
        """The remaining bytes in chunks of :data:`CHUNK_SIZE`, verified at the end."""
        while block := self.read(CHUNK_SIZE):
            yield block

    def _finish(self) -> None:
        if self.verified:
            return
        actual = self._hash.hexdigest()
        if actual != self.sha256:
            raise _integrity_error(self.sha256, actual, self._url)
        self.verified = True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> VerifiedReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ArtifactStore:
    """A content-addressed object store rooted at ``url``.

    Parameters
    ----------
    url
        A local folder (created if missing) or any fsspec URL: ``file:///srv/aims``,
        ``memory://name``, ``s3://bucket/prefix`` (needs ``s3fs``). Options for the
        filesystem come from fsspec's own configuration (environment variables,
        ``~/.config/fsspec``), so no secret is ever written into ``aims.yaml``.

    Raises
    ------
    StoreUnavailable
        The URL's protocol is unknown, its filesystem package is not installed,
        or a local root cannot be created.

    Examples
    --------
    >>> store = ArtifactStore("memory://aims-doctest-store")
    >>> a = store.put_bytes(b"weights")
    >>> store.put_bytes(b"weights") == a  # same content, same address, one copy
    True
    >>> store.exists(a.sha256)
    True
    """

    def __init__(self, url: str | os.PathLike[str]) -> None:
        self.url = os.fspath(url)
        if not self.url.strip():
            raise StoreUnavailable(
                "the artifact store URL is empty; set store.artifact_url in aims.yaml "
                "or AIMS_ARTIFACT_URL"
            )
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:
            raise StoreUnavailable(
                f"artifact store {self.url!r} needs a filesystem package that is not "
                f"installed ({exc}); for s3:// install 'aims[s3]'"
            ) from None
        except (ValueError, TypeError) as exc:
            raise StoreUnavailable(
                f"artifact store {self.url!r} cannot be used ({exc}); give a folder or an "
                "fsspec URL such as s3://bucket/prefix in store.artifact_url / AIMS_ARTIFACT_URL"
            ) from None
        self.root = root.rstrip("/") or "/"
        self.is_local = isinstance(self.fs, LocalFileSystem)
        self._cache: Path | None = None
        if self.is_local:
            with self._reaching():
                # Folders aims creates are its owner's only (0700); see storage.private.
                private_dir(Path(self.root, "sha256"))
                private_dir(Path(self.root, "tmp"))

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    # -- addresses -----------------------------------------------------------------

    def key(self, sha256: str) -> str:
        """The object's path on the store's filesystem (it need not exist)."""
        digest = check_sha256(sha256)
        return f"{self.root}/sha256/{digest[:2]}/{digest}"

    def exists(self, sha256: str) -> bool:
        """Whether an object with this address is stored (its content is not checked)."""
        key = self.key(sha256)
        with self._reaching():
            return bool(self.fs.exists(key))

    # -- writing -------------------------------------------------------------------

    def put_file(self, path: str | os.PathLike[str]) -> ArtifactRef:
        """Store the local file ``path``; idempotent by content.

        The file is read in chunks, once to find its address and once to copy
        it, hashing again so that a file changed in between is refused rather
        than stored under the wrong address. Nothing is written when an intact
        object with that address is already stored; a damaged one is replaced,
        so storing the original file again repairs the store.

        Raises
        ------
        NotFound
            ``path`` does not exist or is not a file.
        InvalidInput
            The file changed while it was being stored.
        """
        source = Path(path)
        if not source.is_file():
            what = "is a folder, not a file" if source.is_dir() else "no such file"
            raise NotFound(f"{source}: {what}")
        ref = file_ref(source)
        if self._intact(ref.sha256):
            return ref
        with source.open("rb") as f:
            self._write(ref, iter(lambda: f.read(CHUNK_SIZE), b""), str(source))
        return ref

    def put_bytes(self, data: bytes) -> ArtifactRef:
        """Store ``data``; idempotent by content."""
        ref = ArtifactRef(hashlib.sha256(data).hexdigest(), len(data))
        if not self._intact(ref.sha256):
            view = memoryview(data)
            chunks = (bytes(view[i : i + CHUNK_SIZE]) for i in range(0, len(data), CHUNK_SIZE))
            self._write(ref, chunks, "the given bytes")
        return ref

    def _intact(self, sha256: str) -> bool:
        """Whether the object is stored and undamaged (a damaged one is rewritten)."""
        if not self.exists(sha256):
            return False
        try:
            self.verify(sha256)
        except IntegrityError:
            return False
        return True

    def _write(self, ref: ArtifactRef, chunks: Iterator[bytes], what: str) -> None:
        """Copy ``chunks`` to a temporary name, check the hash, then move into place."""
        final = self.key(ref.sha256)
        tmp = f"{self.root}/tmp/{ref.sha256[:16]}-{uuid.uuid4().hex}"
        h = hashlib.sha256()
        with self._reaching():
            try:
                if self.is_local:
                    private_dir(Path(tmp).parent)
                    with open(tmp, "wb") as out:
                        for block in chunks:
                            h.update(block)
                            out.write(block)
                        out.flush()
                        # The rename must not reach the disk before the data does.
                        os.fsync(out.fileno())
                else:
                    with self.fs.open(tmp, "wb") as out:
                        for block in chunks:
                            h.update(block)
                            out.write(block)
                if h.hexdigest() != ref.sha256:
                    raise InvalidInput(
                        f"{what} changed while it was being stored; store it again once it "
                        "is no longer being written"
                    )
                self._move_into_place(tmp, final)
            finally:
                with contextlib.suppress(OSError):
                    if self.fs.exists(tmp):
                        self.fs.rm(tmp)

    def _move_into_place(self, tmp: str, final: str) -> None:
        if not self.is_local:
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(tmp, final)
            return
        private_dir(Path(final).parent)
        # Atomic on POSIX, and allowed over a read-only damaged object because
        # renaming depends on the folder's permissions, not the file's.
        os.replace(tmp, final)
        # Objects never change once written; read-only guards against accidents,
        # and only the owner may read them.
        os.chmod(final, 0o400)

    # -- reading -------------------------------------------------------------------

    def open(self, sha256: str) -> VerifiedReader:
        """A stream over the object, verified when its end is reached.

        Raises
        ------
        NotFound
            No object has this address.
        IntegrityError
            (on reaching the end) the content does not match the address.
        """
        key = self.key(sha256)
        with self._reaching():
            try:
                raw = self.fs.open(key, "rb")
            except FileNotFoundError:
                raise self._missing(sha256) from None
        return VerifiedReader(raw, check_sha256(sha256), self.url)

    def get_bytes(self, sha256: str) -> bytes:
        """The object's bytes, verified against its address."""
        with self.open(sha256) as reader:
            return reader.read()

    def get_file(self, sha256: str, dest: str | os.PathLike[str]) -> Path:
        """Copy the object to the local file ``dest``, streamed and verified.

        The copy is written under a temporary name next to ``dest`` and renamed
        only once verified, so a damaged object never leaves a file at ``dest``.
        """
        target = Path(dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
        try:
            with self.open(sha256) as reader, tmp.open("wb") as out:
                for block in reader:
                    out.write(block)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def verify(self, sha256: str) -> ArtifactRef:
        """Re-hash the stored object; its :class:`ArtifactRef` if intact, else raise."""
        size = 0
        with self.open(sha256) as reader:
            for block in reader:
                size += len(block)
        return ArtifactRef(check_sha256(sha256), size)

    def local_path(self, sha256: str) -> Path:
        """A local path holding the verified object, for loaders that need a file.

        For a local store this is the object itself, re-hashed before it is
        returned (objects are read-only on disk and written only by aims). For
        any other filesystem the object is copied once, verified, to a private
        temporary folder removed when the store object is garbage-collected.
        """
        if self.is_local:
            self.verify(sha256)
            return Path(self.key(sha256))
        digest = check_sha256(sha256)
        cached = self._cache_dir() / digest
        if cached.exists() and file_ref(cached).sha256 == digest:
            return cached
        return self.get_file(digest, cached)

    def _cache_dir(self) -> Path:
        if self._cache is None:
            self._cache = Path(tempfile.mkdtemp(prefix="aims-artifacts-"))
            weakref.finalize(self, shutil.rmtree, self._cache, ignore_errors=True)
        return self._cache

    # -- errors ----------------------------------------------------------------------

    def _missing(self, sha256: str) -> NotFound:
        return NotFound(
            f"artifact {check_sha256(sha256)} is missing from the store {self.url}; restore the "
            "store from a backup, or register the original file again"
        )

    @contextlib.contextmanager
    def _reaching(self) -> Iterator[None]:
        """Turn the filesystem's connection and permission failures into StoreUnavailable."""
        try:
            yield
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise StoreUnavailable(
                f"artifact store {self.url} cannot be reached or written: "
                f"{type(exc).__name__}: {exc}; check the URL, credentials and permissions"
            ) from None


def file_ref(path: str | os.PathLike[str]) -> ArtifactRef:
    """The :class:`ArtifactRef` a file would get, computed in bounded memory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"
    >>> _ = p.write_bytes(b"abc")
    >>> file_ref(p).sha256[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as f:
        while block := f.read(CHUNK_SIZE):
            h.update(block)
            size += len(block)
    return ArtifactRef(h.hexdigest(), size)


__all__ = [
    "CHUNK_SIZE",
    "ArtifactRef",
    "ArtifactStore",
    "VerifiedReader",
    "check_sha256",
    "file_ref",
]

"""Uploaded files, streamed to a temporary file while the request is received.

A route that takes a file (a dataset, a model artifact, data to evaluate on,
a file of labels) reads its ``multipart/form-data`` body with
:func:`streamed_form`::

    async with streamed_form(request, files=("file", "contract"), checked="file") as form:
        data = form.file("file")              # UploadedFile: .path, .filename, .size, .sha256
        contract = form.optional_file("contract")
        name = form.value("name", required=True)
        owners = form.values("owner")         # a repeated field, in the order sent
        out = await in_thread(service, ws, data.path, ..., actor=principal.actor)

What it guarantees:

- **Never whole in memory.** Each file part is written, chunk by chunk as it
  arrives, to its own temporary file under ``.aims/uploads/`` (off the event
  loop), named as the client named it (base name only, unsafe characters
  replaced), so that formats detected from a suffix (``.parquet``, ``.skops``)
  are detected as they are locally.
- **A size limit.** The bytes of all files together may not pass
  ``server.max_upload_bytes`` (default 2 GiB): past it the answer is 413 at
  once, without receiving the rest. Plain form fields are small (at most
  :data:`MAX_FIELD_BYTES` together, :data:`MAX_PARTS` parts).
- **A checksum.** The SHA-256 of each file is computed while it streams. With
  ``checked="file"`` a ``sha256`` form field, when sent, must equal the digest
  of file ``file``, else 422 (the file was damaged or is not the one meant).
- **Errors name the file as sent.** An ``AimsError`` raised inside the block
  has the temporary paths in its message replaced by the files' names.
- **A few at a time, with room on disk.** Before anything is received, the
  upload is admitted (:mod:`aims.server.upload_admission`): a 429 when its
  principal already has ``server.max_concurrent_uploads`` uploads in flight,
  a 507 when the disk has no room for it.
- **Nothing left behind.** The temporary files are removed when the ``async
  with`` block ends, however it ends (an answer, an error, a refusal, the
  client going away).

Errors: a body that is not multipart, does not parse, repeats or lacks a file,
or sends an unexpected file is a 400/422 with a message that says what to send.

The admission middleware (:mod:`aims.server.admission`) lets a multipart body
to a path of :data:`UPLOAD_PATHS` through up to :func:`body_limit` bytes (the
upload limit plus room for the form fields), so the limit a client meets is
this module's; every other body keeps its small limit. A new upload route adds
its path pattern to :data:`UPLOAD_PATHS`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from aims.errors import AimsError, InvalidInput, MalformedBody, PayloadTooLarge
from aims.server.upload_admission import admitted

if TYPE_CHECKING:  # the callbacks' type is declared for type checkers only
    from python_multipart.multipart import MultipartCallbacks

__all__ = [
    "MAX_FIELD_BYTES",
    "MAX_PARTS",
    "UPLOAD_PATHS",
    "UploadForm",
    "UploadedFile",
    "body_limit",
    "is_upload",
    "safe_filename",
    "streamed_form",
]

UPLOAD_PATHS: tuple[re.Pattern[str], ...] = (
    re.compile(r"/v1/datasets"),
    re.compile(r"/v1/models/[^/]+/versions"),
    re.compile(r"/v1/models/[^/]+/versions/[^/]+/evaluations"),
    re.compile(r"/v1/labels/files"),
    re.compile(r"/v1/evidence/files"),
)
"""Paths (full matches) whose ``multipart/form-data`` bodies may carry files."""

MAX_FIELD_BYTES = 1 << 20
"""Bytes of all plain (non-file) form fields of one request together."""

MAX_PARTS = 1000
"""Parts (fields and files) of one request."""

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK_SLACK = 64 * 1024  # multipart boundaries and part headers around the files


def is_upload(path: str, content_type: str | None) -> bool:
    """Whether a request to ``path`` with ``content_type`` is a file upload."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        return False
    return any(p.fullmatch(path) for p in UPLOAD_PATHS)


def body_limit(max_upload_bytes: int) -> int:
    """The largest multipart body admitted for files of ``max_upload_bytes`` in all."""
    return max_upload_bytes + MAX_FIELD_BYTES + _CHUNK_SLACK


@dataclass(frozen=True)
class UploadedFile:
    """One file of the form, already on disk (removed when the form is closed)."""

    field: str
    """The form field it came in."""
    filename: str
    """The base name the client gave, made safe (what ``path`` is named)."""
    path: Path
    """The temporary file holding the bytes received."""
    size: int
    """Bytes received."""
    sha256: str
    """Hex SHA-256 of the bytes received."""


@dataclass
class UploadForm:
    """The plain fields and the files of one multipart body."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def values(self, name: str) -> list[str]:
        """Every value of field ``name`` (a repeated field), in the order sent."""
        return list(self.fields.get(name, []))

    def value(self, name: str, *, required: bool = False) -> str | None:
        """The value of field ``name`` (None when absent); sent twice is a 422."""
        values = self.fields.get(name, [])
        if len(values) > 1:
            raise InvalidInput(f"form field {name!r} was sent {len(values)} times; send it once")
        if not values:
            if required:
                raise InvalidInput(f"the form field {name!r} is required")
            return None
        return values[0]

    def file(self, name: str) -> UploadedFile:
        """The file of field ``name``; a 422 that says so when it was not sent."""
        got = self.files.get(name)
        if got is None:
            raise InvalidInput(
                f"the file {name!r} is required: send it as a multipart/form-data file part "
                f"named {name!r} (with a filename)"
            )
        return got

    def optional_file(self, name: str) -> UploadedFile | None:
        """The file of field ``name``, or None when it was not sent."""
        return self.files.get(name)


@asynccontextmanager
async def streamed_form(
    request: Request,
    *,
    files: Collection[str],
    checked: str | None = None,
    limit: int | None = None,
) -> AsyncIterator[UploadForm]:
    """Receive the multipart body of ``request``, its files streamed to disk.

    ``files`` names the fields that may carry a file (each at most once; any
    other file part is refused). ``checked`` names the file whose SHA-256 a
    ``sha256`` form field, when sent, must match. ``limit`` (bytes of all files
    together) defaults to the server's ``server.max_upload_bytes``. The
    temporary files are removed when the block ends (see the module doc).
    """
    state = request.app.state.aims
    limit = state.config.max_upload_bytes if limit is None else limit
    boundary = _boundary(request.headers.get("content-type"))
    root = state.ws.settings.state_dir / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    async with (
        admitted(request, root, body_limit(limit)),
        _received(request, root, files, checked, limit, boundary) as form,
    ):
        yield form


@asynccontextmanager
async def _received(
    request: Request,
    root: Path,
    files: Collection[str],
    checked: str | None,
    limit: int,
    boundary: bytes,
) -> AsyncIterator[UploadForm]:
    """The body received into a fresh folder under ``root``, removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    reader = _Reader(folder, frozenset(files), limit)
    try:
        parser = MultipartParser(boundary, reader.callbacks())
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                # Disk writes and hashing of large chunks run in a thread, so
                # a large upload never stalls the event loop (and predictions).
                if reader.pending:
                    await run_in_threadpool(reader.flush)
            parser.finalize()
        except MultipartParseError as exc:
            raise MalformedBody(
                f"the multipart/form-data body does not parse ({exc}); send it as a form "
                "with the files as file parts, e.g. curl -F file=@data.parquet"
            ) from None
        await run_in_threadpool(reader.close)
        form = reader.form()
        if checked is not None:
            _check_sha256(form, checked)
        try:
            yield form
        except AimsError as exc:
            # A service names the file it read: the client knows it by its own
            # name, and the server's folders are none of its business.
            _name_files_as_sent(exc, form)
            raise
    finally:
        reader.close_quietly()
        await run_in_threadpool(shutil.rmtree, folder, True)


def _name_files_as_sent(exc: AimsError, form: UploadForm) -> None:
    for upload in form.files.values():
        for where in (str(upload.path.resolve()), str(upload.path)):
            exc.message = exc.message.replace(where, upload.filename)
    exc.args = (exc.message,)


def _boundary(content_type: str | None) -> bytes:
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise InvalidInput(
            f"this route takes a multipart/form-data body (got {content_type or 'none'}); "
            "send the file as a form part, e.g. curl -F file=@data.parquet"
        )
    return params[b"boundary"]


def _check_sha256(form: UploadForm, name: str) -> None:
    claimed = form.value("sha256")
    if claimed is None:
        return
    if not _SHA256.fullmatch(claimed.strip()):
        raise InvalidInput(
            f"sha256 {claimed[:80]!r} is not a SHA-256 digest; send 64 hex characters "
            "(e.g. the output of sha256sum)"
        )
    got = form.file(name)
    if claimed.strip().lower() != got.sha256:
        raise InvalidInput(
            f"the file {got.filename!r} received has sha256 {got.sha256}, not {claimed.strip()} "
            "as sent; it was damaged or is not the file meant: send it again"
        )


def safe_filename(name: str) -> str:
    """The base name of a client's file name, with only safe characters.

    Examples
    --------
    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("C:\\\\data\\\\cells 2024.parquet")
    'cells_2024.parquet'
    >>> safe_filename(".hidden")
    'upload.hidden'
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip("_")[-120:]
    if not base or base.startswith("."):
        base = "upload" + base
    return base


class _Sink:
    """One file part on its way to disk: the open file, its digest and size."""

    def __init__(self, field_name: str, filename: str, path: Path) -> None:
        self.field = field_name
        self.filename = filename
        self.path = path
        self.handle: BinaryIO = path.open("xb")
        self.hasher = hashlib.sha256()
        self.size = 0

    def done(self) -> UploadedFile:
        return UploadedFile(
            self.field, self.filename, self.path, self.size, self.hasher.hexdigest()
        )


class _Reader:
    """The parser's callbacks: headers, plain fields in memory, file data to its sink."""

    def __init__(self, folder: Path, files: frozenset[str], limit: int) -> None:
        self.folder = folder
        self.files = files
        self.limit = limit
        self.fields: dict[str, list[str]] = {}
        self.sinks: dict[str, _Sink] = {}
        self.pending: list[tuple[_Sink, bytes]] = []
        self.file_bytes = 0
        self.field_bytes = 0
        self.parts = 0
        self._header = b""
        self._value = b""
        self._disposition = b""
        self._name = ""
        self._sink: _Sink | None = None
        self._data = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidInput(f"the form has more than {MAX_PARTS} parts")
        self._disposition = b""
        self._sink = None
        self._data = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._header = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise MalformedBody(
                "a form part has no name (Content-Disposition: form-data; name=...)"
            )
        name = options[b"name"].decode("utf-8", "replace")
        self._name = name
        if b"filename" not in options:
            if name in self.files:
                raise InvalidInput(
                    f"{name!r} must be sent as a file part (with a filename), e.g. "
                    f"curl -F {name}=@PATH"
                )
            return
        if name not in self.files:
            expected = ", ".join(sorted(self.files)) or "none"
            raise InvalidInput(f"unexpected file {name!r} in the form; files taken: {expected}")
        if name in self.sinks:
            raise InvalidInput(f"the file {name!r} was sent twice; send it once")
        filename = safe_filename(options[b"filename"].decode("utf-8", "replace"))
        part_folder = self.folder / str(len(self.sinks))
        part_folder.mkdir()
        self._sink = self.sinks[name] = _Sink(name, filename, part_folder / filename)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._sink is None:
            self.field_bytes += size
            if self.field_bytes > MAX_FIELD_BYTES:
                raise PayloadTooLarge(
                    f"the form's plain fields pass {MAX_FIELD_BYTES} bytes; send large "
                    "content as a file part",
                    headers={"Connection": "close"},
                )
            self._data += data[start:end]
            return
        self.file_bytes += size
        if self.file_bytes > self.limit:
            raise PayloadTooLarge(
                f"the upload is larger than the limit of {self.limit} bytes "
                "(server.max_upload_bytes)",
                details=[
                    {
                        "row": None,
                        "field": self._sink.field,
                        "rule": "max_upload_bytes",
                        "message": f"more than {self.limit} bytes",
                    }
                ],
                headers={"Connection": "close"},
            )
        self.pending.append((self._sink, data[start:end]))

    def _part_end(self) -> None:
        if self._sink is None:
            try:
                text = self._data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"form field {self._name!r} is not UTF-8 text") from None
            self.fields.setdefault(self._name, []).append(text)

    def flush(self) -> None:
        """Write and hash the file data received so far (called in a thread)."""
        pending, self.pending = self.pending, []
        for sink, chunk in pending:
            sink.handle.write(chunk)
            sink.hasher.update(chunk)
            sink.size += len(chunk)

    def close(self) -> None:
        self.flush()
        for sink in self.sinks.values():
            sink.handle.close()

    def close_quietly(self) -> None:
        for sink in self.sinks.values():
            if not sink.handle.closed:
                sink.handle.close()

    def form(self) -> UploadForm:
        return UploadForm(fields=self.fields, files={k: s.done() for k, s in self.sinks.items()})

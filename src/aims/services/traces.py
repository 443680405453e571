"""Taking in LLM traces: OTLP bodies decoded, normalised per project and queued for the span store.

:class:`TraceIngest` lives as long as the server. :meth:`TraceIngest.export`
does the CPU work of one OTLP export (decompress, decode, normalise every
span) and is meant to run off the event loop; it queues the accepted rows on
the :class:`~aims.storage.traces.SpanWriter` and answers how many spans were
refused and why. Spans link to registered LLM application versions through
the registry's version index when it is available, refreshed every few
seconds. A span whose (trace id, span id) was taken in for the same project
among the last :data:`DEDUP_WINDOW` spans is dropped as an exporter's retry;
the store's reader drops older copies (see :func:`aims.storage.traces.read_spans`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aims.core.genai.normalise import Linker, Options, SpanRejected, normalise
from aims.core.genai.recent import RecentKeys
from aims.core.genai.span import span_schema
from aims.services.personal_data import pii_salt
from aims.services.trace_otlp import decode_request, inflate
from aims.services.trace_settings import TraceSettings, trace_settings
from aims.storage.traces import SpanWriter
from aims.storage.traces.rows import rows_table
from aims.workspace import Workspace

__all__ = ["ExportResult", "TraceIngest", "trace_log_url"]

log = logging.getLogger("aims.traces")

#: Seconds a project's version index is used before it is built again.
LINK_REFRESH_SECONDS = 5.0
#: Spans whose ids are remembered (at least; up to twice as many), so that an exporter's
#: retry of a batch that was stored is dropped rather than stored twice.
DEDUP_WINDOW = 65_536


def trace_log_url(ws: Workspace) -> str:
    """The span store of ``ws``: ``store.trace_log_url``, else ``.aims/traces``."""
    return ws.settings.trace_log_url or str(ws.settings.state_dir / "traces")


@dataclass(frozen=True)
class ExportResult:
    """What became of the spans of one export request."""

    accepted: int
    rejected: int
    message: str
    duplicates: int = 0
    """Spans dropped as copies of spans already taken in (not refused: the sender is answered
    as if they were stored, which they are)."""


class TraceIngest:
    """Normalises OTLP exports for the projects of one workspace and queues them for storage."""

    def __init__(
        self,
        ws: Workspace,
        writer: SpanWriter,
        *,
        settings: TraceSettings | None = None,
        max_decompressed_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.ws = ws
        self.writer = writer
        self.settings = settings or trace_settings(ws)
        self.key = pii_salt(ws).encode()
        self.max_decompressed_bytes = max_decompressed_bytes
        self._links: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.accepted_total = 0
        """Spans queued for storage since start (for /metrics)."""
        self.rejected_total = 0
        """Spans refused since start (bad ids, an end before the start, ...)."""
        self.duplicate_total = 0
        """Spans dropped since start as copies of spans taken in lately (exporter retries)."""
        # Hashes of (project, trace id, span id): 64 bits, so a collision (a span
        # wrongly dropped) is a chance of about one in 10^10 across the window.
        self.recent = RecentKeys(DEDUP_WINDOW)

    def options(self, project: str) -> Options:
        """How spans of ``project`` are normalised."""
        return Options(
            project=project,
            key=self.key,
            content=self.settings.content_of(project),
            prices=self.settings.prices,
            application_attribute=self.settings.application_attribute,
            version_attribute=self.settings.version_attribute,
            link=self._linker(project),
        )

    def _linker(self, project: str) -> Linker | None:
        """The registry's version index of ``project`` as a linker, when the registry has one."""
        from aims.services.llm_versions import version_index

        now = time.monotonic()
        with self._lock:
            cached = self._links.get(project)
        if cached is None or now - cached[0] > LINK_REFRESH_SECONDS:
            try:
                index = version_index(self.ws, project)
            except Exception as exc:  # spans still go in, unlinked, while the registry is away
                log.warning("traces: version index of %s unavailable: %s", project, exc)
                index = None
            cached = (now, index)
            with self._lock:
                self._links[project] = cached
        index = cached[1]
        if index is None:
            return None

        def link(application: str | None, version: str | None, sha: str | None) -> Any:
            return index.match(application=application, version=version, prompt_sha256=sha)

        return link

    def export(self, body: bytes, kind: str, encoding: str | None, project: str) -> ExportResult:
        """Decode, normalise and queue one OTLP export body; CPU-bound, call it in a thread.

        Raises :class:`~aims.errors.InvalidInput` when the body cannot be
        decoded (nothing is stored), :class:`~aims.services.trace_otlp.BodyTooLarge`
        past the decompressed limit, and
        :class:`~aims.errors.StoreUnavailable` when the store's queue is full.
        """
        raw = inflate(body, encoding, self.max_decompressed_bytes)
        options = self.options(project)
        rows: list[dict[str, Any]] = []
        reasons: Counter[str] = Counter()
        for span in decode_request(raw, kind):
            try:
                rows.append(normalise(span, options))
            except SpanRejected as exc:
                reasons[str(exc)] += 1
        duplicates = 0
        if rows:
            keys = [hash((project, r["trace_id"], r["span_id"])) for r in rows]
            fresh = self.recent.claim(keys)
            if not all(fresh):
                rows = [r for r, new in zip(rows, fresh, strict=True) if new]
                keys = [k for k, new in zip(keys, fresh, strict=True) if new]
                duplicates = len(fresh) - len(rows)
        if rows:
            try:
                self.writer.append(rows_table(rows, span_schema()))
            except BaseException:
                # Not kept, so the exporter's retry of this batch must be taken.
                self.recent.release(keys)
                raise
        rejected = sum(reasons.values())
        with self._lock:
            self.accepted_total += len(rows)
            self.rejected_total += rejected
            self.duplicate_total += duplicates
        message = "; ".join(
            f"{reason} ({n} spans)" if n > 1 else reason for reason, n in reasons.most_common(5)
        )
        return ExportResult(len(rows), rejected, message, duplicates)

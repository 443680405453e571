"""Taking in LLM traces: OTLP bodies decoded, normalised per project and queued for the span store.

:class:`TraceIngest` lives as long as the server. :meth:`TraceIngest.export`
does the CPU work of one OTLP export (decompress, decode, normalise every
span) and is meant to run off the event loop; it queues the accepted rows on
the :class:`~aims.storage.traces.SpanWriter` and answers how many spans were
refused and why. Spans link to registered LLM application versions through
the registry's version index when it is available, refreshed every few
seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from aims.core.genai.normalise import Linker, Options, SpanRejected, normalise
from aims.core.genai.span import SPAN_FIELDS, span_schema
from aims.services.personal_data import pii_salt
from aims.services.trace_otlp import decode_request, inflate
from aims.services.trace_settings import TraceSettings, trace_settings
from aims.storage.traces import SpanWriter
from aims.workspace import Workspace

__all__ = ["ExportResult", "TraceIngest", "trace_log_url"]

log = logging.getLogger("aims.traces")

#: Seconds a project's version index is used before it is built again.
LINK_REFRESH_SECONDS = 5.0


def trace_log_url(ws: Workspace) -> str:
    """The span store of ``ws``: ``store.trace_log_url``, else ``.aims/traces``."""
    return ws.settings.trace_log_url or str(ws.settings.state_dir / "traces")


@dataclass(frozen=True)
class ExportResult:
    """What became of the spans of one export request."""

    accepted: int
    rejected: int
    message: str


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
        if rows:
            columns = {f: [r[f] for r in rows] for f in SPAN_FIELDS}
            self.writer.append(pa.Table.from_pydict(columns, schema=span_schema()))
        rejected = sum(reasons.values())
        with self._lock:
            self.accepted_total += len(rows)
            self.rejected_total += rejected
        message = "; ".join(
            f"{reason} ({n} spans)" if n > 1 else reason for reason, n in reasons.most_common(5)
        )
        return ExportResult(len(rows), rejected, message)

"""Embedding drift of a window: its first texts of each side, embedded, against the reference's.

Optional (``policy.monitoring.llm.embedding_drift``), and only possible where
message content is stored (a project content policy of ``redacted`` or
``full``) and the sentence encoder can run (the ``text`` extra and the MiniLM
weights, :mod:`aims.core.text.encoder`). Each side's texts of smallest
priority (the keyed hash of trace and span id that also picks the n-gram
sample) are read from the spans' content, at most ``embedding_sample_size``
of them, embedded, and kept as an
:class:`~aims.core.text.embedding_sample.EmbeddingSample` in the window's
profile, so reference windows merge into the reference's sample. A window
after a complete reference is compared with it by
:func:`~aims.core.text.embedding_drift.embedding_drift`.

Whatever stops it, the window's results say why under ``embedding_drift``
(``status`` and ``reason``) and the pass goes on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aims.core.text.embedding_drift import embedding_drift
from aims.core.text.embedding_sample import EmbeddingSample
from aims.core.text.sample import priorities
from aims.errors import AimsError
from aims.services.llm_monitor.reference import LlmReference
from aims.services.llm_monitor.spans import MODEL_OPERATIONS, SpanSource
from aims.services.llm_monitor.text_window import SIDES
from aims.services.monitor.llm_policy import LlmMonitoring

__all__ = [
    "CONTENT_COLUMNS",
    "Embedded",
    "Embedder",
    "Picked",
    "embed_window",
    "embedding_outcome",
    "pick_texts",
]

log = logging.getLogger("aims.monitor")

#: What a window reads for embedding drift (a second, narrow read of its spans).
CONTENT_COLUMNS = ("version", "trace_id", "span_id", "operation", "input_content", "output_content")
_SYSTEM = {"system", "developer"}


def content_text(content: str | None) -> str | None:
    """The text of stored content (JSON ``[{role, content}]``) without system messages.

    The same text the n-grams and statistics were computed on at ingest.

    Examples
    --------
    >>> content_text('[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]')
    'Hi'
    >>> content_text(None) is None, content_text("not json")
    (True, 'not json')
    """
    if not content:
        return None
    try:
        items = json.loads(content)
    except ValueError:
        return content
    if not isinstance(items, list):
        return content
    texts = [
        str(item.get("content") or "")
        for item in items
        if isinstance(item, dict) and item.get("role") not in _SYSTEM
    ]
    return "\n".join(texts) if texts else None


@dataclass
class Picked:
    """The texts of smallest priority of one version's side, with their priorities."""

    capacity: int
    prio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    texts: list[str] = field(default_factory=list)
    offered: int = 0

    def add(self, prio: np.ndarray, texts: list[str]) -> None:
        """Offer more texts; only the ``capacity`` of smallest priority are kept."""
        self.offered += len(texts)
        allp = np.concatenate([self.prio, prio])
        allt = self.texts + texts
        _, first = np.unique(allp, return_index=True)  # sorted, repeats dropped
        keep = first[: self.capacity]
        self.prio = allp[keep]
        self.texts = [allt[i] for i in keep]


def pick_texts(
    source: SpanSource, application: str, start: datetime, end: datetime, capacity: int
) -> dict[str, dict[str, Picked]]:
    """Per version and side, the stored texts of requests to embed (bounded by ``capacity``)."""
    out: dict[str, dict[str, Picked]] = {}
    for batch in source.read(application, start, end, CONTENT_COLUMNS):
        table = pa.Table.from_batches([batch])
        requests = pc.fill_null(
            pc.is_in(table.column("operation"), pa.array(MODEL_OPERATIONS)), False
        )
        table = table.filter(requests)
        if table.num_rows == 0:
            continue
        identity = pc.binary_join_element_wise(
            pc.fill_null(table.column("trace_id"), ""),
            pc.fill_null(table.column("span_id"), ""),
            "/",
        ).to_pylist()
        prio = priorities(identity)
        versions = table.column("version").to_pylist()
        for side in SIDES:
            contents = table.column(f"{side}_content").to_pylist()
            by_version: dict[str, tuple[list[int], list[str]]] = {}
            for i, (version, content) in enumerate(zip(versions, contents, strict=True)):
                text = content_text(content)
                if version is None or text is None:
                    continue
                rows, texts = by_version.setdefault(version, ([], []))
                rows.append(i)
                texts.append(text)
            for version, (rows, texts) in by_version.items():
                sides = out.setdefault(version, {s: Picked(capacity) for s in SIDES})
                sides[side].add(prio[rows], texts)
    return out


class Embedder:
    """The pass's sentence encoder, loaded on first use; ``problem`` says why it cannot run."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self._encoder: Any = None
        self.problem: str | None = None

    def encode(self, texts: list[str]) -> np.ndarray | None:
        """The texts' embeddings, or None when the encoder is unavailable (see ``problem``)."""
        if self._encoder is None and self.problem is None:
            from aims.core.text.encoder import SentenceEncoder

            try:
                self._encoder = SentenceEncoder(self.folder)
            except AimsError as exc:
                self.problem = exc.message
                log.warning("monitor: embedding drift unavailable: %s", exc.message)
        if self._encoder is None:
            return None
        vectors: np.ndarray = self._encoder.encode(texts)
        return vectors


def _absent(status: str, reason: str) -> dict[str, Any]:
    return {"status": status, "reason": reason}


@dataclass
class Embedded:
    """One version's embedded texts in a window, or why there are none."""

    samples: dict[str, EmbeddingSample] = field(default_factory=dict)
    absent: dict[str, Any] | None = None


def embed_window(
    picked: dict[str, dict[str, Picked]], embedder: Embedder, settings: LlmMonitoring
) -> dict[str, Embedded]:
    """Embed each version's picked texts (before the window's transaction: it takes seconds)."""
    out: dict[str, Embedded] = {}
    for version, sides in picked.items():
        found = Embedded()
        for side, chosen in sides.items():
            if not chosen.texts:
                continue
            vectors = embedder.encode(chosen.texts)
            if vectors is None:
                found = Embedded(absent=_absent("unavailable", embedder.problem or "no encoder"))
                break
            sample = EmbeddingSample.of(
                chosen.prio, vectors, capacity=settings.embedding_sample_size
            )
            sample.seen = chosen.offered
            found.samples[side] = sample
        out[version] = found
    return out


def embedding_outcome(
    embedded: Embedded | None, reference: LlmReference, settings: LlmMonitoring
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """``(results["embedding_drift"], window values)`` of one version's window."""
    values: dict[str, float | None] = {}
    if not settings.embedding_drift:
        return _absent(
            "off", "embedding drift is off (policy.monitoring.llm.embedding_drift)"
        ), values
    if embedded is not None and embedded.absent is not None:
        return embedded.absent, values
    if embedded is None or not embedded.samples:
        return _absent(
            "no_content",
            "no message content is stored for these spans; embedding drift needs the project's "
            "content policy (traces.content) to be redacted or full",
        ), values
    samples = embedded.samples
    if not reference.complete:
        return _absent(
            "reference_incomplete",
            f"the reference has {len(reference.windows)} of {reference.needed} windows; "
            "this window's embeddings join it",
        ), values
    ref_embeddings = reference.text.embeddings if reference.text is not None else {}
    if not ref_embeddings:
        return _absent(
            "no_reference_embeddings",
            "the reference windows hold no embeddings (computed before embedding drift was on, "
            "or without stored content)",
        ), values
    detail: dict[str, Any] = {"status": "computed", "reason": None}
    scores = []
    for side in SIDES:
        verdict = None
        if side in samples and side in ref_embeddings:
            verdict = embedding_drift(
                ref_embeddings[side].vectors,
                samples[side].vectors,
                z=settings.drift_z,
                min_texts=settings.min_texts,
            )
        values[f"{side}_embedding_drift_auc"] = verdict.auc if verdict else None
        values[f"{side}_embedding_drift_score"] = verdict.score if verdict else None
        detail[side] = verdict.to_dict() if verdict else None
        if verdict:
            scores.append(verdict.score)
    values["embedding_drift_score"] = max(scores) if scores else None
    return detail, values

"""One pass over LLM application versions: compute their closed windows, store them, fire triggers.

For every registered LLM application (registry versions of flavour
``llm-app``), the windows that closed since the last stored one (within the
monitor's lookback) are read from the span store, one window at a time, in
order. Each version with requests in a window gets a stored window (role
``llm`` in ``monitor_windows``), its triggers are evaluated, and incidents are
opened, all in one transaction per window, so a pass killed midway resumes
at the first window it did not commit. Spans whose version is not a
registered version of the application are counted as unlinked and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from aims.clock import utc
from aims.core.windowing import window_start, windows_of_hour
from aims.errors import AimsError
from aims.flavours.llm_app import FLAVOUR
from aims.services.llm_monitor.embedding_window import (
    Embedder,
    embed_window,
    embedding_outcome,
    pick_texts,
)
from aims.services.llm_monitor.firing import fire
from aims.services.llm_monitor.reference import ROLE, load_reference
from aims.services.llm_monitor.results import window_results
from aims.services.llm_monitor.spans import COLUMNS, MODEL_OPERATIONS, SpanSource, store_source
from aims.services.llm_monitor.text_window import TextWindow
from aims.services.llm_monitor.traffic import Traffic
from aims.services.monitor import actions, window_store
from aims.services.monitor.context import RunSummary
from aims.services.monitor.figures import clean
from aims.services.monitor.settings import monitor_settings
from aims.services.monitor.triggers import MonitoringPolicy, monitoring_policy
from aims.services.monitor.waiting import awaiting_traces
from aims.services.monitor.window_store import final_only
from aims.storage.schema import Model, ModelVersion, MonitorWindow

__all__ = ["llm_applications", "run_llm"]

log = logging.getLogger("aims.monitor")


def llm_applications(ws: Any) -> list[tuple[int, str]]:
    """``(model id, name)`` of every model with a version of flavour ``llm-app``."""
    with ws.db.session() as s:
        rows = s.execute(
            select(Model.id, Model.name)
            .join(ModelVersion, ModelVersion.model_id == Model.id)
            .where(ModelVersion.flavour == FLAVOUR)
            .distinct()
            .order_by(Model.name)
        ).all()
    return [(int(i), str(n)) for i, n in rows]


def _first_pending(ws: Any, model_id: int, seconds: int, floor: datetime) -> datetime:
    with ws.db.session() as s:
        last = s.scalar(
            select(func.max(MonitorWindow.window_start)).where(
                MonitorWindow.model_id == model_id,
                MonitorWindow.role == ROLE,
                MonitorWindow.window_seconds == seconds,
                final_only(),
            )
        )
    start = floor
    if last is not None:
        start = max(start, utc(last) + timedelta(seconds=seconds))
    return start


def _versions(table: pa.Table) -> Iterable[tuple[str, pa.Table]]:
    column = table.column("version")
    for value in sorted(v for v in pc.unique(column).to_pylist() if v is not None):
        yield value, table.filter(pc.equal(column, value))


class _Pass:
    def __init__(self, ws: Any, summary: RunSummary, now: datetime, source: SpanSource) -> None:
        self.ws = ws
        self.summary = summary
        self.now = now
        self.source = source
        self.settings = monitor_settings(ws)
        self.policy: MonitoringPolicy = monitoring_policy(ws)
        self.seconds = self.settings.window_seconds
        self.embedder = Embedder(self.policy.llm.embedding_model)

    def next_close(self) -> datetime:
        """When the open window closes (its end plus the grace period)."""
        step = timedelta(seconds=self.seconds)
        return window_start(self.now, self.seconds) + step + self.settings.grace

    def why_nothing(self, model_id: int, name: str) -> str:
        """Why a pass computed no window of ``name``: no spans at all, or none newly closed."""
        if self.source.hours(name, self.now - self.settings.lookback, self.now):
            return "no new LLM spans in closed windows"
        with self.ws.db.session() as s:
            production = s.scalar(
                select(ModelVersion.version).where(
                    ModelVersion.model_id == model_id, ModelVersion.stage == "production"
                )
            )
        return awaiting_traces(name, production)

    def application(self, model_id: int, name: str) -> int:
        floor = window_start(self.now - self.settings.lookback, self.seconds)
        start = _first_pending(self.ws, model_id, self.seconds, floor)
        last = window_start(self.now - self.settings.grace, self.seconds)  # first still open
        if start >= last:
            return 0
        # Only windows overlapping an hour that holds spans are read.
        busy = {
            w
            for hour in self.source.hours(name, start, last)
            for w in windows_of_hour(hour, self.seconds)
            if start <= w < last
        }
        return sum(self.window(model_id, name, w) for w in sorted(busy))

    def window(self, model_id: int, name: str, start: datetime) -> int:
        end = start + timedelta(seconds=self.seconds)
        batches = list(self.source.read(name, start, end, COLUMNS))
        if not batches:
            return 0
        table = pa.Table.from_batches(batches)
        llm = self.policy.llm
        # Content is read apart (a narrow second read), and only when embedding drift is on;
        # texts are embedded before the transaction, which encoding would hold for seconds.
        embedded = (
            embed_window(
                pick_texts(self.source, name, start, end, llm.embedding_sample_size),
                self.embedder,
                llm,
            )
            if llm.embedding_drift
            else {}
        )
        opened: list[int] = []
        extended: list[int] = []
        stored = 0
        try:
            with self.ws.db.session() as s:
                model = s.get(Model, model_id)
                assert model is not None
                known = {v.version for v in model.versions}
                owner = next((o.owner for o in model.owners if o.role == "monitoring"), None)
                for text_version, spans in _versions(table):
                    version = int(text_version) if text_version.isdigit() else None
                    if version not in known:
                        self.summary.errors.append(
                            f"{name}: {spans.num_rows} spans of version {text_version!r} in window "
                            f"{start.isoformat()}, which is not a registered version; skipped"
                        )
                        continue
                    assert version is not None
                    rolling = llm.reference == "rolling"
                    ref = load_reference(
                        s,
                        model_id,
                        version,
                        self.seconds,
                        llm.reference_windows,
                        start,
                        rolling=rolling,
                    )
                    traffic = Traffic(top=llm.top_spenders)
                    text = TextWindow(llm.sample_size, ref.text if ref.complete else None)
                    requests = pc.fill_null(
                        pc.is_in(spans.column("operation"), pa.array(MODEL_OPERATIONS)), False
                    )
                    for batch in spans.to_batches():
                        traffic.add(batch)
                    for batch in spans.filter(requests).to_batches():
                        text.add(batch)
                    if traffic.requests == 0:
                        continue
                    profile = text.profile()
                    mine = embedded.get(text_version)
                    profile.embeddings = mine.samples if mine else {}
                    embedding, embedding_values = embedding_outcome(mine, ref, llm)
                    results = window_results(
                        traffic,
                        text,
                        profile,
                        ref,
                        drift_options=self.policy.drift.options(),
                        z=llm.drift_z,
                        min_texts=llm.min_texts,
                    )
                    results["values"].update(clean(embedding_values))
                    results["embedding_drift"] = clean(embedding)
                    results["window"] = {
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "seconds": self.seconds,
                    }
                    row = window_store.add_window(
                        s,
                        model_id=model_id,
                        version=version,
                        role=ROLE,
                        start=start,
                        seconds=self.seconds,
                        n_predictions=traffic.requests,
                        n_labelled=0,
                        results=results,
                        # Windows that may join a reference keep their samples and vocabularies.
                        profile=profile.to_bytes(full=rolling or not ref.complete),
                    )
                    s.flush()
                    new, updated = fire(
                        s,
                        policy=self.policy,
                        model=model,
                        row=row,
                        seconds=self.seconds,
                        owner=owner,
                        actor=self.settings.actor,
                    )
                    opened += new
                    extended += updated
                    stored += 1
        except DBIntegrityError:
            # Another monitor stored this window first; its results stand.
            log.info("monitor: %s window %s already stored by another run", name, start)
            return 0
        self.summary.incidents_opened += opened
        self.summary.incidents_updated += extended
        for incident_id in opened:
            self.summary.actions += actions.run_pending(
                self.ws, incident_id, self.policy, self.settings.actor
            )
        self.summary.windows += stored
        return stored


def run_llm(
    ws: Any,
    summary: RunSummary,
    now: datetime,
    *,
    source: SpanSource | None = None,
    applications: Sequence[str] | None = None,
) -> RunSummary:
    """Compute the closed windows of every LLM application (or ``applications``) into ``summary``.

    ``source`` reads spans (default: the workspace's span store). Errors of
    one application are reported in the summary and do not stop the others.
    """
    apps = llm_applications(ws)
    if applications is not None:
        apps = [(i, n) for i, n in apps if n in applications]
    if not apps:
        return summary
    run = _Pass(ws, summary, utc(now), source or store_source(ws))
    for model_id, name in apps:
        try:
            computed = run.application(model_id, name)
        except AimsError as exc:
            summary.errors.append(f"{name}: {exc.message}")
            log.warning("monitor: %s: %s", name, exc.message)
            continue
        if run.embedder.problem:
            # The windows are stored without embedding drift; the policy asked for it.
            summary.errors.append(f"{name}: embedding drift skipped: {run.embedder.problem}")
        summary.models.append(name)
        # The tabular pass said it found no prediction log: an LLM application has none.
        summary.waiting = [w for w in summary.waiting if w.get("model") != name]
        if not computed:
            summary.waiting.append(
                {
                    "model": name,
                    "reason": run.why_nothing(model_id, name),
                    "next_close": run.next_close().isoformat(),
                }
            )
    return summary

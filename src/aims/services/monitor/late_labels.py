"""Labels that arrive after a window was computed: join them, recompute performance, re-fire.

Labels come late (a loan defaults months after the decision). The monitor
keeps the time of the newest label it has seen in each window's results;
when newer labels exist for a window's predictions, its performance and its
comparison with production are recomputed and its triggers re-evaluated (an
incident is never opened twice for one window).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from aims.clock import utc
from aims.core.windowing import window_column, window_start
from aims.services.monitor import checks, window_store
from aims.services.monitor.context import ROLE_ORDER, MonitorPass
from aims.services.monitor.firing import fire, run_actions
from aims.services.monitor.triggers import ROLES
from aims.services.monitor.window_results import NO_LABELS, set_comparison, set_performance
from aims.services.monitor.windows import WindowProfile
from aims.storage.schema import Model

#: Windows whose labelled predictions are read from the log in one query.
LABEL_CHUNK = 24
Labelled = dict[tuple[int, str, datetime], pl.DataFrame]


def latest_label(run: MonitorPass, name: str) -> datetime | None:
    """When the newest label of ``name`` was ingested (None: no labels yet)."""
    frame = run.labels.scan(name).select(pl.col("labelled_at").max()).collect()
    value = frame.item() if frame.height else None
    return utc(value) if value is not None else None


def labelled_frames(run: MonitorPass, name: str, since: datetime, until: datetime) -> Labelled:
    """Labelled predictions of ``[since, until)``, split by (version, role, window start).

    One join of the log with the labels for many windows: the label side is
    read once instead of once per window.
    """
    from aims.storage.predlog.schema import feature_column

    lazy = run.labels.scan_labelled(name, since=since, until=until)
    schema = lazy.collect_schema()
    cols = [c for c in ("prediction", "score", "proba", "label") if c in schema]
    slices = [
        pl.col(feature_column(c)).alias(c) for c in run.policy.slices if feature_column(c) in schema
    ]
    frame = (
        lazy.filter(pl.col("label").is_not_null())
        .select(
            "version",
            "role",
            window_column(pl.col("ts"), run.seconds).alias("_start"),
            *cols,
            *slices,
        )
        .collect(engine="streaming")
    )
    out: Labelled = {}
    for (version, role, start), part in frame.partition_by(
        ["version", "role", "_start"], as_dict=True
    ).items():
        key = (int(version), str(role), utc(start))
        out[key] = part.drop("version", "role", "_start")
    return out


def refresh_labels(run: MonitorPass, model_id: int, name: str, as_of: datetime) -> None:
    """Recompute performance of recent windows whose predictions got labels since."""
    seconds = run.seconds
    since = window_start(run.now - run.settings.label_lookback, seconds)
    with run.ws.db.session() as s:
        rows = window_store.labelled_candidates(s, model_id, seconds, since, ROLES)
    stale = []
    for wid, version, role, start, res in rows:
        stamp = ((res or {}).get("performance") or {}).get("labels_as_of")
        seen = utc(datetime.fromisoformat(stamp)) if stamp else None
        if seen is None or seen < as_of:
            stale.append((wid, version, role, start, seen))
    if not stale:
        return
    oldest_seen = min((x[4] for x in stale if x[4] is not None), default=None)
    first = min(x[3] for x in stale)
    newest = _newest_labels(run, name, first, oldest_seen)
    stale.sort(key=lambda x: (x[3], ROLE_ORDER.get(x[2], 9), x[1]))
    bump, redo = [], []
    for wid, version, role, start, seen in stale:
        latest = newest.get((version, role, start))
        if latest is None or (seen is not None and latest <= seen):
            bump.append(wid)
        else:
            redo.append((wid, version, role, start))
    step = timedelta(seconds=seconds)
    i = 0
    while i < len(redo):
        # windows within LABEL_CHUNK windows of the first share one read of the log
        horizon = redo[i][3] + step * LABEL_CHUNK
        chunk = [r for r in redo[i:] if r[3] < horizon]
        labelled = labelled_frames(run, name, chunk[0][3], chunk[-1][3] + step)
        for wid, version, role, start in chunk:
            frame = labelled.get((version, role, start), NO_LABELS)
            _recompute(run, model_id, wid, frame, as_of)
        i += len(chunk)
    if bump:
        with run.ws.db.session() as s:
            for row in window_store.windows_by_id(s, bump):
                perf = dict(row.results.get("performance") or {})
                perf["labels_as_of"] = as_of.isoformat()
                row.results = {**row.results, "performance": perf}


def _newest_labels(
    run: MonitorPass, name: str, first: datetime, after: datetime | None
) -> dict[tuple[int, str, datetime], datetime]:
    """(version, role, window start) -> newest label time, for labels newer than ``after``."""
    lazy = run.labels.scan_labelled(name, since=first).filter(pl.col("labelled_at").is_not_null())
    if after is not None:
        lazy = lazy.filter(pl.col("labelled_at") > after)
    frame = (
        lazy.with_columns(window_column(pl.col("ts"), run.seconds).alias("_start"))
        .group_by("version", "role", "_start")
        .agg(pl.col("labelled_at").max().alias("_newest"))
        .collect(engine="streaming")
    )
    return {(int(v), str(r), utc(st)): utc(n) for v, r, st, n in frame.iter_rows()}


def _recompute(
    run: MonitorPass, model_id: int, wid: int, frame: pl.DataFrame, as_of: datetime
) -> None:
    """Recompute one stored window's performance from ``frame`` and re-evaluate its triggers."""
    with run.ws.db.session() as s:
        version = window_store.version_of(s, wid)
    if version is None:
        return
    ref = run.reference(model_id, version)  # may load the model: no transaction open
    opened: list[int] = []
    with run.ws.db.session() as s:
        row = window_store.window(s, wid)
        if row is None:
            return
        role, start = row.role, utc(row.window_start)
        res = dict(row.results)
        section, values = checks.performance(frame, ref, row.n_predictions, run.policy)
        set_performance(res, section, values, as_of)
        if role != "production":
            mine = WindowProfile.loads(row.profile) if row.profile else None
            prod = window_store.production_window(s, model_id, run.seconds, start)
            stored = None
            if prod is not None:
                stored = (prod.results, WindowProfile.loads(prod.profile) if prod.profile else None)
            set_comparison(run, res, mine, stored)
        row.results = checks.clean(res)
        row.n_labelled = int(section["n_labelled"])
        row.computed_at = datetime.now(UTC)
        s.flush()
        opened = fire(run, s, s.get(Model, model_id), row, ref)
    run.summary.refreshed += 1
    run_actions(run, opened)


__all__ = ["LABEL_CHUNK", "Labelled", "labelled_frames", "latest_label", "refresh_labels"]

"""The monitoring loop: compute every closed window, fire triggers, open incidents, run actions.

:func:`run_once` does one pass and returns a :class:`RunSummary`;
:func:`run_forever` repeats it every ``monitor.interval``. One pass:

1. runs actions left pending by an interrupted pass;
2. for each model with logged predictions, finds the closed windows (per
   version) that have no stored results, streams each window's log once,
   builds a profile per role and runs the checks; a served role that logged
   nothing in a window but had traffic one volume baseline earlier gets a
   window of zero predictions, so that an outage reaches the volume trigger;
   the results of all roles of the window, the triggers that fired and the
   incidents they opened are written in one transaction, so a monitor killed
   mid-run resumes at the first window it had not committed, and a re-run
   over the same windows finds them stored and does nothing;
3. recomputes the performance of recent windows whose predictions received
   labels since they were computed (late labels), and re-evaluates their
   triggers (an incident is never opened twice for a window);
4. runs the actions of the incidents it opened.

``run_once(ws, now=None)`` keeps no state between calls, so a server can call
it from a background task and a worker process from a loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from aims.core.triggers import Condition, WindowFacts
from aims.errors import AimsError, NotFound
from aims.services.monitor import actions, checks
from aims.services.monitor.incidents import record_firing
from aims.services.monitor.reference import Reference, build_reference, version_facts
from aims.services.monitor.settings import MonitorSettings, monitor_settings
from aims.services.monitor.triggers import ROLES, MonitoringPolicy, TriggerSpec, monitoring_policy
from aims.services.monitor.windows import (
    WindowProfile,
    pending_windows,
    profile_windows,
    utc,
    window_start,
)
from aims.storage.schema import Model, ModelVersion, MonitorWindow

log = logging.getLogger("aims.monitor")

#: Log columns the checks never read (ids and timings are not profiled).
UNREAD = frozenset({"prediction_id", "request_id", "latency_ms", "key", "model", "version"})
#: Role of the row that marks a window of a version that had log files but no rows.
EMPTY_ROLE = "none"
#: Roles that receive traffic of their own: a window where one of them logged
#: nothing is an outage. Shadow traffic is a copy of production's, so it stops with it.
SERVED_ROLES = ("production", "canary")
_ROLE_ORDER = {r: i for i, r in enumerate(ROLES)}


@dataclass
class RunSummary:
    """What one pass of the monitor did."""

    started_at: datetime
    finished_at: datetime | None = None
    models: list[str] = field(default_factory=list)
    windows: int = 0
    """Window results computed and stored (one per version and role)."""
    refreshed: int = 0
    """Stored windows whose performance was recomputed after new labels."""
    incidents_opened: list[int] = field(default_factory=list)
    incidents_updated: list[int] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "models": self.models,
            "windows": self.windows,
            "refreshed": self.refreshed,
            "incidents_opened": self.incidents_opened,
            "incidents_updated": sorted(set(self.incidents_updated)),
            "actions": self.actions,
            "errors": self.errors,
        }


@dataclass
class _Run:
    ws: Any
    settings: MonitorSettings
    policy: MonitoringPolicy
    default_tier: str
    now: datetime
    summary: RunSummary
    reader: Any
    labels: Any
    refs: dict[tuple[int, int], Reference] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=dict)

    @property
    def seconds(self) -> int:
        return self.settings.window_seconds

    @property
    def actor(self) -> str:
        return self.settings.actor

    def reference(self, model_id: int, version: int) -> Reference:
        key = (model_id, version)
        if key not in self.refs:
            with self.ws.db.session() as s:
                mv = s.scalar(
                    select(ModelVersion).where(
                        ModelVersion.model_id == model_id, ModelVersion.version == version
                    )
                )
                if mv is None:
                    raise NotFound(f"the log has version {version}, which is not registered")
                facts = version_facts(s, mv, self.default_tier)
            self.refs[key] = build_reference(self.ws, facts, self.policy)
        return self.refs[key]

    def condition(self, trigger: TriggerSpec) -> Condition:
        if trigger.name not in self.conditions:
            self.conditions[trigger.name] = trigger.condition
        return self.conditions[trigger.name]


# --------------------------------------------------------------------------- entry points
def run_once(
    ws: Any, now: datetime | None = None, *, models: Sequence[str] | None = None
) -> RunSummary:
    """One pass of the monitor over every model with logged predictions (or ``models``).

    ``now`` decides which windows are closed (default: the current time).
    Errors of one model (e.g. a version missing from the registry) are
    reported in the summary and do not stop the others.
    """
    from aims.services.governance import policy_of
    from aims.storage.predlog import LabelStore, PredictionLogReader

    settings = monitor_settings(ws)
    policy = monitoring_policy(ws)
    start = datetime.now(UTC)
    run = _Run(
        ws=ws,
        settings=settings,
        policy=policy,
        default_tier=policy_of(ws).default_tier,
        now=utc(now) if now is not None else start,
        summary=RunSummary(started_at=start),
        reader=PredictionLogReader(ws.settings.prediction_log_url),
        labels=LabelStore(ws.settings.prediction_log_url),
    )
    for incident_id in actions.pending_incidents(ws):
        run.summary.actions += actions.run_pending(ws, incident_id, policy, run.actor)
    logged = set(run.reader.models())
    with ws.db.session() as s:
        rows = s.execute(select(Model.id, Model.name).order_by(Model.name)).all()
    for model_id, name in rows:
        if name not in logged or (models is not None and name not in models):
            continue
        run.summary.models.append(name)
        try:
            _run_model(run, model_id, name)
        except AimsError as exc:
            run.summary.errors.append(f"{name}: {exc.message}")
            log.warning("monitor: %s: %s", name, exc.message)
    run.summary.finished_at = datetime.now(UTC)
    return run.summary


def run_forever(
    ws: Any,
    *,
    interval: float | None = None,
    stop: threading.Event | None = None,
    on_run: Callable[[RunSummary], None] | None = None,
) -> None:
    """Run :func:`run_once` every ``interval`` seconds (default ``monitor.interval``) until ``stop`` is set.

    A pass that fails is logged and the loop goes on; the next pass picks up
    where the failed one stopped.
    """
    stop = stop or threading.Event()
    pause = interval if interval is not None else monitor_settings(ws).interval.total_seconds()
    while not stop.is_set():
        try:
            summary = run_once(ws)
        except Exception:  # the loop must survive a bad pass (store briefly down, a bug)
            log.exception("monitor pass failed; retrying in %.0f s", pause)
        else:
            if on_run is not None:
                on_run(summary)
        stop.wait(pause)


# --------------------------------------------------------------------------- one model
def _run_model(run: _Run, model_id: int, name: str) -> None:
    seconds = run.seconds
    since = window_start(run.now - run.settings.lookback, seconds)
    parts = run.reader.partitions(name, since=since)
    with run.ws.db.session() as s:
        done = {
            (v, utc(t))
            for v, t in s.execute(
                select(MonitorWindow.version, MonitorWindow.window_start).where(
                    MonitorWindow.model_id == model_id,
                    MonitorWindow.window_seconds == seconds,
                    MonitorWindow.window_start >= since,
                )
            ).all()
        }
    pending = pending_windows(
        [(p.version, p.hour) for p in parts],
        done,
        seconds=seconds,
        now=run.now,
        grace=run.settings.grace,
        since=since,
    )
    step = timedelta(seconds=seconds)
    newest = max((t for _, t in done), default=None)
    for start in _quiet_windows(run, model_id, pending, since if newest is None else newest + step):
        pending[start] = []
    pending = dict(sorted(pending.items()))
    labels_as_of = _latest_label(run, name)
    for chunk in _chunks(list(pending), step):
        first, until = chunk[0], chunk[-1] + step
        # One pass over the log (and one join with the labels) serves the whole chunk.
        profiles: dict[tuple[int, datetime, str], WindowProfile] = {}
        for version in sorted({v for start in chunk for v in pending[start]}):
            wanted = {start for start in chunk if version in pending[start]}
            schema = run.reader.schema(name, version=version, since=first, until=until)
            batches = run.reader.iter_batches(
                name,
                version=version,
                since=first,
                until=until,
                columns=[c for c in schema if c not in UNREAD],
                batch_rows=run.settings.batch_rows,
            )
            found = profile_windows(
                batches,
                run.reference(model_id, version),
                run.policy.low_confidence,
                seconds=seconds,
                wanted=wanted,
            )
            profiles.update({(version, start, role): p for (start, role), p in found.items()})
        labelled = _labelled_frames(run, name, first, until) if labels_as_of is not None else None
        for start in chunk:
            mine = {(v, r): p for (v, st, r), p in profiles.items() if st == start}
            _compute_window(run, model_id, start, pending[start], mine, labels_as_of, labelled)
    if labels_as_of is not None:
        _refresh_labels(run, model_id, name, labels_as_of)


def _quiet_windows(
    run: _Run, model_id: int, pending: dict[datetime, list[int]], first: datetime
) -> list[datetime]:
    """Closed windows from ``first`` on with no log data that may hold an outage.

    A window qualifies when the window one volume baseline earlier had traffic
    of a served role, stored or about to be computed in this pass;
    :func:`_silent_roles` decides per role once that window is stored. Only
    windows after the newest stored one are looked at (``first``), so a pass
    does not walk back over windows it already judged.
    """
    step = timedelta(seconds=run.seconds)
    baseline = run.policy.volume_baseline
    last = window_start(run.now - run.settings.grace - step, run.seconds)
    if first > last:
        return []
    with run.ws.db.session() as s:
        busy = {
            utc(t)
            for t in s.scalars(
                select(MonitorWindow.window_start).where(
                    MonitorWindow.model_id == model_id,
                    MonitorWindow.window_seconds == run.seconds,
                    MonitorWindow.role.in_(SERVED_ROLES),
                    MonitorWindow.n_predictions > 0,
                    MonitorWindow.window_start >= first - baseline,
                    MonitorWindow.window_start <= last - baseline,
                )
            ).all()
        }
    busy |= set(pending)
    return sorted(
        {
            t + baseline
            for t in busy
            if first <= t + baseline <= last and t + baseline not in pending
        }
    )


def _silent_roles(
    run: _Run, model_id: int, start: datetime, profiles: dict[tuple[int, str], WindowProfile]
) -> dict[tuple[int, str], WindowProfile]:
    """Empty profiles for the served roles that logged nothing in window ``start``.

    A role counts when it had traffic one volume baseline earlier (the volume
    check's own baseline, so the empty window gets a ``volume_change``). The
    empty window goes to the version that holds the role's stage now, even
    one that has not answered a single request yet: a release that breaks
    serving is an outage of that release. A role whose stage was vacated (a
    canary that was promoted or ended) has no holder and is not reported.
    """
    heard = {role for _, role in profiles}
    out: dict[tuple[int, str], WindowProfile] = {}
    with run.ws.db.session() as s:
        for role in SERVED_ROLES:
            if role in heard or not _baseline_rows(run, s, model_id, role, start):
                continue
            holders = s.scalars(
                select(ModelVersion.version).where(
                    ModelVersion.model_id == model_id, ModelVersion.stage == role
                )
            ).all()
            out.update({(version, role): WindowProfile() for version in holders})
    return out


def _latest_label(run: _Run, name: str) -> datetime | None:
    """When the newest label of ``name`` was ingested (None: no labels yet)."""
    frame = run.labels.scan(name).select(pl.col("labelled_at").max()).collect()
    value = frame.item() if frame.height else None
    return utc(value) if value is not None else None


#: Windows whose labelled predictions are read from the log in one query.
LABEL_CHUNK = 24
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_LABELS = pl.DataFrame(schema={"prediction": pl.String, "label": pl.String})
Labelled = dict[tuple[int, str, datetime], pl.DataFrame]


def _labelled_frames(run: _Run, name: str, since: datetime, until: datetime) -> Labelled:
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
    micro = run.seconds * 1_000_000
    frame = (
        lazy.filter(pl.col("label").is_not_null())
        .select(
            "version",
            "role",
            ((pl.col("ts").dt.epoch("us") // micro) * micro).alias("_start"),
            *cols,
            *slices,
        )
        .collect(engine="streaming")
    )
    out: Labelled = {}
    for (version, role, start), part in frame.partition_by(
        ["version", "role", "_start"], as_dict=True
    ).items():
        key = (int(version), str(role), _EPOCH + timedelta(microseconds=int(start)))
        out[key] = part.drop("version", "role", "_start")
    return out


# --------------------------------------------------------------------------- new windows
def _chunks(starts: list[datetime], step: timedelta) -> list[list[datetime]]:
    """Consecutive runs of at most ``LABEL_CHUNK`` windows' span."""
    out: list[list[datetime]] = []
    for start in starts:
        if out and start < out[-1][0] + step * LABEL_CHUNK:
            out[-1].append(start)
        else:
            out.append([start])
    return out


def _compute_window(
    run: _Run,
    model_id: int,
    start: datetime,
    versions: list[int],
    profiles: dict[tuple[int, str], WindowProfile],
    labels_as_of: datetime | None,
    labelled: Labelled | None,
) -> None:
    """Store the results of every role of ``versions`` in window ``start``; fire triggers."""
    seconds = run.seconds
    profiles = {**profiles, **_silent_roles(run, model_id, start, profiles)}
    refs = {v: run.reference(model_id, v) for v in {*versions, *(k[0] for k in profiles)}}
    empty = [v for v in versions if not any(k[0] == v for k in profiles)]
    order = sorted(profiles, key=lambda k: (_ROLE_ORDER.get(k[1], 9), k[0]))
    opened: list[int] = []
    try:
        with run.ws.db.session() as s:
            model = s.get(Model, model_id)
            results: dict[tuple[int, str], dict[str, Any]] = {}
            for version, role in order:
                ref = refs[version]
                prof = profiles[(version, role)]
                baseline = _baseline_rows(run, s, model_id, role, start)
                res = _results(run, ref, prof, role, start, baseline)
                if labels_as_of is not None and labelled is not None:
                    frame = labelled.get((version, role, start), _NO_LABELS)
                    section, values = checks.performance(frame, ref, prof.rows, run.policy)
                    _set_performance(res, section, values, labels_as_of)
                results[(version, role)] = res
            prods = [k for k in order if k[1] == "production"]
            if prods:
                best = max(prods, key=lambda k: profiles[k].rows)
                production = (results[best], profiles[best])
            else:
                production = _stored_production(run, s, model_id, start)
            for key in order:
                if key[1] != "production":
                    _set_comparison(run, results[key], profiles[key], production)
            rows = []
            for key in order:
                res = checks.clean(results[key])
                row = MonitorWindow(
                    model_id=model_id,
                    version=key[0],
                    role=key[1],
                    window_start=start,
                    window_seconds=seconds,
                    n_predictions=profiles[key].rows,
                    n_labelled=int(res["performance"]["n_labelled"]),
                    results=res,
                    profile=profiles[key].dumps(),
                    computed_at=datetime.now(UTC),
                )
                s.add(row)
                rows.append(row)
            for version in empty:
                s.add(
                    MonitorWindow(
                        model_id=model_id,
                        version=version,
                        role=EMPTY_ROLE,
                        window_start=start,
                        window_seconds=seconds,
                        n_predictions=0,
                        n_labelled=0,
                        results={"empty": True},
                        profile=None,
                        computed_at=datetime.now(UTC),
                    )
                )
            s.flush()
            for row in rows:
                ref = refs[row.version]
                opened += _fire(run, s, model, row, ref)  # type: ignore[arg-type]
    except DBIntegrityError:
        # Another monitor stored this window first; its results stand.
        log.info("monitor: model %s window %s already stored by another run", model_id, start)
        return
    run.summary.windows += len(order)
    _run_actions(run, opened)


def _baseline_rows(run: _Run, s: Session, model_id: int, role: str, start: datetime) -> int | None:
    """Predictions of ``role`` in the same window one baseline period (a week) earlier."""
    then = start - run.policy.volume_baseline
    rows = s.scalars(
        select(MonitorWindow.n_predictions).where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == role,
            MonitorWindow.window_seconds == run.seconds,
            MonitorWindow.window_start == then,
        )
    ).all()
    return sum(rows) if rows else None


def _results(
    run: _Run, ref: Reference, prof: WindowProfile, role: str, start: datetime, baseline: int | None
) -> dict[str, Any]:
    opts = run.policy.drift.options()
    end = start + timedelta(seconds=run.seconds)
    features, drift, v_drift = checks.feature_drift(ref, prof, opts)
    prediction, v_pred = checks.prediction_checks(ref, prof, opts)
    sanity, v_sanity = checks.sanity_checks(prof)
    health, v_health = checks.health_checks(ref, prof, end, run.policy)
    volume, v_volume = checks.volume_check(prof.rows, baseline)
    values = {**v_drift, **v_pred, **v_sanity, **v_health, **v_volume}
    if not prof.rows:
        # Shares of no rows would read as "0 % invalid"; only the volume is known.
        values = dict(v_volume)
    return {
        "schema": checks.RESULTS_SCHEMA,
        "model": ref.model,
        "version": ref.version,
        "role": role,
        "window": {"start": start.isoformat(), "end": end.isoformat(), "seconds": run.seconds},
        "rows": prof.rows,
        "reference": {"outputs": ref.outputs_source, "notes": list(ref.notes)},
        "values": values,
        "features": features,
        "drift": drift,
        "prediction": prediction,
        "sanity": sanity,
        "health": health,
        "volume": volume,
        "performance": {"n_labelled": 0, "labelled_share": 0.0, "labels_as_of": None, "values": {}},
        "vs_production": None,
        "fired": [],
    }


def _set_performance(
    res: dict[str, Any], section: dict[str, Any], values: dict[str, Any], as_of: datetime
) -> None:
    old = (res.get("performance") or {}).get("values") or {}
    res["values"] = {k: v for k, v in res["values"].items() if k not in old}
    res["values"].update(values)
    res["performance"] = {**section, "values": values, "labels_as_of": as_of.isoformat()}


def _stored_production(
    run: _Run, s: Session, model_id: int, start: datetime
) -> tuple[dict[str, Any], WindowProfile | None] | None:
    row = s.scalar(
        select(MonitorWindow)
        .where(
            MonitorWindow.model_id == model_id,
            MonitorWindow.role == "production",
            MonitorWindow.window_seconds == run.seconds,
            MonitorWindow.window_start == start,
        )
        .order_by(MonitorWindow.n_predictions.desc())
        .limit(1)
    )
    if row is None:
        return None
    return row.results, (WindowProfile.loads(row.profile) if row.profile else None)


def _set_comparison(
    run: _Run,
    res: dict[str, Any],
    mine: WindowProfile | None,
    production: tuple[dict[str, Any], WindowProfile | None] | None,
) -> None:
    """Figures of a canary or shadow window against production's window at the same time."""
    if production is None:
        return
    prod, prod_profile = production
    old = (res.get("vs_production") or {}).get("values") or {}
    res["values"] = {k: v for k, v in res["values"].items() if k not in old}
    section, values = checks.comparison(
        mine,
        prod_profile,
        res["values"],
        prod.get("values") or {},
        int(prod["version"]),
        run.policy.drift.options(),
    )
    res["values"].update(values)
    res["vs_production"] = {**section, "values": values}


# --------------------------------------------------------------------------- triggers
def _history(run: _Run, s: Session, row: MonitorWindow, depth: int) -> list[WindowFacts | None]:
    """Facts of the ``depth - 1`` windows before ``row`` (None for gaps), then ``row``'s."""
    step = timedelta(seconds=run.seconds)
    start = utc(row.window_start)
    out: list[WindowFacts | None] = []
    if depth > 1:
        earlier = s.scalars(
            select(MonitorWindow).where(
                MonitorWindow.model_id == row.model_id,
                MonitorWindow.version == row.version,
                MonitorWindow.role == row.role,
                MonitorWindow.window_seconds == run.seconds,
                MonitorWindow.window_start >= start - step * (depth - 1),
                MonitorWindow.window_start < start,
            )
        ).all()
        by_start = {utc(w.window_start): w for w in earlier}
        for i in range(depth - 1, 0, -1):
            w = by_start.get(start - step * i)
            out.append(checks.facts_of(w.results) if w is not None else None)
    out.append(checks.facts_of(row.results))
    return out


def _fire(run: _Run, s: Session, model: Model, row: MonitorWindow, ref: Reference) -> list[int]:
    """Evaluate every trigger on ``row``; returns the ids of incidents opened."""
    fired, opened = [], []
    for trigger in run.policy.active_triggers():
        if row.role not in trigger.roles or (trigger.task and trigger.task != ref.task):
            continue
        condition = run.condition(trigger)
        firing = condition.check(_history(run, s, row, condition.consecutive))
        if not firing.fired:
            continue
        fired.append(trigger.name)
        outcome = record_firing(
            s,
            model=model,
            version=row.version,
            role=row.role,
            trigger=trigger,
            start=utc(row.window_start),
            seconds=run.seconds,
            observed=checks.clean(firing.observed),
            owner=ref.owner,
            actions=actions.plan(trigger, run.policy),
            actor=run.actor,
            now=datetime.now(UTC),
        )
        if outcome is None:
            continue
        incident, new = outcome
        if new:
            opened.append(incident.id)
            run.summary.incidents_opened.append(incident.id)
        else:
            run.summary.incidents_updated.append(incident.id)
    if sorted(fired) != sorted(row.results.get("fired") or []):
        row.results = {**row.results, "fired": fired}
    return opened


def _run_actions(run: _Run, opened: list[int]) -> None:
    for incident_id in opened:
        run.summary.actions += actions.run_pending(run.ws, incident_id, run.policy, run.actor)


# --------------------------------------------------------------------------- late labels
def _refresh_labels(run: _Run, model_id: int, name: str, as_of: datetime) -> None:
    """Recompute performance of recent windows whose predictions got labels since."""
    seconds = run.seconds
    since = window_start(run.now - run.settings.label_lookback, seconds)
    with run.ws.db.session() as s:
        rows = s.execute(
            select(
                MonitorWindow.id,
                MonitorWindow.version,
                MonitorWindow.role,
                MonitorWindow.window_start,
                MonitorWindow.results,
            ).where(
                MonitorWindow.model_id == model_id,
                MonitorWindow.window_seconds == seconds,
                MonitorWindow.window_start >= since,
                MonitorWindow.role.in_(ROLES),
            )
        ).all()
    stale = []
    for wid, version, role, start, results in rows:
        stamp = ((results or {}).get("performance") or {}).get("labels_as_of")
        seen = utc(datetime.fromisoformat(stamp)) if stamp else None
        if seen is None or seen < as_of:
            stale.append((wid, version, role, utc(start), seen))
    if not stale:
        return
    oldest_seen = min((x[4] for x in stale if x[4] is not None), default=None)
    first = min(x[3] for x in stale)
    newest = _newest_labels(run, name, first, oldest_seen)
    stale.sort(key=lambda x: (x[3], _ROLE_ORDER.get(x[2], 9), x[1]))
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
        labelled = _labelled_frames(run, name, chunk[0][3], chunk[-1][3] + step)
        for wid, version, role, start in chunk:
            frame = labelled.get((version, role, start), _NO_LABELS)
            _recompute(run, model_id, wid, frame, as_of)
        i += len(chunk)
    if bump:
        with run.ws.db.session() as s:
            for row in s.scalars(select(MonitorWindow).where(MonitorWindow.id.in_(bump))).all():
                perf = dict(row.results.get("performance") or {})
                perf["labels_as_of"] = as_of.isoformat()
                row.results = {**row.results, "performance": perf}


def _newest_labels(
    run: _Run, name: str, first: datetime, after: datetime | None
) -> dict[tuple[int, str, datetime], datetime]:
    """(version, role, window start) -> newest label time, for labels newer than ``after``."""
    lazy = run.labels.scan_labelled(name, since=first).filter(pl.col("labelled_at").is_not_null())
    if after is not None:
        lazy = lazy.filter(pl.col("labelled_at") > after)
    micro = run.seconds * 1_000_000
    frame = (
        lazy.with_columns(((pl.col("ts").dt.epoch("us") // micro) * micro).alias("_start"))
        .group_by("version", "role", "_start")
        .agg(pl.col("labelled_at").max().alias("_newest"))
        .collect(engine="streaming")
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return {
        (int(v), str(r), epoch + timedelta(microseconds=int(st))): utc(n)
        for v, r, st, n in frame.iter_rows()
    }


def _recompute(run: _Run, model_id: int, wid: int, frame: pl.DataFrame, as_of: datetime) -> None:
    """Recompute one stored window's performance from ``frame`` and re-evaluate its triggers."""
    with run.ws.db.session() as s:
        version = s.scalar(select(MonitorWindow.version).where(MonitorWindow.id == wid))
    if version is None:
        return
    ref = run.reference(model_id, version)  # may load the model: no transaction open
    opened: list[int] = []
    with run.ws.db.session() as s:
        row = s.get(MonitorWindow, wid)
        if row is None:
            return
        role, start = row.role, utc(row.window_start)
        res = dict(row.results)
        section, values = checks.performance(frame, ref, row.n_predictions, run.policy)
        _set_performance(res, section, values, as_of)
        if role != "production":
            mine = WindowProfile.loads(row.profile) if row.profile else None
            _set_comparison(run, res, mine, _stored_production(run, s, model_id, start))
        row.results = checks.clean(res)
        row.n_labelled = int(section["n_labelled"])
        row.computed_at = datetime.now(UTC)
        s.flush()
        opened = _fire(run, s, s.get(Model, model_id), row, ref)  # type: ignore[arg-type]
    run.summary.refreshed += 1
    _run_actions(run, opened)


__all__ = ["EMPTY_ROLE", "RunSummary", "run_forever", "run_once"]

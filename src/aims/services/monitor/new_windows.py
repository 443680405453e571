"""Computing the windows of one model that have closed since the last pass (and, on request, the open one).

For each model, the closed windows (per version) that have log data and no
stored results are found, each window's log is streamed once into a profile
per role, and the checks run. A served role that logged nothing in a window
but had traffic one volume baseline earlier gets a window of zero
predictions, so that an outage reaches the volume trigger. The results of
all roles of a window, the triggers that fired and the incidents they opened
are written in one transaction: a monitor killed mid-run resumes at the
first window it had not committed, and a re-run finds them stored.

A *provisional* window is a window computed before it is final (``--now``):
the open one, and one that has ended but is still in its grace period. Stored
with ``"provisional": true``, it fires no trigger and is replaced by the final
window once the window closes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from sqlalchemy.orm import Session

from aims.core.windowing import window_start, windows_of_hour
from aims.services import window_drift
from aims.services.monitor import checks, window_store
from aims.services.monitor.context import (
    EMPTY_ROLE,
    ROLE_ORDER,
    SERVED_ROLES,
    UNREAD,
    MonitorPass,
)
from aims.services.monitor.firing import fire, run_actions
from aims.services.monitor.late_labels import (
    LABEL_CHUNK,
    Labelled,
    labelled_frames,
    latest_label,
    refresh_labels,
)
from aims.services.monitor.window_results import (
    NO_LABELS,
    results,
    set_comparison,
    set_performance,
)
from aims.services.monitor.windows import WindowProfile, pending_windows, profile_windows
from aims.storage.schema import Model, ModelVersion

log = logging.getLogger("aims.monitor")


@dataclass(frozen=True)
class ModelScan:
    """What the pass found for one model: the log hours it looked at and the windows it computed."""

    hours: list[datetime]
    computed: int


def run_model(
    run: MonitorPass, model_id: int, name: str, *, provisional: bool = False
) -> ModelScan:
    """Compute every closed window of ``name`` not stored yet, then refresh late labels.

    With ``provisional`` the windows not final yet are computed too, as provisional windows.
    """
    seconds = run.seconds
    since = window_start(run.now - run.settings.lookback, seconds)
    parts = run.reader.partitions(name, since=since)
    with run.ws.db.session() as s:
        done = window_store.computed(s, model_id, seconds, since)
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
    before = run.summary.windows
    labels_as_of = latest_label(run, name)
    for chunk in _chunks(list(pending), step):
        profiles = _profiles(run, model_id, name, {s: pending[s] for s in chunk})
        first, until = chunk[0], chunk[-1] + step
        labelled = labelled_frames(run, name, first, until) if labels_as_of is not None else None
        for start in chunk:
            mine = {(v, r): p for (v, st, r), p in profiles.items() if st == start}
            _compute_window(run, model_id, start, pending[start], mine, labels_as_of, labelled)
    if labels_as_of is not None:
        refresh_labels(run, model_id, name, labels_as_of)
    if provisional:
        hours = [(p.version, p.hour) for p in parts]
        # Every window not final yet: the open one, and one that has ended but is still in
        # its grace period (its late predictions may yet arrive).
        start = window_start(run.now - run.settings.grace, seconds)
        while start <= run.now:
            _compute_provisional(run, model_id, name, start, hours)
            start += step
    return ModelScan([p.hour for p in parts], run.summary.windows - before)


def _profiles(
    run: MonitorPass, model_id: int, name: str, pending: dict[datetime, list[int]]
) -> dict[tuple[int, datetime, str], WindowProfile]:
    """One pass over the log of the windows ``pending`` (start -> versions): a profile per role."""
    step = timedelta(seconds=run.seconds)
    first, until = min(pending), max(pending) + step
    profiles: dict[tuple[int, datetime, str], WindowProfile] = {}
    for version in sorted({v for versions in pending.values() for v in versions}):
        wanted = {start for start, versions in pending.items() if version in versions}
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
            seconds=run.seconds,
            wanted=wanted,
        )
        profiles.update({(version, start, role): p for (start, role), p in found.items()})
    return profiles


def _compute_provisional(
    run: MonitorPass, model_id: int, name: str, start: datetime, parts: list[tuple[int, datetime]]
) -> None:
    """Store provisional results of the window from ``start`` (versions with log data in it)."""
    versions = sorted({v for v, hour in parts if start in windows_of_hour(hour, run.seconds)})
    if not versions:
        return
    profiles = _profiles(run, model_id, name, {start: versions})
    mine = {(v, r): p for (v, _, r), p in profiles.items()}
    if not mine:
        return
    labels_as_of = latest_label(run, name)
    labelled = None
    if labels_as_of is not None:
        labelled = labelled_frames(run, name, start, start + timedelta(seconds=run.seconds))
    _compute_window(run, model_id, start, [], mine, labels_as_of, labelled, provisional=True)


def _quiet_windows(
    run: MonitorPass, model_id: int, pending: dict[datetime, list[int]], first: datetime
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
        busy = window_store.busy_starts(
            s, model_id, run.seconds, SERVED_ROLES, first - baseline, last - baseline
        )
    busy |= set(pending)
    return sorted(
        {
            t + baseline
            for t in busy
            if first <= t + baseline <= last and t + baseline not in pending
        }
    )


def _baseline_rows(
    run: MonitorPass, s: Session, model_id: int, role: str, start: datetime
) -> int | None:
    """Predictions of ``role`` in the same window one baseline period (a week) earlier."""
    then = start - run.policy.volume_baseline
    return window_store.predictions_of_role(s, model_id, role, run.seconds, then)


def _silent_roles(
    run: MonitorPass, model_id: int, start: datetime, profiles: dict[tuple[int, str], WindowProfile]
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


def _chunks(starts: list[datetime], step: timedelta) -> list[list[datetime]]:
    """Consecutive runs of at most ``LABEL_CHUNK`` windows' span."""
    out: list[list[datetime]] = []
    for start in starts:
        if out and start < out[-1][0] + step * LABEL_CHUNK:
            out[-1].append(start)
        else:
            out.append([start])
    return out


def _stored_production(
    run: MonitorPass, s: Session, model_id: int, start: datetime
) -> tuple[dict[str, Any], WindowProfile | None] | None:
    row = window_store.production_window(s, model_id, run.seconds, start)
    if row is None:
        return None
    return row.results, (WindowProfile.loads(row.profile) if row.profile else None)


def _compute_window(
    run: MonitorPass,
    model_id: int,
    start: datetime,
    versions: list[int],
    profiles: dict[tuple[int, str], WindowProfile],
    labels_as_of: datetime | None,
    labelled: Labelled | None,
    *,
    provisional: bool = False,
) -> None:
    """Store the results of every role of ``versions`` in window ``start``; fire triggers.

    A provisional window fires nothing, gets no outage or empty markers (the
    window is not over) and replaces the previous provisional results.
    """
    seconds = run.seconds
    if not provisional:
        profiles = {**profiles, **_silent_roles(run, model_id, start, profiles)}
    refs = {v: run.reference(model_id, v) for v in {*versions, *(k[0] for k in profiles)}}
    empty = [v for v in versions if not any(k[0] == v for k in profiles)]
    order = sorted(profiles, key=lambda k: (ROLE_ORDER.get(k[1], 9), k[0]))
    opened: list[int] = []
    try:
        with run.ws.db.session() as s:
            model = s.get(Model, model_id)
            found: dict[tuple[int, str], dict[str, Any]] = {}
            for version, role in order:
                ref = refs[version]
                prof = profiles[(version, role)]
                baseline = _baseline_rows(run, s, model_id, role, start)
                res = results(run, ref, prof, role, start, baseline)
                if labels_as_of is not None and labelled is not None:
                    frame = labelled.get((version, role, start), NO_LABELS)
                    section, values = checks.performance(frame, ref, prof.rows, run.policy)
                    set_performance(res, section, values, labels_as_of)
                if provisional:
                    res["provisional"] = True
                found[(version, role)] = res
            production: tuple[dict[str, Any], WindowProfile | None] | None
            prods = [k for k in order if k[1] == "production"]
            if prods:
                best = max(prods, key=lambda k: profiles[k].rows)
                production = (found[best], profiles[best])
            else:
                production = _stored_production(run, s, model_id, start)
            for key in order:
                if key[1] != "production":
                    set_comparison(run, found[key], profiles[key], production)
            window_store.drop_provisional(s, model_id, seconds, start)
            rows = []
            for key in order:
                res = checks.clean(found[key])
                rows.append(
                    window_store.add_window(
                        s,
                        model_id=model_id,
                        version=key[0],
                        role=key[1],
                        start=start,
                        seconds=seconds,
                        n_predictions=profiles[key].rows,
                        n_labelled=int(res["performance"]["n_labelled"]),
                        results=res,
                        profile=profiles[key].dumps(),
                    )
                )
            for version in empty:
                window_store.add_window(
                    s,
                    model_id=model_id,
                    version=version,
                    role=EMPTY_ROLE,
                    start=start,
                    seconds=seconds,
                    n_predictions=0,
                    n_labelled=0,
                    results={"empty": True},
                    profile=None,
                )
            s.flush()
            if not provisional:
                for row in rows:
                    opened += fire(run, s, model, row, refs[row.version])
    except DBIntegrityError:
        # Another monitor stored this window first; its results stand.
        log.info("monitor: model %s window %s already stored by another run", model_id, start)
        return
    # The dashboard's drift cache, written now rather than on the first view.
    window_drift.remember(run.ws, rows)
    if provisional:
        run.summary.provisional += len(order)
        return
    run.summary.windows += len(order)
    run_actions(run, opened)


__all__ = ["ModelScan", "run_model"]

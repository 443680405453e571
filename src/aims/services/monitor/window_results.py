"""The results of one window of one version and role: the checks' sections and the figures triggers read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from aims.services.monitor import checks
from aims.services.monitor.context import MonitorPass
from aims.services.monitor.reference import Reference
from aims.services.monitor.windows import WindowProfile

#: The frame of a window with no labelled predictions.
NO_LABELS = pl.DataFrame(schema={"prediction": pl.String, "label": pl.String})


def results(
    run: MonitorPass,
    ref: Reference,
    prof: WindowProfile,
    role: str,
    start: datetime,
    baseline: int | None,
) -> dict[str, Any]:
    """Every check of one window's profile, as the JSON stored in ``monitor_windows.results``."""
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


def set_performance(
    res: dict[str, Any], section: dict[str, Any], values: dict[str, Any], as_of: datetime
) -> None:
    """Replace the performance section (and its figures) of ``res`` in place."""
    old = (res.get("performance") or {}).get("values") or {}
    res["values"] = {k: v for k, v in res["values"].items() if k not in old}
    res["values"].update(values)
    res["performance"] = {**section, "values": values, "labels_as_of": as_of.isoformat()}


def set_comparison(
    run: MonitorPass,
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


__all__ = ["NO_LABELS", "results", "set_comparison", "set_performance"]

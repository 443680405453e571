"""The stored monitoring windows (``monitor_windows``): every query of them lives in this package.

A stored window is the result of one model version and role over one
window of time. It is *final* once its window closed and the monitor
computed it; a *provisional* window (``aims monitor run --now``) holds the
figures of a window still open, is marked ``"provisional": true`` in its
results, never fires a trigger, and is replaced by the final window when the
window closes. Queries that feed triggers, baselines and late labels read
final windows only; queries that feed what people look at return both and
let the caller show the mark.

Writing and reads by id are in :mod:`.rows`, the monitor's reads of final
windows in :mod:`.final`, and the reads behind what people look at in
:mod:`.views`; all are importable from here. Every function takes an open
session; the caller owns the transaction.
"""

from aims.services.monitor.window_store._flags import SHOWN_ROLES, final_only, is_provisional
from aims.services.monitor.window_store.final import (
    busy_starts,
    computed,
    earlier_windows,
    labelled_candidates,
    predictions_of_role,
    production_window,
)
from aims.services.monitor.window_store.rows import (
    add_window,
    drop_provisional,
    version_of,
    window,
    windows_by_id,
)
from aims.services.monitor.window_store.views import (
    VersionWindows,
    current_windows,
    latest_final_everywhere,
    latest_of_version,
    latest_production_window,
    latest_profiled,
    latest_windows,
    recent_windows,
    role_series,
    version_windows,
    window_at,
)

__all__ = [
    "SHOWN_ROLES",
    "VersionWindows",
    "add_window",
    "busy_starts",
    "computed",
    "current_windows",
    "drop_provisional",
    "earlier_windows",
    "final_only",
    "is_provisional",
    "labelled_candidates",
    "latest_final_everywhere",
    "latest_of_version",
    "latest_production_window",
    "latest_profiled",
    "latest_windows",
    "predictions_of_role",
    "production_window",
    "recent_windows",
    "role_series",
    "version_of",
    "version_windows",
    "window",
    "window_at",
    "windows_by_id",
]

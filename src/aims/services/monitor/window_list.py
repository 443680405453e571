"""The newest stored window results of a model, as ``aims monitor windows`` shows them.

One document for the command line and the HTTP API
(``GET /v1/models/{name}/windows``), so both render the same rows.
"""

from __future__ import annotations

from typing import Any

from aims.services.monitor import window_store
from aims.services.registry import get_model

__all__ = ["window_rows"]


def window_rows(
    ws: Any, name: str, *, version: int | None = None, role: str | None = None, limit: int = 24
) -> list[dict[str, Any]]:
    """The newest ``limit`` window results of model ``name``, newest first.

    A window still open, computed by ``aims monitor run --now``, is marked
    ``provisional`` until the monitor recomputes it once the window closes.
    """
    with ws.db.session() as s:
        found = get_model(s, name)
        rows = window_store.recent_windows(s, found.id, version=version, role=role, limit=limit)
        return [
            {
                "window_start": r.results.get("window", {}).get("start"),
                "version": r.version,
                "role": r.role,
                "provisional": window_store.is_provisional(r.results),
                "predictions": r.n_predictions,
                "labelled": r.n_labelled,
                "values": r.results.get("values", {}),
                "fired": r.results.get("fired", []),
            }
            for r in rows
        ]

"""The inventory's row of an LLM application shows its newest monitoring window."""

from __future__ import annotations

from datetime import UTC, datetime

from aims.services import llm_apps
from aims.services.inventory_view import InventoryQuery, inventory_page
from aims.services.monitor import window_store
from aims.services.monitor.llm_policy import LLM_ROLE
from aims.storage.schema import Model
from tests.services.llm_fixtures import write_app


def _window(ws, model_id: int, version: int, start: datetime, role: str = LLM_ROLE) -> None:
    with ws.db.session() as s:
        window_store.add_window(
            s,
            model_id=model_id,
            version=version,
            role=role,
            start=start,
            seconds=3600,
            n_predictions=5,
            n_labelled=0,
            results={"kind": "llm", "rows": 5},
            profile=None,
        )
        s.commit()


def _rows(ws) -> dict[str, dict]:
    page = inventory_page(ws, None, InventoryQuery.parse({}))
    return {r["name"]: r for r in page["rows"]}


def test_the_last_window_of_an_llm_application_is_its_newest_llm_window(workspace, tmp_path):
    path = write_app(tmp_path / "apps", "geo", "You answer questions about cities.")
    for _ in range(2):
        llm_apps.register_app(workspace, path, "geo-agent", actor="ana@x.org")
    with workspace.db.session() as s:
        model_id = s.query(Model.id).filter(Model.name == "geo-agent").scalar()
    assert _rows(workspace)["geo-agent"]["last_window"] is None  # nothing monitored yet
    first, newest = datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 1, 11, tzinfo=UTC)
    _window(workspace, model_id, 1, newest)  # an older version's traffic can be the newest
    _window(workspace, model_id, 2, first)
    # A window of another role is not the application's monitoring.
    _window(workspace, model_id, 2, datetime(2026, 3, 2, tzinfo=UTC), role="production")
    row = _rows(workspace)["geo-agent"]
    assert row["kind"] == "llm-application"
    assert row["last_window"] == newest

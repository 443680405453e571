"""Moving a workspace to team mode keeps its history: nothing in the chain is rewritten."""

from __future__ import annotations

from sqlalchemy import select

from aims.services import audit, identity, keys, registry
from aims.services.governance import approve
from aims.services.team_mode import enable_team
from aims.storage.schema import AuditEvent

NEW_ACTIONS = {"principal.add", "apikey.attach", "principal.grant", "identity.team_enable"}


def test_team_enable_appends_and_never_rewrites(workspace, cancer_files) -> None:
    ws = workspace
    registry.register_dataset(ws, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        ws, cancer_files["model"], "c", actor="ana@x.org", datasets=["cancer@1"]
    )
    keys.create_key(ws, project="default", role="predictor", actor="ana@x.org")
    approve(ws, "c@1", actor="bo@x.org")
    before = audit.query(ws.db)
    assert audit.verify(ws.db).ok
    out = enable_team(ws, actor="root@x.org")
    after = audit.query(ws.db)
    # The same events, byte for byte (sequence, hashes, payloads), then only new ones.
    assert after[: len(before)] == before
    added = after[len(before) :]
    assert [e["seq"] for e in added] == list(range(len(before) + 1, len(after) + 1))
    assert {e["action"] for e in added} <= NEW_ACTIONS
    assert added[-1]["action"] == "identity.team_enable"
    with ws.db.session() as s:
        first_new = s.scalars(select(AuditEvent).where(AuditEvent.seq == added[0]["seq"])).one()
        assert first_new.prev_hash == before[-1]["hash"]
    report = audit.verify(ws.db)
    assert report.ok and report.n_events == len(before) + len(added)
    names = {p["name"] for p in identity.list_principals(ws)}
    assert {"ana@x.org", "bo@x.org", "root@x.org"} <= names
    assert len(out["keys"]) == 1

"""Promotion requests: proposed by anyone (an import, an agent), decided by a person through the gates."""

from __future__ import annotations

import pytest

from aims.errors import Conflict, GateFailed, InvalidInput, NotFound
from aims.services import registry
from aims.services.audit import query
from aims.services.promotion_requests import decide, list_requests, open_request


@pytest.fixture
def registered(workspace, cancer_files):
    registry.register_dataset(workspace, cancer_files["data"], "cancer", actor="ana@x.org")
    registry.register_model(
        workspace, cancer_files["model"], "churn", actor="ana@x.org", datasets=["cancer@1"]
    )
    return workspace


def test_a_proposal_is_opened_once_and_moves_nothing(registered) -> None:
    ws = registered
    first, new = open_request(
        ws, "churn@1", "production", requested_by="retrainer", source="agent:retrainer"
    )
    again, new_again = open_request(
        ws, "churn@1", "production", requested_by="retrainer", source="agent:retrainer"
    )
    assert (new, new_again, again["id"]) == (True, False, first["id"])
    assert (first["status"], first["version_stage"]) == ("open", "registered")
    other, _ = open_request(ws, "churn@1", "staging", requested_by="bo@x.org", source="person")
    assert [r["id"] for r in list_requests(ws)] == [first["id"], other["id"]]
    assert list_requests(ws, model="other") == []
    opened = [e for e in query(ws.db) if e["action"] == "promotion_request.open"]
    assert [e["payload"]["source"] for e in opened] == ["agent:retrainer", "person"]


def test_approval_runs_the_gates_and_refusal_closes(registered) -> None:
    ws = registered
    req, _ = open_request(ws, "churn@1", "production", requested_by="a", source="agent:a")
    # The open test policy has no rules, but production needs its owners.
    with pytest.raises(GateFailed) as refused:
        decide(ws, req["id"], actor="bo@x.org", approve=True)
    assert "owners.monitoring" in refused.value.rules
    assert list_requests(ws, status="open")[0]["id"] == req["id"]

    registry.set_owners(
        ws, "churn", {"deployment": "d@x.org", "monitoring": "m@x.org"}, actor="ana@x.org"
    )
    done = decide(ws, req["id"], actor="bo@x.org", approve=True)
    assert (done["status"], done["version_stage"]) == ("approved", "production")
    with pytest.raises(Conflict, match="already approved"):
        decide(ws, req["id"], actor="bo@x.org", approve=True)

    staging, _ = open_request(ws, "churn@1", "staging", requested_by="a", source="agent:a")
    out = decide(ws, staging["id"], actor="bo@x.org", approve=False, note="in production now")
    assert (out["status"], out["decision_note"]) == ("refused", "in production now")
    assert [r["status"] for r in list_requests(ws)] == ["approved", "refused"]


def test_bad_proposals_are_refused_with_the_way_forward(registered) -> None:
    ws = registered
    with pytest.raises(InvalidInput, match="staging, production, not 'canary'"):
        open_request(ws, "churn@1", "canary", requested_by="a", source="agent:a")
    with pytest.raises(InvalidInput, match="needs a source"):
        open_request(ws, "churn@1", "staging", requested_by="a", source=" ")
    with pytest.raises(InvalidInput, match="propose a version number"):
        open_request(ws, "churn@latest", "staging", requested_by="a", source="agent:a")
    with pytest.raises(NotFound, match="no version 9"):
        open_request(ws, "churn@9", "staging", requested_by="a", source="agent:a")
    with pytest.raises(NotFound, match="promotion request 3 does not exist"):
        decide(ws, 3, actor="bo@x.org", approve=False)
    assert list_requests(ws) == []

"""What the list pages accept in their addresses, and the clear refusal of anything else."""

from __future__ import annotations

import pytest

from aims.errors import InvalidInput
from aims.services.audit_view import AuditQuery
from aims.services.incident_view import IncidentQuery
from aims.services.inventory_view import InventoryQuery


def test_an_inventory_query_keeps_its_choices_in_its_links() -> None:
    q = InventoryQuery.parse({"q": " fraud ", "health": "red", "sort": "name", "page": "2"})
    assert (q.q, q.health, q.sort, q.order, q.page, q.size) == (
        "fraud",
        "red",
        "name",
        "asc",
        2,
        50,
    )
    assert q.sorted_by("name") == "?q=fraud&health=red&sort=name&order=desc"  # the other way
    assert q.sorted_by("tier") == "?q=fraud&health=red&sort=tier"  # back to page 1
    assert InventoryQuery().link() == "?"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"health": "purple"}, "health must be one of red, amber, green, not 'purple'"),
        ({"sort": "colour"}, "sort must be one of attention, health, name"),
        ({"page": "0"}, "page must be a whole number of at least 1, not '0'"),
        ({"size": "7"}, "size must be one of 25, 50, 100, 200, not 7"),
        ({"owner": "x"}, "unknown inventory parameter 'owner'"),
    ],
)
def test_a_wrong_inventory_parameter_is_named(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        InventoryQuery.parse(params)


def test_an_audit_query_pages_by_event_number_with_its_filters() -> None:
    q = AuditQuery.parse({"actor": "ana@example.org", "action": "model.*", "size": "100"})
    assert q.link(before=900) == "?actor=ana%40example.org&action=model.%2A&size=100&before=900"
    assert q.bounds_of_time() == (None, None)
    since, until = AuditQuery.parse({"since": "2026-03-01", "until": "2026-03-01"}).bounds_of_time()
    assert (until - since).days == 1  # a date as the end includes that whole day


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since must be a date or a time such as 2026-03-01"),
        ({"before": "abc"}, "before must be an event number"),
        ({"before": "5", "after": "2"}, "give before or after, not both"),
        ({"size": "1000"}, "size must be one of 25, 50, 100, 200"),
        ({"limit": "5"}, "unknown audit log parameter 'limit'"),
    ],
)
def test_a_wrong_audit_parameter_is_named(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        AuditQuery.parse(params)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "closed"}, "status must be one of active, open, acked, resolved, all"),
        ({"severity": "huge"}, "severity must be one of critical, high, medium, low"),
        ({"until": "31/12/2026"}, "until must be a date or a time"),
        ({"after": "#3"}, "after must be an incident number"),
        ({"size": "7"}, "size must be one of 25, 50, 100, 200"),
        ({"format": "csv"}, "unknown incidents parameter 'format'"),
    ],
)
def test_a_wrong_incidents_parameter_is_named(params: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        IncidentQuery.parse(params)


def test_both_lists_read_their_query_with_one_parser() -> None:
    # Cut to length, stripped, the default page size; an export's extra parameter let through.
    long = "x" * 300
    audit = AuditQuery.parse({"actor": f"  {long} ", "format": "csv"}, extra=("format",))
    assert audit.actor == "x" * 200 and audit.size == 50
    incidents = IncidentQuery.parse({"owner": long, "after": "12", "size": "25"})
    assert incidents.owner == "x" * 200 and incidents.after == 12 and incidents.size == 25
    assert incidents.status == "all"

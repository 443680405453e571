"""The contract object: thresholds, durations, restriction, aims properties."""

from __future__ import annotations

import datetime as dt

import pytest

from aims.core.contract import (
    Column,
    Contract,
    Freshness,
    QualityRule,
    Table,
    Threshold,
    label_column,
    pii_columns,
    sensitive_columns,
)
from aims.core.contract.model import duration, parse_duration
from aims.errors import InvalidInput


@pytest.mark.parametrize(
    ("operator", "value", "x", "holds"),
    [
        ("mustBe", 0, 0, True),
        ("mustNotBe", 0, 0, False),
        ("mustBeGreaterThan", 5, 5, False),
        ("mustBeGreaterOrEqualTo", 5, 5, True),
        ("mustBeLessThan", 5, 5, False),
        ("mustBeLessOrEqualTo", 5, 5, True),
        ("mustBeBetween", (1, 3), 3, True),
        ("mustNotBeBetween", (1, 3), 2, False),
    ],
)
def test_threshold(operator, value, x, holds):
    assert Threshold(operator, value).holds(x) is holds


def test_allows_none_depends_on_the_unit():
    assert Threshold("mustBeLessThan", 1).allows_none("rows")
    assert not Threshold("mustBeLessThan", 1).allows_none("percent")
    assert not Threshold("mustBeLessOrEqualTo", 2).allows_none("rows")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("24h", 86400), ("2d", 172800), ("1w", 604800)]
)
def test_durations(text, seconds):
    value, unit = parse_duration(text)
    assert duration(value, unit).total_seconds() == seconds


def test_bad_durations():
    with pytest.raises(InvalidInput, match="unknown time unit"):
        duration(1, "fortnight")
    with pytest.raises(InvalidInput, match="positive"):
        duration(0, "d")


def make() -> Contract:
    cols = [
        Column("a", "integer"),
        Column("b", "string", pii="drop"),
        Column("c", "timestamp", sensitive=True),
        Column("y", "boolean", label=True),
    ]
    table = Table(
        "t",
        cols,
        quality=[
            QualityRule(
                "duplicateValues", Threshold("mustBe", 0), arguments={"properties": ["a", "b"]}
            ),
            QualityRule("rowCount", Threshold("mustBeGreaterThan", 0)),
        ],
    )
    fresh = Freshness(None, "c", dt.timedelta(days=1), 1, "d")
    return Contract("t", [table], freshness=[fresh])


def test_helpers():
    c = make()
    assert label_column(c) == "y"
    assert sensitive_columns(c) == ["c"]
    assert pii_columns(c) == {"b": "drop"}


def test_two_labels_are_an_error():
    c = make()
    c.column("a").label = True
    with pytest.raises(InvalidInput, match="2 label columns"):
        label_column(c)


def test_restrict_drops_rules_on_dropped_columns():
    c = make()
    small = c.restrict(["a", "y"])
    assert small.table().names == ["a", "y"]
    assert [q.metric for q in small.table().quality] == ["rowCount"]
    assert small.freshness == []
    assert c.table().names == ["a", "b", "c", "y"]  # the original is untouched
    with pytest.raises(InvalidInput, match="no column\\(s\\) 'z'"):
        c.restrict(["a", "z"])


def test_table_selection():
    c = Contract("two", [Table("x"), Table("y")])
    assert c.table("y").name == "y"
    with pytest.raises(InvalidInput, match="several tables"):
        c.table()
    with pytest.raises(InvalidInput, match="no table 'z'"):
        c.table("z")

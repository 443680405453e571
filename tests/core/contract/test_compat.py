"""Narrowing of input contracts: what a new version would refuse that the old one accepted."""

from __future__ import annotations

from aims.core.contract import validate_records
from aims.core.contract.compat import narrowings
from aims.core.contract.model import Column, Contract, Table
from aims.core.contract.records import RecordValidator
from aims.core.contract.severity import set_severity


def _contract(*columns: Column) -> Contract:
    return Contract("m", [Table("m", list(columns))])


def test_widening_and_dropping_refuse_nothing() -> None:
    old = _contract(
        Column("age", "integer", required=True, minimum=18, maximum=90),
        Column("city", "string", allowed_values=["Oslo", "Rome"]),
        Column("gone", "number"),
    )
    new = _contract(
        Column("age", "number", minimum=0),
        Column("city", "string", allowed_values=["Oslo", "Rome", "Pisa"]),
    )
    assert narrowings(old, new) == []


def test_each_narrowing_is_named() -> None:
    old = _contract(
        Column("age", "number", minimum=0, maximum=120),
        Column("city", "string", allowed_values=["Oslo", "Rome"]),
        Column("code", "string", max_length=8),
    )
    new = _contract(
        Column("age", "integer", required=True, minimum=18, maximum=120),
        Column("city", "string", allowed_values=["Oslo"]),
        Column("code", "string", max_length=4, pattern="^[A-Z]+$"),
        Column("region", "string"),
        Column("late", "boolean", required=True, label=True),
    )
    found = {(n.field, n.rule): n.describe() for n in narrowings(old, new)}
    assert found == {
        ("age", "type"): "age: type number -> integer",
        ("age", "required"): "age: required null allowed -> a value required",
        ("age", "range"): "age: range [0, 120] -> [18, 120]",
        ("city", "allowed values"): "city: allowed values {Oslo, Rome} -> {Oslo}",
        ("code", "length"): "code: length [0, 8] -> [0, 4]",
        ("code", "pattern"): "code: pattern none -> ^[A-Z]+$",
        ("region", "new field"): "region: new field absent -> present (null allowed)",
    }


def test_a_warning_range_narrows_nothing_and_refuses_nothing() -> None:
    age = Column("age", "integer", minimum=18, maximum=90)
    set_severity(age, "range", "warn")
    old, new = _contract(Column("age", "integer")), _contract(age)
    assert narrowings(old, new) == []
    assert validate_records(new, [{"age": 5}]) == []
    (warning,) = RecordValidator(new).check([{"age": 5}])
    assert (warning.rule, warning.severity) == ("range", "warn")
    # A type failure still refuses.
    assert [e.rule for e in validate_records(new, [{"age": "five"}])] == ["type"]

"""Online validation of request records."""

from __future__ import annotations

import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aims.core.contract import (
    Column,
    Contract,
    QualityRule,
    RecordValidator,
    Table,
    Threshold,
    check_contract,
    infer_contract,
    validate_records,
)
from aims.errors import InvalidInput


def contract() -> Contract:
    return Contract(
        "req",
        [
            Table(
                "req",
                [
                    Column("age", "integer", required=True, minimum=18, maximum=99),
                    Column("income", "number", minimum=0),
                    Column("city", "string", allowed_values=["Oslo", "Rome"]),
                    Column(
                        "code",
                        "string",
                        min_length=2,
                        max_length=4,
                        quality=[
                            QualityRule(
                                "invalidValues",
                                Threshold("mustBe", 0),
                                arguments={"pattern": "^[A-Z]+$"},
                            )
                        ],
                    ),
                    Column("seen_at", "timestamp", exclusive_maximum="2030-01-01T00:00:00Z"),
                    Column("ok", "boolean", label=True, required=True),
                ],
            )
        ],
    )


GOOD = {"age": 30, "income": 1.5, "city": "Oslo", "code": "AB", "seen_at": "2025-01-01T10:00:00Z"}


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("age", None, "required"),
        ("age", float("nan"), "required"),
        ("age", "30", "type"),
        ("age", True, "type"),
        ("age", 30.5, "type"),
        ("age", 17, "range"),
        ("income", float("inf"), "finite"),
        ("income", -0.01, "range"),
        ("income", "1.5", "type"),
        ("city", "Paris", "allowed_values"),
        ("code", "A", "length"),
        ("code", "ab", "pattern"),
        ("seen_at", "yesterday", "type"),
        ("seen_at", "2030-01-01T00:00:00+00:00", "range"),
    ],
)
def test_each_rule(field, value, rule):
    errors = validate_records(contract(), [GOOD, {**GOOD, field: value}])
    assert [(e.row, e.field, e.rule) for e in errors] == [(1, field, rule)]
    assert field in errors[0].message


def test_valid_values_pass():
    records = [
        GOOD,
        {**GOOD, "age": 30.0, "income": None, "city": None, "code": None, "seen_at": None},
        {**GOOD, "income": float("nan"), "seen_at": "2025-01-01"},
    ]
    assert validate_records(contract(), records) == []


def test_missing_field_and_label():
    record = dict(GOOD)
    del record["city"]
    errors = validate_records(contract(), [record])
    assert [(e.field, e.rule) for e in errors] == [("city", "missing")]
    # The label is not expected in requests unless asked for.
    labelled = validate_records(contract(), [GOOD], include_label=True)
    assert [(e.field, e.rule) for e in labelled] == [("ok", "missing")]


def test_one_record_and_bad_input():
    assert validate_records(contract(), GOOD) == []
    with pytest.raises(InvalidInput, match="record 1 is a list"):
        validate_records(contract(), [GOOD, [1, 2]])


def test_errors_are_json_ready():
    (error,) = validate_records(contract(), [{**GOOD, "income": float("-inf")}])
    assert error.to_dict() == {
        "row": 0,
        "field": "income",
        "rule": "finite",
        "message": "income: -inf is not a finite number",
        "value": "-inf",
        "severity": "error",
    }


def test_small_batches_are_fast(frame):
    c = infer_contract(frame)
    records = frame.head(100).to_dicts()
    validator = RecordValidator(c)
    assert validator(records) == []
    start = time.perf_counter()
    for _ in range(20):
        validator(records)
    per_batch = (time.perf_counter() - start) / 20
    assert per_batch < 0.02  # 100 records x 8 fields; typically well under a millisecond


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)
row = st.fixed_dictionaries(
    {
        "age": st.one_of(st.none(), st.integers(0, 120)),
        "income": st.one_of(st.none(), finite),
        "city": st.one_of(st.none(), st.sampled_from(["Oslo", "Rome", "Paris"])),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=30))
def test_records_agree_with_the_batch_check(rows):
    # The same rules, applied per record and per batch, flag the same fields.
    c = contract().restrict(["age", "income", "city"])
    per_record = {(e.row, e.field) for e in validate_records(c, rows)}
    frame = pl.DataFrame(rows, schema={"age": pl.Int64, "income": pl.Float64, "city": pl.String})
    report = check_contract(c, frame, max_examples=len(rows))
    per_batch = {(e["row"], r.column) for r in report.failures for e in r.examples}
    assert per_record == per_batch
    for r in report.failures:
        assert r.failing_rows == len(r.examples)

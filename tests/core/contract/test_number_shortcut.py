"""The shortcut for numeric fields answers exactly as the full checks do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aims.core.contract import Column, Contract, RecordValidator, Table
from aims.core.contract import records as records_module

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.sampled_from([0, 1.5, -0.0, 10, 10.0, 9.999, -10]),
)
COLUMNS = [
    Column("n", "number", required=True, minimum=-10, maximum=10),
    Column("n", "number", exclusive_minimum=0, exclusive_maximum=10.0),
    Column("n", "number", allow_non_finite=True, minimum=0),
    Column("n", "integer", required=True, minimum=0, maximum=10),
    Column("n", "integer"),
    Column("n", "number"),
]


def _pair(column: Column) -> tuple[RecordValidator, RecordValidator]:
    """The column's validator, and one built with the shortcut turned off."""
    contract = Contract("t", [Table("t", [column])])
    fast = RecordValidator(contract)
    shortcut = records_module._number_shortcut
    records_module._number_shortcut = lambda col, check: None  # type: ignore[assignment]
    try:
        full = RecordValidator(contract)
    finally:
        records_module._number_shortcut = shortcut
    return fast, full


PAIRS = [_pair(c) for c in COLUMNS]


@pytest.mark.parametrize("pair", PAIRS, ids=range(len(PAIRS)))
@settings(max_examples=150, deadline=None)
@given(value=VALUES)
def test_the_shortcut_gives_what_the_full_checks_give(pair, value) -> None:
    fast, full = pair
    got = [e.to_dict() for e in fast.check([{"n": value}])]
    expected = [e.to_dict() for e in full.check([{"n": value}])]
    assert got == expected


def test_numeric_columns_take_the_shortcut() -> None:
    assert all(fast.fields[0][1] is not full.fields[0][1] for fast, full in PAIRS)
    assert all(fast.fields[0][1].__name__ == "shortcut" for fast, _ in PAIRS)


def test_a_column_with_other_rules_takes_no_shortcut() -> None:
    column = Column("n", "number", minimum=0, allowed_values=[1, 2])
    check = RecordValidator(Contract("t", [Table("t", [column])]))
    assert [e.rule for e in check([{"n": 3}])] == ["allowed_values"]
    assert records_module._number_shortcut(column, lambda v: None) is None

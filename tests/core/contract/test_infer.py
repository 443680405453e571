"""Inference: each inferred constraint against a hand-computed value."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from aims.core.contract import infer_contract
from aims.errors import InvalidInput
from tests.core.contract.conftest import CITIES, ROWS


def test_types_and_required(frame):
    c = infer_contract(frame)
    got = {col.name: (col.logical_type, col.required) for col in c.columns}
    assert got == {
        "id": ("integer", True),
        "age": ("integer", True),
        "income": ("number", True),
        "city": ("string", True),
        "email": ("string", True),
        "score": ("number", False),
        "event_time": ("timestamp", True),
        "defaulted": ("boolean", True),
    }
    assert c.column("event_time").physical_type == "Datetime(us)"
    assert c.column("income").physical_type == "Float64"


def test_ranges_widen_by_the_margin(frame):
    c = infer_contract(frame, margin=0.2)
    lo, hi = frame["age"].min(), frame["age"].max()
    pad = 0.2 * (hi - lo)
    assert (c.column("age").minimum, c.column("age").maximum) == (
        math.floor(lo - pad),
        math.ceil(hi + pad),
    )
    income = c.column("income")
    lo, hi = frame["income"].min(), frame["income"].max()
    # Never negative in the data, so the floor stays at zero.
    assert lo - 0.2 * (hi - lo) < 0 and income.minimum == 0
    assert hi + 0.2 * (hi - lo) <= income.maximum <= (hi + 0.2 * (hi - lo)) * (1 + 1e-5)
    assert c.column("event_time").minimum is None  # no range on time


def test_ranges_ignore_nan_and_mark_infinity():
    df = pl.DataFrame({"x": [1.0, float("nan"), 3.0, float("inf")]})
    col = infer_contract(df, margin=0).column("x")
    assert (col.minimum, col.maximum) == (1, 3)
    assert col.allow_non_finite and not col.required


def test_constant_column_gets_a_relative_margin():
    col = infer_contract(pl.DataFrame({"x": [50.0] * 10}), margin=0.1).column("x")
    assert (col.minimum, col.maximum) == (45, 55)


def test_categories_and_lengths(frame):
    c = infer_contract(frame)
    assert c.column("city").strict_allowed_values() == sorted(CITIES)
    email = c.column("email")
    assert email.strict_allowed_values() is None  # 2000 distinct values
    lengths = frame["email"].str.len_chars()
    assert (email.min_length, email.max_length) == (
        math.floor(lengths.min() * 0.9),
        math.ceil(lengths.max() * 1.1),
    )
    assert infer_contract(frame, max_categories=4).column("city").strict_allowed_values() is None


def test_unique_columns(frame):
    c = infer_contract(frame)
    assert [col.name for col in c.columns if col.unique] == ["id", "email"]
    small = infer_contract(frame.head(10))
    assert not any(col.unique for col in small.columns)  # too few rows to say


def test_null_share_limit(frame):
    c = infer_contract(frame, margin=0.1, null_slack=0.01)
    (rule,) = c.column("score").quality
    share = 100.0 * frame["score"].fill_nan(None).null_count() / ROWS
    assert rule.metric == "nullValues" and rule.unit == "percent"
    assert rule.threshold.operator == "mustBeLessOrEqualTo"
    assert rule.threshold.value == pytest.approx(math.ceil((share * 1.1 + 1.0) * 100) / 100)


def test_row_count_expectation(frame):
    c = infer_contract(frame, margin=0.25)
    (rule,) = c.table().quality
    assert (rule.metric, rule.threshold.operator, rule.threshold.value) == (
        "rowCount",
        "mustBeGreaterOrEqualTo",
        1500,
    )


def test_aims_properties_and_freshness(frame):
    c = infer_contract(
        frame,
        name="loans",
        label="defaulted",
        sensitive=["city"],
        pii={"email": "hash"},
        freshness=("event_time", "36h"),
    )
    assert c.name == "loans" and c.table().name == "loans"
    assert c.column("defaulted").label and c.column("city").sensitive
    assert c.column("email").pii == "hash"
    (fresh,) = c.freshness
    assert (fresh.column, fresh.max_age) == ("event_time", dt.timedelta(hours=36))


def test_csv_file_and_default_name(tmp_path, frame):
    path = tmp_path / "applications.csv"
    frame.write_csv(path)
    c = infer_contract(path)
    assert c.name == "applications"
    assert c.column("event_time").logical_type == "timestamp"
    assert c.column("age").logical_type == "integer"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label": "nope"}, "has no column 'nope'"),
        ({"pii": {"email": "encrypt"}}, "'hash' or 'drop'"),
        ({"freshness": ("age", "1d")}, "needs a date or timestamp column"),
        ({"freshness": ("event_time", "soon")}, "cannot read 'soon' as a duration"),
        ({"margin": 1.5}, "margin must be in [0, 1)"),
    ],
)
def test_bad_arguments(frame, kwargs, message):
    with pytest.raises(InvalidInput) as info:
        infer_contract(frame, **kwargs)
    assert message in str(info.value)


def test_empty_data_is_refused():
    with pytest.raises(InvalidInput, match="has no rows"):
        infer_contract(pl.DataFrame({"x": np.array([], dtype=np.int64)}))

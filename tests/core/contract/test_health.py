"""Data health per monitoring window."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from aims.core.contract import HealthProfile, data_health, infer_contract
from tests.core.contract.conftest import NOW, ROWS


@pytest.fixture(scope="module")
def contract(frame):
    return infer_contract(frame, label="defaulted", freshness=("event_time", "1d"))


def test_healthy_window(contract, frame):
    report = data_health(contract, frame, expected_rows=ROWS, now=NOW)
    assert report.ok, report.issues
    assert report.schema_changes == []
    assert report.volume == {"rows": ROWS, "expected": ROWS, "ratio": 1.0, "ok": True}
    (fresh,) = report.freshness
    assert not fresh["stale"]
    newest = frame["event_time"].max().replace(tzinfo=dt.UTC)
    assert fresh["age_seconds"] == pytest.approx((NOW - newest).total_seconds())


def test_schema_changes(contract, frame):
    window = (
        frame.drop("email")
        .rename({"city": "town"})
        .with_columns(
            pl.col("age").cast(pl.String),
            pl.col("income").cast(pl.Float32),
            pl.lit(1).alias("extra"),
        )
    )
    report = data_health(contract, window, now=NOW)
    changes = {(c.kind, c.column): (c.expected, c.actual) for c in report.schema_changes}
    assert changes == {
        ("type_changed", "age"): ("integer", "string"),
        ("physical_type_changed", "income"): ("Float64", "Float32"),
        ("renamed", "city"): ("city", "town"),
        ("missing", "email"): ("email", None),
        ("added", "extra"): (None, "Int32"),
    }
    assert sorted(report.issues) == [
        "age: type changed from integer to string",
        "city: looks renamed to town",
        "email: missing from the data",
        "extra: not in the contract",
    ]


def test_null_share_against_reference_and_contract(contract, frame):
    n_null = 300
    window = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < n_null).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("age", "income")
    )
    report = data_health(contract, window, now=NOW, reference_null_shares={"income": 0.1})
    shares = {s["column"]: s for s in report.null_shares}
    assert shares["age"]["share"] == pytest.approx(n_null / ROWS)
    assert shares["age"]["jumped"]  # required: no null allowed
    assert not shares["income"]["jumped"]  # 15 % against a 10 % reference + 5 points
    assert shares["income"]["limit"] == pytest.approx(0.15)
    # score: the contract allows the share seen in training (~5 %) plus slack.
    assert not shares["score"]["jumped"] and 0.05 < shares["score"]["limit"] < 0.08
    strict = data_health(
        contract, window, now=NOW, reference_null_shares={"income": 0.0}, max_null_increase=0.1
    )
    assert {s["column"] for s in strict.null_shares if s["jumped"]} == {"age", "income"}


def test_volume_and_freshness(contract, frame):
    report = data_health(
        contract, frame.head(100), expected_rows=1_000, now=NOW + dt.timedelta(days=3)
    )
    assert report.volume["ratio"] == pytest.approx(0.1) and not report.volume["ok"]
    assert report.freshness[0]["stale"]
    assert any(i.startswith("event_time: stale") for i in report.issues)
    assert data_health(contract, frame.head(600), expected_rows=1_000, now=NOW).volume["ok"]


def test_ignore_leaves_columns_out(contract, frame):
    window = frame.drop("defaulted").with_columns(pl.lit(0.3).alias("prediction"))
    assert not data_health(contract, window, now=NOW).ok
    assert data_health(contract, window, now=NOW, ignore=["defaulted", "prediction"]).ok


def test_merged_profiles_equal_the_whole(contract, frame):
    parts = [frame.slice(0, 700), frame.slice(700, 600), frame.slice(1_300, None)]
    merged = (
        HealthProfile.of(parts[0])
        .merge(HealthProfile.of(parts[1]))
        .merge(HealthProfile.of(parts[2]))
    )
    whole = HealthProfile.of(frame)
    assert merged.rows == whole.rows == ROWS
    assert merged.missing == whole.missing
    assert merged.newest == whole.newest
    a = data_health(contract, merged, expected_rows=ROWS, now=NOW).to_dict()
    b = data_health(contract, frame, expected_rows=ROWS, now=NOW).to_dict()
    assert a == b


def test_merge_across_a_schema_change(frame):
    left = HealthProfile.of(frame.select("age", "city"))
    right = HealthProfile.of(frame.select(pl.col("age").cast(pl.String)).head(10))
    merged = left.merge(right)
    assert merged.missing["city"] == 10  # absent on the right: missing there
    assert merged.mixed_types == {"age"}


def test_report_is_json_ready(contract, frame):
    import json

    text = json.dumps(data_health(contract, frame, now=NOW).to_dict(), allow_nan=False)
    assert '"ok": true' in text

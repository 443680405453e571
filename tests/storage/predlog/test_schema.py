from __future__ import annotations

import hashlib
import hmac

import numpy as np
import polars as pl
import pytest

from aims.errors import InvalidInput
from aims.storage.predlog.schema import (
    apply_pii,
    apply_pii_frame,
    as_text,
    feature_column,
    hash_value,
    text_column,
)


def test_as_text_writes_integral_floats_as_integers() -> None:
    values = [1, 1.0, np.float64(2.0), np.int64(3), 2.5, True, np.bool_(False), "a", None]
    assert [as_text(v) for v in values] == ["1", "1", "2", "3", "2.5", "true", "false", "a", None]


@pytest.mark.parametrize(
    "values",
    [[1.0, 2.5, -3.0, None], [0, 1, 7], [True, False, None], ["yes", "no"]],
)
def test_text_column_agrees_with_as_text(values: list[object]) -> None:
    series = pl.Series("v", values)
    out = pl.select(text_column(pl.lit(series), series.dtype)).to_series().to_list()
    assert out == [as_text(v) for v in values]


def test_hash_is_hmac_sha256_with_the_salt_as_key() -> None:
    expected = hmac.new(b"pepper", b"a@example.org", hashlib.sha256).hexdigest()[:32]
    assert hash_value("a@example.org", "pepper") == expected
    assert (
        hash_value(12345, b"pepper")
        == hmac.new(b"pepper", b"12345", hashlib.sha256).hexdigest()[:32]
    )


def test_apply_pii_hashes_drops_and_keeps_nulls() -> None:
    rows = [{"email": "a@x.org", "ssn": "1", "x": 3}, {"email": None, "ssn": "2", "x": 4}]
    out = apply_pii(rows, {"email": "hash", "ssn": "drop"}, "s")
    assert out == [{"email": hash_value("a@x.org", "s"), "x": 3}, {"email": None, "x": 4}]
    assert rows[0]["email"] == "a@x.org"  # the caller's rows are not changed


def test_apply_pii_frame_matches_the_row_version() -> None:
    rows = [{"email": "a@x.org", "ssn": "1", "x": 3}, {"email": None, "ssn": "2", "x": 4}]
    pii = {"email": "hash", "ssn": "drop", "absent": "drop"}
    assert apply_pii_frame(pl.DataFrame(rows), pii, "s").to_dicts() == apply_pii(rows, pii, "s")


def test_unknown_pii_action_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'hash' or 'drop', not 'mask'"):
        apply_pii([{"a": 1}], {"a": "mask"}, "s")


def test_feature_names_that_clash_with_fixed_columns_are_prefixed() -> None:
    assert [feature_column(n) for n in ("age", "score", "ts", "version")] == [
        "age",
        "input_score",
        "input_ts",
        "input_version",
    ]

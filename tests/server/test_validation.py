from __future__ import annotations

import math

import pytest

from aims.errors import AimsError
from aims.server.validation import parse_predict_body


def rule_of(body: bytes, max_records: int = 10) -> tuple[int, str]:
    with pytest.raises(AimsError) as info:
        parse_predict_body(body, max_records=max_records)
    return info.value.status, info.value.details[0]["rule"]


def test_records_and_columns_give_the_same_rows() -> None:
    a = parse_predict_body(b'{"records": [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]}', max_records=5)
    b = parse_predict_body(b'{"columns": {"x": [1, 2], "y": ["a", "b"]}}', max_records=5)
    assert a.records == b.records == [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}]
    assert (
        parse_predict_body(b'{"records": [{}], "routing_key": "u1"}', max_records=1).routing_key
        == "u1"
    )


def test_non_finite_numbers_reach_the_contract() -> None:
    rows = parse_predict_body(
        b'{"records": [{"a": NaN, "b": Infinity, "c": -Infinity}]}', max_records=1
    )
    a, b, c = rows.records[0].values()
    assert math.isnan(a) and b == math.inf and c == -math.inf


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{", (400, "json")),
        (b"\xff", (400, "json")),
        (b"[]", (422, "shape")),
        (b'{"records": {}}', (422, "shape")),
        (b'{"records": [1]}', (422, "shape")),
        (b'{"records": [], "columns": {}}', (422, "shape")),
        (b"{}", (422, "shape")),
        (b'{"records": [{}], "extra": 1}', (422, "shape")),
        (b'{"records": [{}], "routing_key": 3}', (422, "shape")),
        (b'{"columns": {"a": [1], "b": [1, 2]}}', (422, "shape")),
        (b'{"columns": {"a": 1}}', (422, "shape")),
        (b'{"records": []}', (422, "shape")),
        (b'{"records": [{}, {}, {}]}', (413, "max_records")),
    ],
)
def test_malformed_bodies_name_the_rule(body: bytes, expected: tuple[int, str]) -> None:
    assert rule_of(body, max_records=2) == expected

"""Span rows made into Arrow columns from their buffers: the same table PyArrow would make."""

from __future__ import annotations

import pyarrow as pa
import pytest

from aims.core.genai.span import SPAN_FIELDS, span_schema
from aims.storage.traces.rows import rows_table

STATS = {
    "chars": 12,
    "words": 3,
    "letter_share": 0.75,
    "digit_share": 0.0,
    "punct_share": 0.1,
    "upper_share": 0.0,
    "whitespace_share": 0.15,
    "non_ascii_share": 0.05,
}


def _rows() -> list[dict]:
    out = []
    for i in range(40):
        row = dict.fromkeys(SPAN_FIELDS)
        row.update(
            project="support",
            application="bot",
            trace_id=f"{i:032x}",
            span_id=f"{i:016x}",
            name="chat" if i % 3 else "execute_tool",
            start_time=1_764_000_000_000_000 + i,
            end_time=1_764_000_000_000_500 + i,
            latency_ms=0.5,
            status="ok" if i % 7 else "error",
            dialect="otel-genai-1.37",
        )
        if i % 2:  # half the spans carry the chat columns, the others leave them null
            row.update(
                input_tokens=100 + i,
                output_tokens=0,
                cost_usd=float("nan") if i == 3 else 1e-6 * i,
                finish_reasons=[] if i == 5 else ["stop", "length"][: i % 3],
                refusal=i % 4 == 1,
                input_stats=STATS,
                input_ngrams=[0, 7, 2**32 - 1],
                input_content="naïve café ✓ " * (i % 4),
                evaluations=[
                    {"name": "relevance", "score_value": 0.5, "score_label": None},
                    {"name": "tone", "score_value": None, "score_label": "ok", "explanation": "x"},
                ],
            )
        out.append(row)
    return out


def test_the_table_is_the_one_pyarrow_makes_from_the_same_rows() -> None:
    rows = _rows()
    made = rows_table(rows, span_schema())
    made.validate(full=True)
    expected = pa.Table.from_pydict({f: [r[f] for r in rows] for f in SPAN_FIELDS}, span_schema())
    assert made.schema == expected.schema
    # NaN is never equal to itself, so the cost column is compared as text.
    assert made.drop_columns(["cost_usd"]).equals(expected.drop_columns(["cost_usd"]))
    costs = made.column("cost_usd").to_pylist()
    assert str(costs) == str(expected.column("cost_usd").to_pylist()) and "nan" in str(costs)
    assert made.column("input_tokens").null_count == 20
    assert made.column("input_content")[9].as_py() == "naïve café ✓ "


def test_an_empty_batch_is_an_empty_table() -> None:
    assert rows_table([], span_schema()).num_rows == 0


def test_values_of_another_type_are_converted_or_refused_as_pyarrow_does() -> None:
    from datetime import UTC, datetime

    schema = pa.schema([("n", pa.int64()), ("t", pa.timestamp("us", tz="UTC"))])

    # A datetime for a timestamp is taken, as PyArrow takes it.
    when = datetime(2026, 3, 1, tzinfo=UTC)
    table = rows_table([{"n": 1, "t": when}], schema)
    assert table.column("t")[0].as_py() == when
    # A float in an integer column becomes what PyArrow makes of it.
    odd = [{"n": 1.5, "t": None}, {"n": 2.0, "t": None}]
    assert (
        rows_table(odd, schema).column("n").to_pylist()
        == pa.array([1.5, 2.0], pa.int64()).to_pylist()
    )
    with pytest.raises(pa.ArrowInvalid, match="'one'"):
        rows_table([{"n": "one", "t": None}], schema)

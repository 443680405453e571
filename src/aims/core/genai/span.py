"""The normalised span row: one row per span, whatever dialect the span was sent in.

Every trace span taken in is mapped (see :mod:`aims.core.genai.normalise`) to
the columns of :func:`span_schema`, the only shape the span store, the
monitoring and the evaluations read. Columns are nullable unless the table in
``docs/traces.md`` says otherwise.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "EVALUATION_TYPE",
    "REQUIRED_FIELDS",
    "SPAN_FIELDS",
    "TEXT_STATS_FIELDS",
    "TEXT_STATS_TYPE",
    "span_schema",
]

#: Fields of :class:`aims.core.text.features.TextStats`, in order.
TEXT_STATS_FIELDS: tuple[str, ...] = (
    "chars",
    "words",
    "letter_share",
    "digit_share",
    "punct_share",
    "upper_share",
    "whitespace_share",
    "non_ascii_share",
)
TEXT_STATS_TYPE = pa.struct(
    [
        pa.field(n, pa.int64() if n in ("chars", "words") else pa.float64())
        for n in TEXT_STATS_FIELDS
    ]
)
#: One ``gen_ai.evaluation.result`` event of a span.
EVALUATION_TYPE = pa.struct(
    [
        pa.field("name", pa.string()),
        pa.field("score_value", pa.float64()),
        pa.field("score_label", pa.string()),
        pa.field("explanation", pa.string()),
    ]
)
_TS = pa.timestamp("us", tz="UTC")
_STR = pa.string()
_INT = pa.int64()

_COLUMNS: tuple[tuple[str, pa.DataType, bool], ...] = (
    # name, type, nullable
    ("project", _STR, False),
    ("application", _STR, False),
    ("version", _STR, True),
    ("trace_id", _STR, False),
    ("span_id", _STR, False),
    ("parent_span_id", _STR, True),
    ("name", _STR, False),
    ("operation", _STR, True),
    ("provider", _STR, True),
    ("request_model", _STR, True),
    ("response_model", _STR, True),
    ("agent_name", _STR, True),
    ("agent_version", _STR, True),
    ("agent_id", _STR, True),
    ("tool_name", _STR, True),
    ("tool_call_id", _STR, True),
    ("mcp_method", _STR, True),
    ("conversation_id", _STR, True),
    ("end_user", _STR, True),
    ("start_time", _TS, False),
    ("end_time", _TS, False),
    ("latency_ms", pa.float64(), False),
    ("input_tokens", _INT, True),
    ("output_tokens", _INT, True),
    ("cache_read_tokens", _INT, True),
    ("cache_creation_tokens", _INT, True),
    ("reasoning_tokens", _INT, True),
    ("cost_usd", pa.float64(), True),
    ("finish_reasons", pa.list_(_STR), True),
    ("status", _STR, False),
    ("error_type", _STR, True),
    ("refusal", pa.bool_(), True),
    ("input_stats", TEXT_STATS_TYPE, True),
    ("output_stats", TEXT_STATS_TYPE, True),
    ("input_ngrams", pa.list_(pa.uint32()), True),
    ("output_ngrams", pa.list_(pa.uint32()), True),
    ("input_content", _STR, True),
    ("output_content", _STR, True),
    ("guardrail_name", _STR, True),
    ("guardrail_verdict", _STR, True),
    ("feedback_score", pa.float64(), True),
    ("evaluations", pa.list_(EVALUATION_TYPE), True),
    ("dialect", _STR, False),
    ("attributes", _STR, True),
)

#: The span row's columns, in order.
SPAN_FIELDS: tuple[str, ...] = tuple(name for name, _, _ in _COLUMNS)
#: Columns that are never null.
REQUIRED_FIELDS: frozenset[str] = frozenset(name for name, _, null in _COLUMNS if not null)

_SCHEMA = pa.schema([pa.field(name, t, nullable=null) for name, t, null in _COLUMNS])


def span_schema() -> pa.Schema:
    """The Arrow schema of a normalised span row (:data:`SPAN_FIELDS`, in order).

    Examples
    --------
    >>> s = span_schema()
    >>> s.names[:3], s.field("trace_id").nullable, str(s.field("start_time").type)
    (['project', 'application', 'version'], False, 'timestamp[us, tz=UTC]')
    """
    return _SCHEMA

"""What the dashboard's filtered lists share: reading a time bound and exporting rows.

An export streams the rows of a filtered view as CSV or as one JSON array, in
pieces, so an export of a million audit events never holds them all in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from aims.clock import utc
from aims.errors import InvalidInput

__all__ = ["FORMATS", "export_chunks", "parse_time"]

FORMATS = ("csv", "json")


def parse_time(text: str, name: str, *, end: bool = False) -> dt.datetime | None:
    """A time bound from a form: ``2026-03-01`` or ``2026-03-01T12:30`` (UTC unless it says).

    A bare date as an ``end`` bound means the end of that day.

    >>> parse_time("2026-03-01", "since").isoformat()
    '2026-03-01T00:00:00+00:00'
    >>> parse_time("2026-03-01", "until", end=True).isoformat()
    '2026-03-02T00:00:00+00:00'
    >>> parse_time("", "since") is None
    True
    """
    text = text.strip()
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date or a time such as 2026-03-01 or 2026-03-01T12:30, not {text!r}"
        ) from None
    if end and len(text) == 10:
        when += dt.timedelta(days=1)
    return utc(when)


def export_chunks(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str
) -> Iterator[str]:
    """The text of ``rows`` as CSV (a header, then one line per row) or one JSON array."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for n, row in enumerate(rows, 1):
            writer.writerow([_cell(row.get(c)) for c in columns])
            if n % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        return
    yield "["
    first = True
    for row in rows:
        yield ("" if first else ",\n") + json.dumps(
            {c: row.get(c) for c in columns}, default=str, ensure_ascii=False
        )
        first = False
    yield "]\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dt.datetime):
        return utc(value).isoformat()
    return str(value)

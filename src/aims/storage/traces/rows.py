"""Arrow tables built from span rows (Python dicts), without PyArrow's pandas bridge.

Every conversion of Python values by :func:`pyarrow.array` first asks whether
pandas is installed, importing it to find out: some 50 MB that a server taking
in traces would hold for nothing. :func:`rows_table` builds the columns of the
span schema from their buffers instead (NumPy for the numbers and the offsets,
bytes for the text), which never reaches that bridge. It costs more CPU than
``pyarrow.Table.from_pydict`` (about 14 µs a span against 5, measured on the
benchmark's spans, of some 150 µs that taking in a span costs in all). A column
of a type it does not build, or values of another type than it expects, go
through :func:`pyarrow.array` as before.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["int64_array", "rows_table"]

# What stands in the data buffers for a null (the validity bitmap says it is null).
_EMPTY: dict[Any, Any] = {
    pa.int64().id: 0,
    pa.uint32().id: 0,
    pa.float64().id: 0.0,
    pa.timestamp("us").id: 0,
    pa.string().id: "",
    pa.bool_().id: False,
    pa.list_(pa.int64()).id: (),
    pa.struct([]).id: {},
}
_NUMBERS: dict[Any, Any] = {
    pa.int64(): np.int64,
    pa.uint32(): np.uint32,
    pa.float64(): np.float64,
}


def rows_table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """The table of ``rows`` (one dict per row, keyed by column name) with ``schema``.

    Examples
    --------
    >>> schema = pa.schema([("id", pa.string()), ("tokens", pa.int64()),
    ...                     ("reasons", pa.list_(pa.string()))])
    >>> t = rows_table([{"id": "a", "tokens": 3, "reasons": ["stop"]},
    ...                 {"id": "b", "tokens": None, "reasons": None}], schema)
    >>> t.to_pylist()[1], t.column("reasons").to_pylist()
    ({'id': 'b', 'tokens': None, 'reasons': None}, [['stop'], None])
    """
    arrays = [
        _column([r[name] for r in rows], t)
        for name, t in zip(schema.names, schema.types, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def int64_array(values: Sequence[int]) -> pa.Array:
    """An Arrow int64 array of ``values`` (row positions for ``take``), made without pandas.

    Examples
    --------
    >>> int64_array([2, 0]).to_pylist()
    [2, 0]
    """
    data = np.asarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def _column(values: list[Any], kind: pa.DataType) -> pa.Array:
    try:
        return _build(values, kind)
    except (TypeError, ValueError, AttributeError, OverflowError):
        # Not the values this builder expects (e.g. a datetime for a timestamp):
        # PyArrow's own conversion takes them, or names what is wrong.
        return pa.array(values, kind)


def _validity(values: list[Any], nulls: int) -> pa.Buffer | None:
    if not nulls:
        return None
    present = np.array(list(map(operator.is_not, values, repeat(None))), dtype=np.bool_)
    return pa.py_buffer(np.packbits(present, bitorder="little"))


def _offsets(lengths: Any) -> pa.Buffer:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise OverflowError("more than 2 GiB in one column")
    return pa.py_buffer(offsets.astype(np.int32))


def _build(values: list[Any], kind: pa.DataType) -> pa.Array:
    n = len(values)
    nulls = values.count(None)
    if nulls == n:  # common: most columns are absent from most spans
        return pa.nulls(n, kind)
    validity = _validity(values, nulls)
    if nulls:
        empty = _EMPTY.get(kind.id)
        values = [empty if v is None else v for v in values]
    number = _NUMBERS.get(kind)
    if number is not None or pa.types.is_timestamp(kind):
        # Timestamps arrive as integers of the schema's unit (normalise writes microseconds).
        dtype = number or np.int64
        # NumPy would truncate a float into an integer column: PyArrow refuses it.
        if not pa.types.is_floating(kind) and not set(map(type, values)) <= {int}:
            raise TypeError("integers expected")
        data = np.array(values, dtype=dtype)
        return pa.Array.from_buffers(kind, n, [validity, pa.py_buffer(data)], nulls)
    if pa.types.is_string(kind):
        encoded = list(map(str.encode, values))
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        buffers = [validity, _offsets(lengths), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(kind, n, buffers, nulls)
    if pa.types.is_boolean(kind):
        if not set(map(type, values)) <= {bool}:
            raise TypeError("booleans that are not bool")
        bits = np.packbits(np.array(values, dtype=np.bool_), bitorder="little")
        return pa.Array.from_buffers(kind, n, [validity, pa.py_buffer(bits)], nulls)
    if pa.types.is_list(kind):
        lengths = np.fromiter(map(len, values), np.int64, n)
        flat = [item for v in values for item in v]
        child = _build(flat, kind.value_type)
        return pa.Array.from_buffers(
            kind, n, [validity, _offsets(lengths)], nulls, children=[child]
        )
    if pa.types.is_struct(kind):
        # Field names read once: each read of a PyArrow field's name makes a new str.
        names = [(f.name, f.type) for f in kind]
        children = [_build([v.get(name) for v in values], t) for name, t in names]
        return pa.Array.from_buffers(kind, n, [validity], nulls, children=children)
    raise TypeError(f"no builder for {kind}")

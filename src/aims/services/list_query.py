"""Reading the query of a paged, filtered list (the audit log, the incidents) from a URL.

Both lists take text filters, a time range (``since``, ``until``), a cursor
(``before`` or ``after``, a number) and a page ``size``; :func:`read_query`
checks them all the same way and says what was wrong in one sentence, and
:func:`query_link` writes a page's query back into the links around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from aims.errors import InvalidInput
from aims.services.view_export import parse_time

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["PAGE_SIZES", "ListQuery", "query_link", "read_query"]

PAGE_SIZES = (25, 50, 100, 200)
_POSITION = ("before", "after", "size")


@dataclass(frozen=True)
class ListQuery:
    """A checked query: the text of each filter (stripped, cut to its length), the cursor and
    the page size."""

    text: Mapping[str, str]
    before: int | None
    after: int | None
    size: int

    def values(self, defaults: Any) -> dict[str, Any]:
        """The query as keyword arguments of the list's query class: each text filter as
        read, an empty one at its value in ``defaults`` (the class's default instance)."""
        out = {k: v or getattr(defaults, k) for k, v in self.text.items() if k not in _POSITION}
        return out | {"before": self.before, "after": self.after, "size": self.size}


def query_link(query: DataclassInstance, **position: int) -> str:
    """The query string of a list's query at ``position`` (``before=`` or ``after=``).

    It holds the filters and the size that are not at their defaults, in the
    order the query's class declares them, then the position.
    """
    from urllib.parse import urlencode

    pairs = {
        f.name: str(value)
        for f in fields(query)
        if f.name not in ("before", "after") and (value := getattr(query, f.name)) != f.default
    }
    pairs |= {k: str(v) for k, v in position.items()}
    return "?" + urlencode(pairs) if pairs else "?"


def read_query(
    params: Mapping[str, str],
    *,
    fields: Iterable[str],
    listing: str,
    cursor: str,
    extra: Sequence[str] = (),
    choices: Mapping[str, Sequence[str]] | None = None,
    lengths: Mapping[str, int] | None = None,
) -> ListQuery:
    """Check ``params`` against a list's ``fields`` and read them.

    Parameters
    ----------
    params
        The URL's query.
    fields
        Every parameter the list takes, ``before``, ``after``, ``size``,
        ``since`` and ``until`` included.
    listing
        What the list is called in messages (``audit log``, ``incidents``).
    cursor
        What a cursor's number is, in messages (``an event number (#seq)``).
    extra
        Parameters the caller reads itself (e.g. an export's ``format``).
    choices
        For a filter that takes one of a few values, those values.
    lengths
        For a free-text filter, how many characters of it are kept.
    """
    known = set(fields)
    unknown = sorted(set(params) - known - set(extra))
    if unknown:
        raise InvalidInput(
            f"unknown {listing} parameter {unknown[0]!r}; use {', '.join(sorted(known))}"
        )
    text = {k: str(params.get(k, "")).strip() for k in known}
    for name, allowed in (choices or {}).items():
        if text[name] and text[name] not in allowed:
            raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, not {text[name]!r}")
    cursors: dict[str, int | None] = {}
    for name in ("before", "after"):
        raw = text[name]
        if raw and not raw.isdigit():
            raise InvalidInput(f"{name} must be {cursor}, not {raw!r}")
        cursors[name] = int(raw) if raw else None
    if cursors["before"] is not None and cursors["after"] is not None:
        raise InvalidInput("give before or after, not both")
    size = int(text["size"]) if text["size"].isdigit() else 0
    if text["size"] and size not in PAGE_SIZES:
        raise InvalidInput(
            f"size must be one of {', '.join(map(str, PAGE_SIZES))}, not {text['size']!r}"
        )
    parse_time(text["since"], "since")
    parse_time(text["until"], "until", end=True)
    for name, limit in (lengths or {}).items():
        text[name] = text[name][:limit]
    return ListQuery(text, cursors["before"], cursors["after"], size or 50)

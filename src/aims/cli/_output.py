"""Rendering of command results: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text


class Format(str, Enum):
    """Output formats accepted by ``--format``."""

    table = "table"
    json = "json"


console = Console()
err_console = Console(stderr=True)


def _default(obj: Any) -> Any:
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (datetimes as ISO 8601)."""
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def print_table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], title: str | None = None
) -> None:
    """Print dict rows as a rich table with the given columns."""
    rows = list(rows)
    cells = [["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows]
    table = Table(title=title)
    needed = 1  # the narrowest the table can be without cutting anything
    for i, col in enumerate(columns):
        values = [r[i] for r in cells if r[i]]
        if values and all(_is_token(v) for v in values):
            # Identifiers (prediction ids, hashes, refs, timestamps) are never cut: the
            # column keeps its full width and the other columns wrap instead.
            width = max(len(col), *(len(v) for v in values))
            table.add_column(col, min_width=width, no_wrap=True, overflow="fold")
        else:
            words = [w for v in values for w in v.split()]
            width = max(len(col), *(len(w) for w in words)) if words else len(col)
            table.add_column(col, overflow="fold")
        needed += width + 3  # padding on both sides and the border
    for r in cells:
        # Text, not markup: values such as "[admin]" or "age=[52, 90]" are shown as they are.
        table.add_row(*(Text(v) for v in r))
    # On a narrow terminal rich would cut identifiers, or drop whole columns, to fit:
    # print wider instead (the terminal wraps the lines, a pipe keeps them whole).
    if needed <= console.width:
        console.print(table)
        return
    narrow = console.width
    console.width = needed  # Console.print never goes wider than the console itself
    try:
        console.print(table, crop=False)
    finally:
        console.width = narrow


def _is_token(text: str) -> bool:
    """A value with no spaces and at most 64 characters: an id, a hash, a ref, a time."""
    return len(text) <= 64 and not any(ch.isspace() for ch in text)


def emit(data: Any, fmt: Format, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON when asked, else with the command's own renderer."""
    if fmt is Format.json:
        print_json(data)
    else:
        render(data)


@contextmanager
def working(message: str) -> Iterator[None]:
    """Show ``message`` with a spinner and the elapsed time on stderr while a long step runs.

    Only on a terminal: piped or captured output (scripts, ``--format json``)
    stays clean. The line disappears when the step ends.
    """
    if not err_console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        bar.add_task(escape(message), total=None)
        yield


def metrics_beside_production(
    d: dict[str, Any], num: Callable[[Any], str]
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows and columns of an evaluation's metrics, with production's and the delta when
    measured; ``num`` formats a value."""
    champ = d.get("champion")
    rows = []
    for name, value in d["evaluation"]["metrics"].items():
        row = {"metric": name, "value": num(value)}
        if champ:
            other = champ["evaluation"]["metrics"].get(name)
            row["production"] = num(other)
            row["delta"] = num(value - other) if other is not None and value is not None else ""
        rows.append(row)
    return rows, ["metric", "value"] + (["production", "delta"] if champ else [])

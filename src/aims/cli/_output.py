"""Rendering of command results: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any

from rich.console import Console
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
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        # Text, not markup: values such as "[admin]" or "age=[52, 90]" are shown as they are.
        table.add_row(*(Text("" if row.get(c) is None else str(row.get(c))) for c in columns))
    console.print(table)


def emit(data: Any, fmt: Format, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON when asked, else with the command's own renderer."""
    if fmt is Format.json:
        print_json(data)
    else:
        render(data)

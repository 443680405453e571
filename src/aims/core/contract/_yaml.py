"""YAML loading that remembers the line of every key and item.

PyYAML's ``safe_load`` forgets where values came from, so an error in a
contract could only name the field. Here the document is composed into nodes
first and converted by hand, keeping a map from each value's path (a tuple of
keys and list indices) to its 1-based line, so that every problem found later
can say "field X on line N".

Two deviations from ``safe_load``, both deliberate:

- a mapping with the same key twice is an error (PyYAML keeps the last one
  silently, which hides typos in hand-written contracts);
- dates and timestamps written without quotes stay strings, because ODCS
  declares every date-like field as a string.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where it is and what is wrong."""

    path: Path
    line: int | None
    message: str

    def render(self, source: str) -> str:
        where = f"{source}, line {self.line}" if self.line else source
        field = format_path(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class YamlProblems(Exception):
    """Raised by :func:`load_with_lines` when the text is not a YAML document."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


def format_path(path: Path) -> str:
    """``("schema", 0, "properties", 2, "name")`` -> ``schema[0].properties[2].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe scalars, except that dates and timestamps stay as the text written."""


def _keep_text(constructor: yaml.constructor.SafeConstructor, node: yaml.Node) -> str:
    return str(node.value)


# The stubs type constructors as parts of a Loader; this one is used on its own.
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _keep_text)  # type: ignore[type-var]


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse one YAML document and return it with the line of every path.

    Examples
    --------
    >>> data, lines = load_with_lines("a:\\n  b: [1, 2]\\n  c: 2024-01-01\\n")
    >>> data
    {'a': {'b': [1, 2], 'c': '2024-01-01'}}
    >>> lines[("a", "c")]
    3
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"not valid YAML: {exc.problem or exc.context}"
        raise YamlProblems([Problem((), line, message)]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem((), None, f"not valid YAML: {exc}")]) from None
    if node is None:
        raise YamlProblems([Problem((), 1, "the file is empty")])
    lines: dict[Path, int] = {}
    problems: list[Problem] = []
    constructor = _Constructor()
    data = _convert(node, (), lines, problems, constructor)
    if problems:
        raise YamlProblems(problems)
    return data, lines


def _convert(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    problems: list[Problem],
    constructor: _Constructor,
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in out:
                problems.append(Problem((*path, key), line, "this key appears twice"))
                continue
            out[key] = _convert(value_node, (*path, key), lines, problems, constructor)
            lines[(*path, key)] = line
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(item, (*path, i), lines, problems, constructor)
            for i, item in enumerate(node.value)
        ]
    value = constructor.construct_object(node, deep=True)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]

"""YAML documents that remember where each value came from, for errors that name the line.

A document is read twice from the same text: once into plain Python values, and
once into PyYAML's node tree (``yaml.compose``), whose marks give the line of
every key and value. Pydantic validation errors are then reported as
``FILE line N: key.path[2].field: what is wrong``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from aims.errors import ConfigError, NotFound

__all__ = [
    "Document",
    "Loc",
    "child",
    "describe",
    "key_path",
    "line_of",
    "parse",
    "read_text",
    "validate",
]

Loc = Sequence[str | int]


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so Pydantic parses them and names the line."""


# PyYAML turns 2025-13-40 into a ValueError without a position; as text it
# reaches the model's date field, whose error carries the key and line.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    """Parsed YAML with its node tree and a name for messages.

    ``node`` is the node of ``data`` itself (not necessarily the file's root),
    so that key paths below ``data`` find their lines.
    """

    data: Any
    node: yaml.Node | None
    source: str

    def sub(self, key: str) -> Document:
        """The part of a mapping document under ``key``."""
        data = self.data.get(key) if isinstance(self.data, dict) else None
        return Document(data, child(self.node, key), self.source)


def read_text(source: str | Path, what: str) -> tuple[str, str]:
    """The text of ``source`` and a name for messages.

    ``source`` is a path (a :class:`~pathlib.Path`, or a one-line string ending
    in ``.yaml``/``.yml``) or the YAML text itself.
    """
    if isinstance(source, Path) or (
        "\n" not in source and source.strip().endswith((".yaml", ".yml"))
    ):
        path = Path(source)
        if not path.is_file():
            raise NotFound(f"{path}: no such {what} file")
        return path.read_text(encoding="utf-8"), str(path)
    return source, f"<{what}>"


def parse(text: str, source: str) -> Document:
    """Parse YAML text; syntax errors become one ``ConfigError`` naming the line."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}{where}: not valid YAML: {problem}") from None
    return Document(data, node, source)


def child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """The node under ``key`` (a mapping key or a sequence index), or ``None``."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                found: yaml.Node = value_node
                return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        item: yaml.Node = node.value[key]
        return item
    return None


def line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """1-based line of the deepest node along ``loc`` that exists."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in loc:
        node = child(node, key)
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def key_path(loc: Loc, prefix: str = "") -> str:
    """``("tiers", "high", "gates", 2, "min")`` -> ``tiers.high.gates[2].min``."""
    out = prefix
    for key in loc:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += f".{key}" if out else str(key)
    return out or "(top level)"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc``, if any."""
    current: Any = model
    for key in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if isinstance(key, int) or key not in current.model_fields:
                return None
            current = current.model_fields[key].annotation
        else:
            args = [a for a in typing.get_args(current) if a is not type(None)]
            origin = typing.get_origin(current)
            if origin in (list, tuple, Sequence) and isinstance(key, int):
                current = args[0] if args else None
            elif origin is dict and isinstance(key, str):
                current = args[1] if len(args) == 2 else None
            elif origin in (typing.Union, types.UnionType) and len(args) == 1:
                current = args[0]
                if isinstance(current, type) and issubclass(current, BaseModel):
                    return _model_at(current, [key])
            else:
                return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _clean_loc(loc: Loc) -> list[str | int]:
    # Pydantic inserts markers such as '[key]' or 'function-after[...]' that are
    # not keys of the document; drop them so paths and lines match the file.
    return [k for k in loc if isinstance(k, int) or "[" not in k]


def describe(exc: ValidationError, model: type[BaseModel], doc: Document, prefix: str = "") -> str:
    """One message for every problem in ``exc``, each with its line and key path.

    ``prefix`` is the dotted path of ``doc`` inside its file (e.g. ``policy``).
    """
    parts = []
    missing: dict[tuple[str | int, ...], list[str]] = {}
    for err in exc.errors(include_url=False):
        loc = _clean_loc(err["loc"])
        kind = err["type"]
        if kind == "missing":
            # Reported once per mapping, listing every missing key.
            missing.setdefault(tuple(loc[:-1]), []).append(str(loc[-1]))
            continue
        if kind == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            allowed = ", ".join(parent.model_fields) if parent is not None else ""
            what = f"unknown key {loc[-1]!r}" + (f"; allowed keys: {allowed}" if allowed else "")
        else:
            msg = err["msg"]
            msg = (msg[0].lower() + msg[1:]).removeprefix("value error, ") if msg else msg
            value = err.get("input")
            shown = isinstance(value, str | int | float | bool) and kind != "value_error"
            what = f"{msg} (got {value!r})" if shown else msg
        parts.append(f"{_where(doc, loc)}: {key_path(loc, prefix)}: {what}")
    for parent_loc, keys in missing.items():
        label = key_path(parent_loc, prefix)
        noun = "key" if len(keys) == 1 else "keys"
        parts.append(
            f"{_where(doc, parent_loc)}: {label}: missing required {noun} {', '.join(keys)}"
        )
    return "; ".join(parts)


def _where(doc: Document, loc: Loc) -> str:
    line = line_of(doc.node, loc)
    return f"{doc.source} line {line}" if line is not None else doc.source


def validate(model: type[BaseModel], doc: Document, prefix: str = "") -> Any:
    """Validate ``doc.data`` as ``model``; errors become one ``ConfigError`` with lines."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, model, doc, prefix)) from None

"""Reading and writing contracts as ODCS v3 YAML.

:func:`load_contract` accepts ODCS v3.0.0 to v3.2.0 and checks the document
field by field: an unknown key, a wrong type, a bound that is not a number, a
regular expression that does not compile or a quality rule without its
operator raises :class:`~aims.errors.ConfigError` naming the field and the
line, e.g. ``orders.odcs.yaml, line 14: schema[0].properties[2].logicalType:
'int' is not allowed; use one of string, date, ...``.

:func:`dump_contract` writes ODCS v3.1.0. Allowed values are written as the
library metric ``invalidValues`` with ``validValues`` (portable to every v3
reader); the v3.2 ``enum`` field is read as well and written back when the
contract came with it.

Why not the ``open-data-contract-standard`` package: its Pydantic model
ignores unknown keys below the top level (so ``requried: true`` vanishes
silently), keeps no line numbers and leaves logical types, operators and
metrics as free strings. aims checks the same structure itself and uses the
package, when installed, only in its tests as an independent reader of what
aims writes.
"""

from __future__ import annotations

import uuid
from pathlib import Path as FsPath
from typing import Any

import yaml

from aims.core.contract._reader import Reader
from aims.core.contract._spec import check_document
from aims.core.contract._yaml import Problem, YamlProblems, load_with_lines
from aims.core.contract.model import Column, Contract, Freshness, QualityRule, Table
from aims.errors import ConfigError, InvalidInput, NotFound

__all__ = [
    "dump_contract",
    "load_contract",
    "parse_contract",
    "write_contract",
]

_MAX_LISTED = 3
_MAX_BYTES = 16 * 2**20  # far above any hand-written contract, far below a dataset


def load_contract(path: str | FsPath) -> Contract:
    """Read an ODCS v3 YAML file.

    Raises
    ------
    NotFound
        The file does not exist.
    ConfigError
        The file is not valid YAML or not valid ODCS v3; the message names the
        field and the line of the first problems.
    """
    p = FsPath(path)
    if not p.exists():
        raise NotFound(f"{p}: no such contract file")
    if p.is_dir():
        raise InvalidInput(f"{p}: is a folder; give an ODCS YAML file")
    if p.stat().st_size > _MAX_BYTES:
        raise ConfigError(
            f"{p}: {p.stat().st_size // 2**20} MiB is too large for a contract; "
            "is this the data file instead of the ODCS YAML?"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file; a contract is ODCS YAML in UTF-8") from None
    return parse_contract(text, source=str(p))


def parse_contract(text: str, *, source: str = "contract") -> Contract:
    """Parse ODCS v3 YAML text; ``source`` names it in error messages.

    Examples
    --------
    >>> text = '''
    ... apiVersion: v3.1.0
    ... kind: DataContract
    ... id: loans
    ... version: 1.0.0
    ... schema:
    ...   - name: loans
    ...     properties:
    ...       - name: amount
    ...         logicalType: numbr
    ... '''
    >>> parse_contract(text, source="loans.yaml")
    Traceback (most recent call last):
    ...
    aims.errors.ConfigError: loans.yaml, line 10: schema[0].properties[0].logicalType: ...
    """
    try:
        data, lines = load_with_lines(text)
    except YamlProblems as exc:
        raise ConfigError(_summary(exc.problems, source)) from None
    problems = check_document(data, lines)
    if problems:
        raise ConfigError(_summary(problems, source))
    reader = Reader(lines)
    contract = reader.contract(data)
    if reader.problems:
        reader.problems.sort(key=lambda p: p.line or 0)
        raise ConfigError(_summary(reader.problems, source))
    return contract


def _summary(problems: list[Problem], source: str) -> str:
    text = "; ".join(p.render(source) for p in problems[:_MAX_LISTED])
    rest = len(problems) - _MAX_LISTED
    return f"{text}; and {rest} more problem(s)" if rest > 0 else text


# -- writing -----------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Short lists of scalars on one line, block lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any] | tuple[Any, ...]) -> yaml.Node:
    flow = len(data) <= 30 and all(
        isinstance(x, str | int | float | bool) or x is None for x in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(tuple, _represent_list)


def dump_contract(contract: Contract) -> str:
    """The contract as ODCS v3 YAML text.

    Examples
    --------
    >>> c = Contract(name="loans", id="loans", tables=[Table("loans", [Column("amount", "number",
    ...     required=True, minimum=0)])])
    >>> parse_contract(dump_contract(c)).column("amount").minimum
    0
    """
    doc: dict[str, Any] = {
        "apiVersion": contract.api_version,
        "kind": "DataContract",
        "id": contract.id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"aims:{contract.name}")),
        "name": contract.name,
        "version": contract.version,
        "status": contract.status,
    }
    if contract.description:
        doc["description"] = contract.description
    doc["schema"] = [_table_doc(t, contract.api_version) for t in contract.tables]
    sla = [_freshness_doc(f) for f in contract.freshness] + list(contract.sla_extra)
    if sla:
        doc["slaProperties"] = sla
    for key, value in contract.extra.items():
        doc.setdefault(key, value)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_contract(contract: Contract, path: str | FsPath) -> FsPath:
    """Write the contract as ODCS v3 YAML to ``path`` and return the path."""
    p = FsPath(path)
    if p.is_dir():
        raise InvalidInput(f"{p}: is a folder; give a file name such as contract.odcs.yaml")
    if not p.parent.exists():
        raise NotFound(f"{p.parent}: no such folder to write the contract in")
    p.write_text(dump_contract(contract), encoding="utf-8")
    return p


def _table_doc(table: Table, api_version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": table.name, "logicalType": "object"}
    if table.physical_type:
        out["physicalType"] = table.physical_type
    if table.description:
        out["description"] = table.description
    for key, value in table.extra.items():
        out[key] = value
    out["properties"] = [_column_doc(c, api_version) for c in table.columns]
    if table.quality:
        out["quality"] = [_quality_doc(q) for q in table.quality]
    return out


def _column_doc(col: Column, api_version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": col.name}
    if col.logical_type:
        out["logicalType"] = col.logical_type
    if col.physical_type:
        out["physicalType"] = col.physical_type
    if col.description:
        out["description"] = col.description
    out["required"] = col.required
    if col.unique:
        out["unique"] = True
    if col.primary_key:
        out["primaryKey"] = True
    options: dict[str, Any] = {}
    for key, value in (
        ("minimum", col.minimum),
        ("exclusiveMinimum", col.exclusive_minimum),
        ("maximum", col.maximum),
        ("exclusiveMaximum", col.exclusive_maximum),
        ("minLength", col.min_length),
        ("maxLength", col.max_length),
        ("pattern", col.pattern),
    ):
        if value is not None:
            options[key] = value
    options.update(col.options_extra)
    if options:
        out["logicalTypeOptions"] = options
    quality = [_quality_doc(q) for q in col.quality]
    if col.allowed_values is not None and api_version >= "v3.2":
        out["enum"] = [{"value": v} for v in col.allowed_values]
    elif col.allowed_values is not None:
        # ``enum`` arrived in ODCS v3.2; older versions say the same with a library metric.
        valid = {"metric": "invalidValues", "arguments": {"validValues": col.allowed_values}}
        quality.insert(0, {**valid, "mustBe": 0})
    if quality:
        out["quality"] = quality
    custom = [
        {"property": name, "value": value}
        for name, value, on in (
            ("aimsLabel", True, col.label),
            ("aimsSensitive", True, col.sensitive),
            ("aimsPii", col.pii, col.pii is not None),
            ("aimsAllowNonFinite", True, col.allow_non_finite),
        )
        if on
    ] + list(col.custom_extra)
    if custom:
        out["customProperties"] = custom
    for key, value in col.extra.items():
        out.setdefault(key, value)
    return out


def _quality_doc(rule: QualityRule) -> dict[str, Any]:
    if rule.metric is None:
        return dict(rule.extra)
    out: dict[str, Any] = {"metric": rule.metric}
    if rule.arguments:
        out["arguments"] = rule.arguments
    if rule.threshold is not None:
        value = rule.threshold.value
        out[rule.threshold.operator] = list(value) if isinstance(value, tuple) else value
    if rule.unit != "rows":
        out["unit"] = rule.unit
    if rule.severity:
        out["severity"] = rule.severity
    for key, value in rule.extra.items():
        out.setdefault(key, value)
    return out


def _freshness_doc(fresh: Freshness) -> dict[str, Any]:
    element = f"{fresh.table}.{fresh.column}" if fresh.table else fresh.column
    value: float | int = int(fresh.value) if float(fresh.value).is_integer() else fresh.value
    out: dict[str, Any] = {"property": "latency", "value": value, "unit": fresh.unit}
    out["element"] = element
    for key, item in fresh.extra.items():
        out.setdefault(key, item)
    return out

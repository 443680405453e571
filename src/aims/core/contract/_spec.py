"""The shape of an ODCS v3 document, checked field by field with line numbers.

This follows the official JSON Schema of ODCS v3.0-v3.2 for every part aims
reads (fundamentals, schema objects and properties, quality rules, SLA
properties, custom properties): unknown keys, wrong types and values outside
an enumeration are reported with their path and line. Sections aims only
carries along (servers, team, roles, support, price, relationships, ...) are
checked for their container type and otherwise kept as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aims.core.contract._yaml import Path, Problem, line_of
from aims.core.contract.model import LOGICAL_TYPES, OPERATORS

API_VERSIONS = ("v3.2.0", "v3.1.0", "v3.0.2", "v3.0.1", "v3.0.0")


class Spec:
    """A validator for one value; appends :class:`Problem` s instead of raising."""

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        raise NotImplementedError

    @staticmethod
    def fail(path: Path, lines: dict[Path, int], out: list[Problem], message: str) -> None:
        out.append(Problem(path, line_of(lines, path), message))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


@dataclass
class Scalar(Spec):
    """A string, boolean, integer or number; ``coerce`` lets numbers stand for strings."""

    kind: str
    choices: tuple[Any, ...] | None = None
    coerce: bool = False

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        ok = {
            "string": isinstance(value, str)
            or (self.coerce and isinstance(value, int | float) and not isinstance(value, bool)),
            "boolean": isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "any": True,
        }[self.kind]
        if not ok:
            self.fail(path, lines, out, f"must be a {self.kind}, not {_kind(value)}")
        elif self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            self.fail(path, lines, out, f"{value!r} is not allowed; use one of {allowed}")


@dataclass
class ListOf(Spec):
    """A list whose items all follow ``item``."""

    item: Spec

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        if not isinstance(value, list):
            self.fail(path, lines, out, f"must be a list, not {_kind(value)}")
            return
        for i, item in enumerate(value):
            self.item.check(item, (*path, i), lines, out)


@dataclass
class Obj(Spec):
    """A mapping with known keys; ``open`` mappings accept any key."""

    fields: Mapping[str, Spec] = field(default_factory=dict)
    required: Sequence[str] = ()
    open: bool = False

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        if not isinstance(value, dict):
            self.fail(path, lines, out, f"must be a mapping, not {_kind(value)}")
            return
        for key in self.required:
            if key not in value:
                self.fail(path, lines, out, f"the required field {key!r} is missing")
        for key, item in value.items():
            spec = self.fields.get(key)
            if spec is None:
                if not self.open:
                    hint = _closest(key, self.fields)
                    self.fail((*path, key), lines, out, f"unknown field{hint}")
                continue
            spec.check(item, (*path, key), lines, out)


@dataclass
class Either(Spec):
    """One of several shapes (ODCS uses this for ``context`` and ``team``)."""

    options: tuple[Spec, ...]
    description: str

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        for option in self.options:
            trial: list[Problem] = []
            option.check(value, path, lines, trial)
            if not trial:
                return
        self.fail(path, lines, out, f"must be {self.description}, not {_kind(value)}")


def _closest(key: str, known: Mapping[str, Spec]) -> str:
    import difflib

    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return f"; did you mean {match[0]!r}?" if match else ""


STR = Scalar("string")
BOOL = Scalar("boolean")
INT = Scalar("integer")
NUM = Scalar("number")
ANY = Scalar("any")
OPEN = Obj(open=True)
ANY_LIST = ListOf(ANY)
STR_LIST = ListOf(STR)

CUSTOM_PROPERTY = Obj(
    {"id": STR, "property": STR, "value": ANY, "description": STR, "vendor": STR},
    required=("property", "value"),
)
CUSTOM_PROPERTIES = ListOf(CUSTOM_PROPERTY)

_ELEMENT: dict[str, Spec] = {
    "id": STR,
    "name": STR,
    "physicalType": STR,
    "physicalName": STR,
    "description": STR,
    "businessName": STR,
    "deprecated": BOOL,
    "synonyms": ANY_LIST,
    "authoritativeDefinitions": ANY_LIST,
    "tags": STR_LIST,
    "customProperties": CUSTOM_PROPERTIES,
    "relationships": ANY_LIST,
    "context": ANY,
}

_QUALITY_FIELDS: dict[str, Spec] = {
    "id": STR,
    "name": STR,
    "description": STR,
    "authoritativeDefinitions": ANY_LIST,
    "businessImpact": STR,
    "customProperties": CUSTOM_PROPERTIES,
    "dimension": Scalar(
        "string",
        (
            "accuracy",
            "completeness",
            "conformity",
            "consistency",
            "coverage",
            "timeliness",
            "uniqueness",
        ),
    ),
    "method": STR,
    "schedule": STR,
    "scheduler": STR,
    "severity": STR,
    "tags": STR_LIST,
    "type": Scalar("string", ("text", "library", "sql", "custom")),
    "unit": STR,
    "metric": STR,
    "rule": STR,
    "arguments": OPEN,
    "query": STR,
    "engine": STR,
    "implementation": Either((STR, OPEN), "a string or a mapping"),
    **{op: ANY for op in OPERATORS},
}
QUALITY = ListOf(Obj(_QUALITY_FIELDS))

ENUM_VALUE = Either(
    (
        Obj(
            {
                "value": ANY,
                "label": STR,
                "id": STR,
                "description": STR,
                "customProperties": CUSTOM_PROPERTIES,
                "authoritativeDefinitions": ANY_LIST,
                "tags": STR_LIST,
            },
            required=("value",),
        ),
        Scalar("string"),
        Scalar("number"),
        Scalar("boolean"),
    ),
    "a mapping with a 'value' (or a plain value)",
)

_RANGE_OPTIONS = {
    "minimum": ANY,
    "maximum": ANY,
    "exclusiveMinimum": ANY,
    "exclusiveMaximum": ANY,
    "format": STR,
}

OPTIONS_BY_TYPE: dict[str, dict[str, Spec]] = {
    "string": {"minLength": INT, "maxLength": INT, "pattern": STR, "format": STR},
    "date": dict(_RANGE_OPTIONS),
    "timestamp": {**_RANGE_OPTIONS, "timezone": BOOL, "defaultTimezone": STR},
    "time": {**_RANGE_OPTIONS, "timezone": BOOL, "defaultTimezone": STR},
    "integer": {**_RANGE_OPTIONS, "multipleOf": NUM},
    "number": {**_RANGE_OPTIONS, "multipleOf": NUM},
    "object": {"maxProperties": INT, "minProperties": INT, "required": STR_LIST},
    "array": {"maxItems": INT, "minItems": INT, "uniqueItems": BOOL},
    "vector": {
        "dimensions": INT,
        "elementType": STR,
        "distanceMetric": STR,
        "embeddingModel": STR,
        "embeddingModelVersion": STR,
        "normalized": BOOL,
    },
}


class PropertySpec(Spec):
    """A schema property; its ``logicalTypeOptions`` keys depend on its ``logicalType``."""

    def __init__(self) -> None:
        self.fields: dict[str, Spec] = {
            **_ELEMENT,
            "primaryKey": BOOL,
            "primaryKeyPosition": INT,
            "logicalType": Scalar("string", LOGICAL_TYPES),
            "logicalTypeOptions": OPEN,
            "semanticType": Scalar("string", ("column", "measure", "dimension")),
            "required": BOOL,
            "unique": BOOL,
            "partitioned": BOOL,
            "partitionKeyPosition": INT,
            "classification": STR,
            "encryptedName": STR,
            "transformSourceObjects": STR_LIST,
            "transformLogic": STR,
            "transformDescription": STR,
            "examples": ANY_LIST,
            "enum": ListOf(ENUM_VALUE),
            "criticalDataElement": BOOL,
            "quality": QUALITY,
            "properties": ListOf(self),
            "items": self,
            "map": OPEN,
        }

    def check(self, value: Any, path: Path, lines: dict[Path, int], out: list[Problem]) -> None:
        is_item = bool(path) and path[-1] == "items"
        Obj(self.fields, required=() if is_item else ("name",)).check(value, path, lines, out)
        if not isinstance(value, dict) or not isinstance(value.get("logicalTypeOptions"), dict):
            return
        logical = value.get("logicalType")
        allowed = OPTIONS_BY_TYPE.get(logical) if isinstance(logical, str) else None
        opt_path = (*path, "logicalTypeOptions")
        if allowed is None:
            if logical is None:
                self.fail(opt_path, lines, out, "needs a logicalType to say which options apply")
            return
        Obj(allowed).check(value["logicalTypeOptions"], opt_path, lines, out)


SCHEMA_OBJECT = Obj(
    {
        **_ELEMENT,
        "logicalType": Scalar("string", ("object",)),
        "dataGranularityDescription": STR,
        "properties": ListOf(PropertySpec()),
        "quality": QUALITY,
    },
    required=("name",),
)

SLA_PROPERTY = Obj(
    {
        "id": STR,
        "property": STR,
        "value": ANY,
        "valueExt": ANY,
        "unit": STR,
        "element": STR,
        "driver": STR,
        "description": STR,
        "scheduler": STR,
        "schedule": STR,
        "customProperties": CUSTOM_PROPERTIES,
        "authoritativeDefinitions": ANY_LIST,
    },
    required=("property", "value"),
)

DOCUMENT = Obj(
    {
        "version": Scalar("string", coerce=True),
        "kind": Scalar("string", ("DataContract",)),
        "apiVersion": Scalar("string", API_VERSIONS),
        "id": Scalar("string", coerce=True),
        "name": STR,
        "tenant": STR,
        "tags": STR_LIST,
        "status": STR,
        "servers": ListOf(OPEN),
        "dataProduct": STR,
        "description": Obj(
            {
                "usage": STR,
                "purpose": STR,
                "limitations": STR,
                "authoritativeDefinitions": ANY_LIST,
                "customProperties": CUSTOM_PROPERTIES,
            }
        ),
        "domain": STR,
        "context": Either((STR, OPEN), "a string or a mapping"),
        "schema": ListOf(SCHEMA_OBJECT),
        "support": Either((ANY_LIST, OPEN), "a list or a mapping"),
        "price": OPEN,
        "team": Either((OPEN, ANY_LIST), "a mapping or a list"),
        "roles": ListOf(OPEN),
        "slaDefaultElement": STR,
        "slaProperties": ListOf(SLA_PROPERTY),
        "authoritativeDefinitions": ANY_LIST,
        "customProperties": CUSTOM_PROPERTIES,
        "contractCreatedTs": STR,
    },
    required=("version", "apiVersion", "kind", "id"),
)


def check_document(data: Any, lines: dict[Path, int]) -> list[Problem]:
    """Every structural problem of an ODCS v3 document, in document order."""
    out: list[Problem] = []
    if not isinstance(data, dict):
        message = (
            "an ODCS contract is a YAML mapping of fields (apiVersion, kind, id, version, "
            f"schema, ...), not {_kind(data)}"
        )
        return [Problem((), line_of(lines, ()), message)]
    if isinstance(data, dict):
        api = data.get("apiVersion")
        if isinstance(api, str) and api.startswith("v2"):
            return [
                Problem(
                    ("apiVersion",),
                    line_of(lines, ("apiVersion",)),
                    f"{api} is ODCS v2; aims reads ODCS v3 (v3.0.0 to v3.2.0): "
                    "convert the contract to v3 first",
                )
            ]
    DOCUMENT.check(data, (), lines, out)
    out.sort(key=lambda p: p.line or 0)
    return out

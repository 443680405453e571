"""Parsing of ``NAME@VERSION`` references used across the CLI and API."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aims.errors import InvalidInput

__all__ = ["ALIASES", "NAME_RE", "Ref", "check_name", "parse_ref"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
ALIASES = ("latest", "production", "staging")


@dataclass(frozen=True)
class Ref:
    """A reference to a version: a number, or an alias resolved against the store."""

    name: str
    version: int | None
    alias: str | None = None

    def __str__(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else self.alias}"


def check_name(name: str, what: str = "name") -> str:
    """Validate a model or dataset name."""
    if not NAME_RE.match(name or ""):
        raise InvalidInput(
            f"{what} {name!r} is not valid: use letters, digits, '.', '_' or '-' "
            "(at most 200 characters, starting with a letter or digit)"
        )
    return name


def parse_ref(text: str, *, default_alias: str | None = None) -> Ref:
    """Parse ``NAME@VERSION`` (VERSION a positive integer, ``v3``, or an alias).

    Examples
    --------
    >>> parse_ref("churn@3")
    Ref(name='churn', version=3, alias=None)
    >>> parse_ref("churn@production").alias
    'production'
    """
    name, sep, version = text.partition("@")
    check_name(name)
    if not sep:
        if default_alias is None:
            raise InvalidInput(f"{text!r}: give a version as NAME@VERSION, e.g. {name}@1")
        return Ref(name, None, default_alias)
    v = version[1:] if version[:1] in ("v", "V") else version
    if v.isdigit() and int(v) > 0:
        return Ref(name, int(v))
    if version in ALIASES:
        return Ref(name, None, version)
    raise InvalidInput(
        f"{text!r}: version {version!r} does not parse; use a positive integer "
        f"(e.g. {name}@1) or one of {', '.join(ALIASES)}"
    )

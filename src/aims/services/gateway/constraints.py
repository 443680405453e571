"""Argument constraints of an allow-list entry, and their check on a call's arguments.

A constraint set maps an argument name to the rules its value must meet::

    {"path": {"prefix": "/data/reports/"}, "amount": {"max": 100},
     "currency": {"enum": ["EUR", "USD"]}, "ticket": {"pattern": "^OPS-[0-9]+$"},
     "to": {"domains": ["acme.example"]}}

An argument named by a constraint must be present. ``prefix`` is checked on
the normalised path, so ``/data/reports/../secrets`` does not pass as
``/data/reports/``; ``pattern`` must match the whole value. ``domains`` bounds
where data may go: every e-mail address and every URL's host in the argument
(a string, or any strings inside a JSON value) must be one of the domains or
under one (``mail.acme.example`` is under ``acme.example``; ``acme.example.evil.net``
is not), so a mail, a share link or a webhook cannot be pointed elsewhere.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from aims.errors import InvalidInput

__all__ = ["RULES", "check_arguments", "destinations", "validate_constraints"]

RULES = ("prefix", "max", "enum", "pattern", "domains")
"""The rules a constraint may hold."""


def validate_constraints(constraints: Any) -> dict[str, dict[str, Any]]:
    """``constraints`` checked for shape; ``InvalidInput`` naming the bad rule.

    >>> validate_constraints({"n": {"max": 3}})
    {'n': {'max': 3}}
    """
    if not isinstance(constraints, dict):
        raise InvalidInput("constraints must map argument names to rules")
    out: dict[str, dict[str, Any]] = {}
    for arg, rules in constraints.items():
        if not isinstance(rules, dict) or not rules:
            raise InvalidInput(f"the constraint on {arg!r} must hold one of {', '.join(RULES)}")
        for rule, value in rules.items():
            if rule not in RULES:
                raise InvalidInput(
                    f"unknown rule {rule!r} on {arg!r}; rules are {', '.join(RULES)}"
                )
            if rule == "prefix" and not (isinstance(value, str) and value.startswith("/")):
                raise InvalidInput(f"prefix of {arg!r} must be an absolute path, got {value!r}")
            if rule == "max" and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise InvalidInput(f"max of {arg!r} must be a number, got {value!r}")
            if rule == "enum" and not (isinstance(value, list) and value):
                raise InvalidInput(f"enum of {arg!r} must be a non-empty list, got {value!r}")
            if rule == "domains" and not (
                isinstance(value, list) and value and all(_is_domain(d) for d in value)
            ):
                raise InvalidInput(
                    f"domains of {arg!r} must be a non-empty list of domain names "
                    f"(acme.example, without a scheme or a path), got {value!r}"
                )
            if rule == "pattern":
                try:
                    re.compile(str(value))
                except re.error as exc:
                    raise InvalidInput(
                        f"pattern of {arg!r} is not a regular expression: {exc}"
                    ) from None
        out[str(arg)] = dict(rules)
    return out


_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*$")
# Where a string sends something: an e-mail address (also git's user@host:path) or a URL's
# host (after any user info), without its port.
_DESTINATION = re.compile(
    r"[\w.+-]+@(?P<mail>[a-z0-9-]+(?:\.[a-z0-9-]+)+)"
    r"|[a-z][a-z0-9+.-]*://(?:[^/\s@?#]*@)?(?P<host>[a-z0-9-]+(?:\.[a-z0-9-]+)*)",
    re.IGNORECASE,
)


def _is_domain(value: Any) -> bool:
    return isinstance(value, str) and _DOMAIN.match(value) is not None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def destinations(value: Any) -> list[str]:
    """The hosts ``value`` would send something to: e-mail domains and URL hosts, lower-cased.

    >>> destinations({"to": ["ann@Acme.example"], "body": "see https://x.example:8443/a"})
    ['acme.example', 'x.example']
    """
    out: list[str] = []
    for text in _strings(value):
        for m in _DESTINATION.finditer(text):
            host = (m.group("mail") or m.group("host")).lower().rstrip(".")
            if host not in out:
                out.append(host)
    return out


def _under(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _within(path: str, prefix: str) -> bool:
    if not path.startswith("/"):
        return False
    norm = posixpath.normpath(path)
    base = posixpath.normpath(prefix)
    return norm == base or norm.startswith(base.rstrip("/") + "/")


def check_arguments(constraints: dict[str, dict[str, Any]], arguments: dict[str, Any]) -> list[str]:
    """Every way ``arguments`` break ``constraints``, as sentences; empty when they pass.

    Examples
    --------
    >>> c = {"path": {"prefix": "/data/"}, "amount": {"max": 100}}
    >>> check_arguments(c, {"path": "/data/a.csv", "amount": 5})
    []
    >>> check_arguments(c, {"path": "/data/../etc/passwd", "amount": 500})
    ["path '/data/../etc/passwd' is outside /data/", 'amount 500 is over the maximum 100']
    """
    problems: list[str] = []
    for arg, rules in constraints.items():
        if arg not in arguments:
            problems.append(f"{arg} is required by the allow-list and missing")
            continue
        value = arguments[arg]
        if "prefix" in rules and not (isinstance(value, str) and _within(value, rules["prefix"])):
            problems.append(f"{arg} {value!r} is outside {rules['prefix']}")
        if "max" in rules and (
            isinstance(value, bool) or not isinstance(value, int | float) or value > rules["max"]
        ):
            problems.append(f"{arg} {value!r} is over the maximum {rules['max']}")
        if "enum" in rules and value not in rules["enum"]:
            problems.append(f"{arg} {value!r} is not one of {rules['enum']}")
        if "pattern" in rules and not (
            isinstance(value, str) and re.fullmatch(str(rules["pattern"]), value)
        ):
            problems.append(f"{arg} {value!r} does not match {rules['pattern']}")
        if "domains" in rules:
            domains = [d.lower() for d in rules["domains"]]
            outside = [h for h in destinations(value) if not _under(h, domains)]
            if outside:
                problems.append(
                    f"{arg} sends to {', '.join(outside)}, outside {', '.join(domains)}"
                )
    return problems

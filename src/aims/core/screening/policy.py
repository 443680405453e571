"""The screening policy: a verdict per category and location, and the URL lists.

Defaults (see docs/screening.md):

============  ===========  =========  ======
category      description  arguments  result
============  ===========  =========  ======
override      deny         warn       redact
poisoning     deny         warn       redact
exfiltration  deny         deny       redact
url           deny         deny       redact
obfuscation   deny         warn       redact
============  ===========  =========  ======

A description is refused outright (a tool that hides instructions should not
be offered at all); arguments that carry secrets or go to a bad host are
refused, other findings in arguments are recorded; results are forwarded
with the findings cut out, so the agent still gets the rest of the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from aims.core.screening.addressing import INTENT_RULES
from aims.core.screening.commands import COMMAND_RULES
from aims.core.screening.descriptions import DESCRIPTION_RULES
from aims.core.screening.exfiltration import EXFILTRATION_URLS, SECRETS
from aims.core.screening.findings import (
    CATEGORIES,
    LOCATIONS,
    VERDICTS,
    Category,
    Location,
    Verdict,
)
from aims.core.screening.instructions import OVERRIDE, POISONING
from aims.core.screening.obfuscation import OBFUSCATION_RULES
from aims.core.screening.urls import KNOWN_BAD_DOMAINS, URL_RULES
from aims.errors import ConfigError

DEFAULT_VERDICTS: Mapping[Category, Mapping[Location, Verdict]] = {
    "override": {"description": "deny", "arguments": "warn", "result": "redact"},
    "poisoning": {"description": "deny", "arguments": "warn", "result": "redact"},
    "exfiltration": {"description": "deny", "arguments": "deny", "result": "redact"},
    "url": {"description": "deny", "arguments": "deny", "result": "redact"},
    "obfuscation": {"description": "deny", "arguments": "warn", "result": "redact"},
}

RULE_NAMES: frozenset[str] = frozenset(
    [r.name for r in (*OVERRIDE, *POISONING, *SECRETS, *EXFILTRATION_URLS)]
    + list(URL_RULES)
    + list(OBFUSCATION_RULES)
    + list(INTENT_RULES)
    + list(COMMAND_RULES)
    + list(DESCRIPTION_RULES)
)
"""Every rule's name."""

_KEYS = ("verdicts", "blocked_domains", "allowed_domains", "disabled_rules", "learned_signal")


@dataclass(frozen=True)
class ScreeningPolicy:
    """What to do with findings, and which hosts are known bad or allowed."""

    verdicts: Mapping[Category, Mapping[Location, Verdict]] = field(
        default_factory=lambda: DEFAULT_VERDICTS
    )
    """Verdict per category and location (missing pairs take the default)."""
    blocked_domains: frozenset[str] = KNOWN_BAD_DOMAINS
    """Hosts whose URLs are findings (with their subdomains)."""
    allowed_domains: frozenset[str] | None = None
    """When set, URLs to any other host are findings; ``None`` allows every unblocked host."""
    disabled_rules: frozenset[str] = frozenset()
    """Rules switched off by name."""
    learned_signal: bool = True
    """Whether the learned model (:mod:`~aims.core.screening.classifier`) screens too."""

    def verdict(self, category: Category, where: Location) -> Verdict:
        """The verdict for a finding of ``category`` in a text from ``where``."""
        return self.verdicts.get(category, {}).get(where) or DEFAULT_VERDICTS[category][where]

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | None, *, source: str = "screening"
    ) -> ScreeningPolicy:
        """A policy from settings (the ``gateway.screening`` section of ``aims.yaml``, say).

        ``blocked_domains`` add to :data:`~aims.core.screening.urls.KNOWN_BAD_DOMAINS`;
        ``verdicts`` override the defaults pair by pair. Any unknown key,
        category, location, verdict or rule name raises :class:`ConfigError`
        naming it and what is accepted.

        >>> p = ScreeningPolicy.from_mapping({"verdicts": {"override": {"arguments": "deny"}}})
        >>> p.verdict("override", "arguments"), p.verdict("override", "result")
        ('deny', 'redact')
        """
        data = data or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source} must be a mapping with keys {', '.join(_KEYS)}")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"{source} has unknown key(s) {', '.join(map(str, unknown))}; "
                f"accepted: {', '.join(_KEYS)}"
            )
        verdicts = _verdicts(data.get("verdicts"), f"{source}.verdicts")
        blocked = _domains(data.get("blocked_domains"), f"{source}.blocked_domains")
        allowed_raw = data.get("allowed_domains")
        allowed = (
            None if allowed_raw is None else _domains(allowed_raw, f"{source}.allowed_domains")
        )
        disabled = _names(data.get("disabled_rules"), f"{source}.disabled_rules")
        bad = sorted(disabled - RULE_NAMES)
        if bad:
            raise ConfigError(
                f"{source}.disabled_rules names unknown rule(s) {', '.join(bad)}; "
                f"known rules: {', '.join(sorted(RULE_NAMES))}"
            )
        learned = data.get("learned_signal", True)
        if not isinstance(learned, bool):
            raise ConfigError(f"{source}.learned_signal must be true or false, got {learned!r}")
        return cls(
            verdicts=verdicts,
            blocked_domains=KNOWN_BAD_DOMAINS | blocked,
            allowed_domains=allowed,
            disabled_rules=disabled,
            learned_signal=learned,
        )


def _verdicts(raw: Any, where: str) -> Mapping[Category, Mapping[Location, Verdict]]:
    if raw is None:
        return DEFAULT_VERDICTS
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must map a category to {{location: verdict}}")
    out: dict[Category, dict[Location, Verdict]] = {c: dict(v) for c, v in DEFAULT_VERDICTS.items()}
    for category, per_location in raw.items():
        if category not in CATEGORIES:
            raise ConfigError(
                f"{where} names unknown category {category!r}; categories: {', '.join(CATEGORIES)}"
            )
        if isinstance(per_location, str):
            # One verdict for every location.
            per_location = dict.fromkeys(LOCATIONS, per_location)
        if not isinstance(per_location, Mapping):
            raise ConfigError(
                f"{where}.{category} must be a verdict or map a location to a verdict"
            )
        for location, verdict in per_location.items():
            if location not in LOCATIONS:
                raise ConfigError(
                    f"{where}.{category} names unknown location {location!r}; "
                    f"locations: {', '.join(LOCATIONS)}"
                )
            if verdict not in VERDICTS:
                raise ConfigError(
                    f"{where}.{category}.{location} is {verdict!r}; verdicts: {', '.join(VERDICTS)}"
                )
            out[cast(Category, category)][cast(Location, location)] = cast(Verdict, verdict)
    return out


def _names(raw: Any, where: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if isinstance(raw, str) or not all(isinstance(x, str) and x for x in raw):
        raise ConfigError(f"{where} must be a list of names, e.g. [jwt, ip-address-host]")
    return frozenset(raw)


def _domains(raw: Any, where: str) -> frozenset[str]:
    names = _names(raw, where)
    bad = sorted(d for d in names if "/" in d or ":" in d or " " in d)
    if bad:
        raise ConfigError(
            f"{where} holds {', '.join(bad)}: give host names only, e.g. example.com or *.example.com"
        )
    return frozenset(d.lower().removeprefix("*.") for d in names)

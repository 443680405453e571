"""What screening reports: findings, the verdict, and the words they use.

A :class:`Finding` says which rule matched where (a span of the original
text, never of its normalised form) and shows a short excerpt; excerpts of
secrets are masked, so a finding can be logged or audited without leaking
what it found. A :class:`Screening` gathers the findings of one text (or one
JSON value) with the verdict the policy gives them and, when the verdict is
``redact``, the text with the offending spans replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

Category = Literal["override", "poisoning", "exfiltration", "url", "obfuscation"]
"""Rule families: instruction override, tool poisoning, secret exfiltration,
known-bad or disallowed URLs, and obfuscation (invisible, tag, bidi and
look-alike characters)."""

Location = Literal["description", "arguments", "result"]
"""Where a text comes from: a tool's description, a call's arguments, or its result."""

Verdict = Literal["allow", "warn", "redact", "deny"]
"""What to do with the text, weakest first: forward it, forward it and record
a warning, forward it with the findings cut out, or refuse it."""

CATEGORIES: tuple[Category, ...] = get_args(Category)
LOCATIONS: tuple[Location, ...] = get_args(Location)
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

_STRENGTH = {v: i for i, v in enumerate(VERDICTS)}

EXCERPT_CHARS = 80
"""Excerpts longer than this are cut (with an ellipsis)."""


def strongest(verdicts: Any) -> Verdict:
    """The strongest of ``verdicts`` (``allow`` when there are none).

    >>> strongest(["warn", "deny", "redact"])
    'deny'
    >>> strongest([])
    'allow'
    """
    best: Verdict = "allow"
    for v in verdicts:
        if _STRENGTH[v] > _STRENGTH[best]:
            best = v
    return best


def excerpt(text: str, *, secret: bool = False) -> str:
    """A one-line excerpt of ``text`` for a finding; a secret keeps only its first 4 characters.

    >>> excerpt("AKIAIOSFODNN7EXAMPLE", secret=True)
    'AKIA…(20 chars)'
    """
    flat = " ".join(text.split())
    if secret:
        return f"{flat[:4]}…({len(flat)} chars)"
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


@dataclass(frozen=True)
class Finding:
    """One rule that matched a text."""

    category: Category
    """The rule's family."""
    rule: str
    """The rule's name, stable across releases (policies may disable rules by name)."""
    span: tuple[int, int]
    """Start and end offsets of the match in the original text."""
    excerpt: str
    """A short, one-line excerpt of the match (masked for secrets)."""
    path: str = ""
    """For :func:`screen_json`: where in the JSON value the text was (``$.a[0]``)."""

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON-ready data."""
        d: dict[str, Any] = {
            "category": self.category,
            "rule": self.rule,
            "span": list(self.span),
            "excerpt": self.excerpt,
        }
        if self.path:
            d["path"] = self.path
        return d


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one text or JSON value."""

    verdict: Verdict
    """The strongest verdict the policy gives any finding (``allow`` without findings)."""
    findings: tuple[Finding, ...]
    """Every finding, in order of position."""
    redacted: Any = None
    """When the verdict is ``redact``: the text (a JSON value for :func:`screen_json`)
    with each finding replaced by a marker and hidden characters removed; otherwise ``None``."""

    @property
    def categories(self) -> frozenset[Category]:
        """The categories of the findings."""
        return frozenset(f.category for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The screening as plain JSON-ready data."""
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "redacted": self.redacted,
        }

"""Pattern rules and the loop that runs them over a normalised text.

A :class:`Rule` is a compiled pattern with a category and a stable name. Each
rule names a few *trigger* words, one of which every match contains: the rule
runs only in windows around their occurrences in the lower-cased text, so a
large text costs one substring search per trigger plus a regex pass over a
few hundred characters per occurrence, instead of a regex pass per rule. Rules that quote an
attack phrase can opt out of matching where the phrase is talked about rather
than said: in quotation marks in a sentence about attacks (a security guide),
or reported as what an attacker or flaw could do (an advisory); see
:mod:`aims.core.screening.context`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import ahocorasick

from aims.core.screening.context import (
    is_fenced_quote,
    is_named_example,
    is_quoted_mention,
    is_reported,
)
from aims.core.screening.findings import Category

FLAGS = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Rule:
    """One named pattern of a category."""

    name: str
    category: Category
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    """Lower-case substrings; the rule runs only if the text contains one."""
    secret: bool = False
    """The match is a secret: its excerpt is masked."""
    quotable: bool = False
    """A quoted or reported mention of the phrase (talk about attacks) is not a finding."""
    accept: Callable[[re.Match[str]], bool] | None = None
    """A further check of a match (an entropy test, a URL parse); ``None`` accepts all."""


def rule(
    name: str,
    category: Category,
    pattern: str,
    triggers: Iterable[str],
    *,
    secret: bool = False,
    quotable: bool = False,
    accept: Callable[[re.Match[str]], bool] | None = None,
    flags: int = FLAGS,
) -> Rule:
    """Build a :class:`Rule`, compiling ``pattern`` (verbose syntax is not used: spaces count)."""
    words = {t.lower() for t in triggers}
    if not all(t.isascii() for t in words):
        raise ValueError(f"rule {name}: triggers must be ASCII")
    return Rule(
        name,
        category,
        re.compile(pattern, flags),
        # A trigger that contains another one adds nothing but a search.
        tuple(sorted(t for t in words if not any(o != t and o in t for o in words))),
        secret,
        quotable,
        accept,
    )


MAX_EXEMPTIONS = 32
"""At most this many quoted or reported mentions of one text are exempted."""

WINDOW_BEFORE = 200
"""How far before a trigger word a match of its rule may start."""
WINDOW_AFTER = 400
"""How far after a trigger word the search for a match of its rule goes."""


def _positions(lower: str, trigger: str, seen: dict[str, list[int]]) -> list[int]:
    """Where ``trigger`` occurs in ``lower`` (memoised in ``seen``: rules share triggers)."""
    found = seen.get(trigger)
    if found is None:
        found = []
        i = lower.find(trigger)
        while i >= 0:
            found.append(i)
            i = lower.find(trigger, i + 1)
        seen[trigger] = found
    return found


def _windows(
    lower: str, triggers: tuple[str, ...], seen: dict[str, list[int]]
) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` windows around every occurrence of a trigger in ``lower``."""
    hits = sorted(i for t in triggers for i in _positions(lower, t, seen))
    windows: list[tuple[int, int]] = []
    for h in hits:
        start, end = max(0, h - WINDOW_BEFORE), min(len(lower), h + WINDOW_AFTER)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


_WORD_END = re.compile(r"\s")


def _window_end(text: str, pos: int) -> int:
    # A window ends at whitespace, so that "\b" does not match in the middle of a word.
    if pos >= len(text):
        return len(text)
    m = _WORD_END.search(text, pos, min(len(text), pos + 64))
    return m.start() if m is not None else min(len(text), pos + 64)


def triggers_of(rules: Iterable[Rule]) -> frozenset[str]:
    """Every trigger word of ``rules`` (computed once per rule set by the screener)."""
    return frozenset(t for r in rules for t in r.triggers)


class TriggerIndex:
    """Finds which of a set of trigger words a text contains, in one pass over the text
    (an Aho-Corasick automaton: a few hundred separate substring searches cost ten
    times as much on a short text)."""

    def __init__(self, triggers: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for t in set(triggers):
            self._automaton.add_word(t, t)
        self._automaton.make_automaton()

    def present(self, lower: str) -> set[str]:
        """The triggers that occur in ``lower`` (ASCII, lower-cased)."""
        return {t for _end, t in self._automaton.iter(lower)}


_BY_TRIGGER: dict[int, tuple[tuple[Rule, ...], dict[str, tuple[int, ...]]]] = {}


def _by_trigger(rules: tuple[Rule, ...]) -> dict[str, tuple[int, ...]]:
    """Each trigger of ``rules`` and the positions of the rules it belongs to (made once
    per rule set: the screener's sets are module constants)."""
    known = _BY_TRIGGER.get(id(rules))
    if known is not None and known[0] is rules:
        return known[1]
    index: dict[str, list[int]] = {}
    for i, r in enumerate(rules):
        for t in r.triggers:
            index.setdefault(t, []).append(i)
    made = {t: tuple(v) for t, v in index.items()}
    if len(_BY_TRIGGER) >= 64:
        _BY_TRIGGER.clear()  # rule sets made on the fly (tests, decoded text): bounded
    _BY_TRIGGER[id(rules)] = (rules, made)
    return made  # not read back: another thread may clear the table in between


def run_rules(
    text: str,
    lower: str,
    rules: Iterable[Rule],
    triggers: frozenset[str] | None = None,
    *,
    present: set[str] | None = None,
) -> Iterator[tuple[Rule, int, int]]:
    """Every accepted match of ``rules`` in ``text`` (``lower`` is ``text.lower()``).

    The text is first checked for every trigger word once (``triggers``, all
    the rules' triggers, computed here when not given): most short clean texts
    contain none and cost nothing more. Then a rule searches only windows
    around the occurrences of its triggers (a match found in a window is a
    match of the whole text: the search sees the text before the window's
    start), which keeps a large text that mentions a trigger once from
    costing a full pass per rule. ``present``, when given, is the set of triggers
    already known to occur in ``lower`` (it must be ASCII then).
    """
    rules = tuple(rules)
    same_offsets = len(lower) == len(text)
    if same_offsets and not lower.isascii():
        # Triggers are ASCII: searching a one-byte-per-character copy of the same length
        # finds them at the same offsets, several times faster than in wide text.
        lower = lower.encode("ascii", "replace").decode("ascii")
    if present is None:
        present = {t for t in (triggers_of(rules) if triggers is None else triggers) if t in lower}
    if not present:
        return
    seen: dict[str, list[int]] = {}
    # A text quoting or reporting attack phrases again and again is not documentation:
    # after this many exemptions the phrases count (and checking each one costs a search).
    exemptions = MAX_EXEMPTIONS
    by_trigger = _by_trigger(rules)
    # The rules with a trigger in the text, in their order (most texts hold few triggers).
    order = sorted({i for t in present for i in by_trigger.get(t, ())})
    for r in map(rules.__getitem__, order):
        mine = tuple(t for t in r.triggers if t in present)
        windows = _windows(lower, mine, seen) if same_offsets else [(0, len(text))]
        for start, end in windows:
            for m in r.pattern.finditer(text, start, _window_end(text, end)):
                if r.accept is not None and not r.accept(m):
                    continue
                if (
                    r.quotable
                    and exemptions > 0
                    and (
                        is_quoted_mention(text, m.start(), m.end())
                        or is_reported(text, m.start())
                        or is_named_example(text, m.start())
                        or is_fenced_quote(text, m.start())
                    )
                ):
                    exemptions -= 1
                    continue
                yield r, m.start(), m.end()

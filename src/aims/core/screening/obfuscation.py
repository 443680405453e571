"""Obfuscation: characters that hide text from a reader, and encoded instructions.

Normalisation (:mod:`~aims.core.screening.normalise`) already takes hidden
characters out and decodes tag characters, so the rules read what they hide.
This module turns *the hiding itself* into findings, because a legitimate
tool has no reason to do it:

* ``tag-characters`` and ``variation-selectors``: invisible ASCII (outside a
  flag emoji, and a single variation selector after an emoji, which are fine),
  and variation selectors after Latin letters, where none is defined;
* ``bidi-control``: characters that reorder what a reader sees;
* ``zero-width``: a zero-width character inside a Latin word, or three in a
  row (a lone one between emoji or in Persian or Indic text is fine);
* ``mixed-script``: a word mixing Latin letters with Cyrillic or Greek
  look-alikes.

Base64 runs that decode to readable text are decoded and screened with the
instruction rules (:func:`decoded_runs`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from aims.core.screening.confusables import CONFUSABLES, SCRIPTS_WITH_LOOKALIKES
from aims.core.screening.normalise import Normalised

OBFUSCATION_RULES = (
    "tag-characters",
    "variation-selectors",
    "bidi-control",
    "zero-width",
    "mixed-script",
    "too-many-findings",
)
"""The names of the obfuscation rules."""

MAX_DECODED_RUNS = 16
"""At most this many base64 runs of one text are decoded (bounding the cost of a large text)."""

_LOOKALIKE = re.compile(f"[{SCRIPTS_WITH_LOOKALIKES}]")
# A Latin letter and a Greek or Cyrillic one in the same word, in either order.
_MIXED = re.compile(
    rf"[A-Za-z]\w*?[{SCRIPTS_WITH_LOOKALIKES}]|[{SCRIPTS_WITH_LOOKALIKES}]\w*?[A-Za-z]"
)
# Greedy, so each match is a whole run; no look-arounds, which would cost a test at every
# position of a large text.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def _latin_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# The controls' own names ("RLO/PDF pair", "U+202E"): a test vector or a renderer's
# documentation shows the characters it names; a disguise does not name itself.
_BIDI_NAMES = re.compile(
    r"\b(?:RLO|LRO|RLE|LRE|RLI|LRI|FSI|PDI|U\+20(?:2[A-Ea-e]|6[6-9]))\b|\b(?i:bidi)"
    r"|\b(?i:(?:right|left)-to-(?:right|left)\s+(?:override|embedding|isolate))"
)


# Their names in text about typesetting ("the CMS inserts zero-width spaces in long
# compounds", "U+200B"): a line that says what it holds hides nothing.
_ZERO_WIDTH_NAMES = re.compile(
    r"(?i:zero[- ]width|word[- ]joiner)|\b(?:ZWSP|ZWJ|ZWNJ|U\+(?:200[B-Db-d]|2060|FEFF))\b|&#8203;"
)


# A look-alike letter named ("a Cyrillic 'а' (U+0430)", "homoglyph"): a phishing report
# or a detector's documentation shows the disguise it describes.
_LOOKALIKE_NAMES = re.compile(
    r"\bU\+0[34][0-9A-Fa-f]{2}\b|(?i:homoglyph|look-?alike|confusable|cyrillic|cirílic|"
    r"kyrillisch|cyrillique|cirillic|кириллиц)"
)


def _names_the_controls(
    text: str, at: int, names: re.Pattern[str] = _BIDI_NAMES, before: int = 0, after: int = 0
) -> bool:
    """Whether the line holding position ``at`` (or up to ``before`` characters of the
    lines before it, or ``after`` characters of the lines after it) names the controls
    (``names``)."""
    start = text.rfind("\n", 0, at) + 1
    if before:
        start = max(0, start - before)
    end = text.find("\n", at)
    end = len(text) if end < 0 else min(len(text), end + after)
    return names.search(text, start, end) is not None


_NAMED_REACH = 300
_MARKED_LETTER = re.compile("[A-Za-z][\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_MARKS = 4
_MARK_SCAN = 4096
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_OVERRIDES = re.compile("[\u202d\u202e]")


def _embeds_right_to_left(text: str, at: int) -> bool:
    """Whether the line holding position ``at``, or the lines just before it, hold Hebrew
    or Arabic letters, and none of them an override: embeddings and isolates are how
    right-to-left words are written inside left-to-right text and a number or a code inside
    right-to-left text (a letter's signature line too), while the reversing trick needs an
    override."""
    start = max(0, text.rfind("\n", 0, at) + 1 - _NAMED_REACH)
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return _RTL.search(text, start, end) is not None and _OVERRIDES.search(text, start, end) is None


def hidden_findings(norm: Normalised) -> Iterator[tuple[str, int, int, str]]:
    """``(rule, start, end, shown)`` in the original text for each suspicious hidden run and
    word; ``shown`` is what an excerpt shows (the decoded text of tag characters)."""
    text = norm.original
    for run in norm.hidden:
        if run.kind == "zero-width":
            before = text[run.start - 1] if run.start > 0 else ""
            after = text[run.end] if run.end < len(text) else ""
            inside_word = _latin_alnum(before) and _latin_alnum(after)
            if not inside_word and run.end - run.start < 3:
                continue
            if before.islower() and after.isupper():
                continue  # a break point in a CamelCase name ("Replication<ZWSP>Graph")
            if _names_the_controls(
                text, run.start, _ZERO_WIDTH_NAMES, before=_NAMED_REACH, after=_NAMED_REACH
            ):
                continue
        if run.kind == "bidi-control" and (
            # A lesson names the control, then shows it on a line of its own.
            _names_the_controls(text, run.start, before=_NAMED_REACH)
            or _embeds_right_to_left(text, run.start)
        ):
            continue
        shown = run.decoded or text[run.start : run.end].encode("unicode_escape").decode("ascii")
        yield run.kind, run.start, run.end, shown
    if not text.isascii():
        # Single variation selectors after Latin letters: no such sequence is defined, so
        # one after each letter marks (or watermarks) the text without changing how it
        # looks. Normalising drops them; a run of two or more is decoded above.
        marks = _MARKED_LETTER.findall(text, 0, _MARK_SCAN)
        if len(marks) >= _MARKS:
            first = _MARKED_LETTER.search(text)
            assert first is not None
            yield "variation-selectors", first.start(), first.end(), f"{len(marks)} marked letters"
    if not text.isascii() and _LOOKALIKE.search(text):
        end = 0
        for m in _MIXED.finditer(text):
            if m.start() < end:
                continue  # the same word
            start, end = m.start(), m.end()
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and text[end].isalnum():
                end += 1
            # A Greek letter that looks like no Latin one is science, not disguise: units
            # and symbols ("250μs", "λx", "2πr").
            if any(c in CONFUSABLES for c in text[start:end]) and not _names_the_controls(
                text, start, _LOOKALIKE_NAMES
            ):
                yield "mixed-script", start, end, text[start:end]


def decoded_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded)`` for base64 runs of ``text`` that decode to readable text."""
    if len(text) < 24:
        return
    for n, m in enumerate(_BASE64.finditer(text)):
        if n >= MAX_DECODED_RUNS:
            return
        run = m.group(0)
        # Identifiers and hashes are one case, or hex: real base64 text mixes both cases.
        if run.isupper() or run.islower() or run.isdigit():
            continue
        padded = run + "=" * (-len(run) % 4)
        try:
            raw = (
                base64.urlsafe_b64decode(padded)
                if ("-" in run or "_" in run)
                else base64.b64decode(padded, validate=True)
            )
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(c.isprintable() or c in "\n\t" for c in decoded)
        if decoded and " " in decoded and printable / len(decoded) >= 0.95:
            yield m.start(), m.end(), decoded

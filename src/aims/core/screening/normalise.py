"""Normalisation of a text before any rule reads it, with a map back to the original.

Rules match the *normalised* text, so that obfuscation does not hide an
instruction: each character goes through NFKC (full-width and mathematical
letters become plain ones), then the look-alike table of
:mod:`~aims.core.screening.confusables`. Characters that render as nothing are
taken out and remembered as *hidden runs*:

* zero-width characters (U+200B–U+200D, U+2060–U+2064, U+FEFF; U+00AD, the soft
  hyphen, is removed silently);
* bidirectional controls (U+202A–U+202E, U+2066–U+2069), which reorder what a
  reader sees (U+200E and U+200F, common in right-to-left text, are removed
  silently);
* Unicode tag characters (U+E0000–U+E007F), which mirror ASCII invisibly: they
  are *decoded* in place, so the instruction they hide is matched like any
  other (a flag's tag sequence after U+1F3F4 is left alone);
* runs of two or more variation selectors, which can carry one byte each:
  decoded in place too.

Every span found in the normalised text maps back to the original through
:meth:`Normalised.original_span`, so a finding points at (and a redaction
cuts) what the caller sent. ASCII text, the common case, is its own
normalisation and costs nothing.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from aims.core.screening.confusables import CONFUSABLES

HiddenKind = Literal["zero-width", "bidi-control", "tag-characters", "variation-selectors"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Removed without a finding: marks common in right-to-left text, and the soft hyphen,
# which hyphenation puts inside words legitimately.
_SILENT = frozenset("\u200e\u200f\u061c\u00ad")
_WAVING_BLACK_FLAG = "\U0001f3f4"
# Characters that change the length of the text: removed, or decoded from a run.
_STRUCTURAL = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad\u180e\u061c"
    "\ufe00-\ufe0f\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
# Look-alikes fold one character to one, so they are applied to the finished text at once.
_LOOKALIKES = re.compile("[" + "".join(sorted(CONFUSABLES)) + "]+")


def _fold_lookalikes(m: re.Match[str]) -> str:
    return "".join([CONFUSABLES[c] for c in m.group(0)])


_FLAG_TAGS = re.compile("\U0001f3f4([\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7})\U000e007f")


@dataclass(frozen=True)
class HiddenRun:
    """A run of invisible characters in the original text."""

    kind: HiddenKind
    start: int
    end: int
    decoded: str = ""
    """What tag characters or variation selectors spelled out (empty for the others)."""


@dataclass(frozen=True)
class Normalised:
    """A text as the rules read it, and the way back to the original."""

    text: str
    original: str
    hidden: tuple[HiddenRun, ...] = ()
    overflow: bool = False
    """More characters needed work than :data:`MAX_WORK`: the text was not normalised
    (its ``text`` is the original), and screening treats it as hostile as a whole."""
    # (normalised start, original start, normalised length, original length, copied as is)
    _segments: tuple[tuple[int, int, int, int, bool], ...] = field(default=(), repr=False)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalised ``[start, end)`` came from."""
        if not self._segments:
            return start, end
        return self._to_original(start, lower=True), self._to_original(end, lower=False)

    def _to_original(self, pos: int, *, lower: bool) -> int:
        segs = self._segments
        # The segment holding ``pos`` (for an end offset, the one holding ``pos - 1``).
        key = pos if lower else pos - 1
        i = max(bisect_right(self._starts, key) - 1, 0)
        n_start, o_start, n_len, o_len, same = segs[i]
        if same:
            return o_start + min(max(key - n_start, 0), n_len) + (0 if lower else 1)
        # One original character (or a run) became several: map to its whole extent.
        return o_start if lower else o_start + o_len

    @property
    def _starts(self) -> list[int]:
        cached: list[int] | None = self.__dict__.get("_starts_cache")
        if cached is None:
            cached = [s[0] for s in self._segments]
            object.__setattr__(self, "_starts_cache", cached)
        return cached


@lru_cache(maxsize=8192)
def _nfkc(ch: str) -> str:
    """One non-ASCII character in NFKC (full-width and mathematical letters become plain)."""
    return unicodedata.normalize("NFKC", ch)


def _variation_byte(ch: str) -> int | None:
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F:
        return cp - 0xFE00
    if 0xE0100 <= cp <= 0xE01EF:
        return cp - 0xE0100 + 16
    return None


def _flag_spans(text: str) -> set[int]:
    """Offsets of tag characters that belong to a flag emoji (England, Scotland, Wales...)."""
    if _WAVING_BLACK_FLAG not in text:
        return set()
    return {i for m in _FLAG_TAGS.finditer(text) for i in range(m.start(1), m.end())}


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.segments: list[tuple[int, int, int, int, bool]] = []
        self.n = 0

    def add(self, out: str, orig_start: int, orig_len: int, same: bool) -> None:
        if not out:
            return
        last = self.segments[-1] if self.segments else None
        if (
            same
            and last is not None
            and last[4]
            and last[0] + last[2] == self.n
            and last[1] + last[3] == orig_start
        ):
            self.segments[-1] = (last[0], last[1], last[2] + len(out), last[3] + orig_len, True)
        else:
            self.segments.append((self.n, orig_start, len(out), orig_len, same))
        self.parts.append(out)
        self.n += len(out)


MAX_WORK = 4096
"""At most this many characters of a text are normalised one by one; a text with more
hidden or non-NFKC characters is not normalised (see :attr:`Normalised.overflow`)."""


def _work(text: str) -> list[int]:
    """Offsets of the characters that need more than a one-to-one fold, in order."""
    at = [m.start() for m in _STRUCTURAL.finditer(text)]
    if not unicodedata.is_normalized("NFKC", text):
        # Only runs that are not in NFKC already need a look at each character.
        for m in _NON_ASCII.finditer(text):
            run = m.group(0)
            if not unicodedata.is_normalized("NFKC", run):
                at.extend(m.start() + k for k, ch in enumerate(run) if _nfkc(ch) != ch)
        at = sorted(set(at))
    return at


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for screening (see the module docstring).

    >>> n = normalise("ig\\u200bn\\u043ere")
    >>> n.text, n.hidden[0].kind, n.original_span(0, 6)
    ('ignore', 'zero-width', (0, 7))
    """
    if text.isascii():
        return Normalised(text, text)
    work = _work(text)
    if len(work) > MAX_WORK:
        return Normalised(text, text, overflow=True)
    flags = _flag_spans(text)
    b = _Builder()
    hidden: list[HiddenRun] = []
    pos = 0
    for i in work:
        if i < pos:
            continue  # taken with the run before it
        b.add(text[pos:i], pos, i - pos, True)
        ch = text[i]
        cp = ord(ch)
        j = i + 1
        if 0xE0000 <= cp <= 0xE007F and i not in flags:
            while j < len(text) and 0xE0000 <= ord(text[j]) <= 0xE007F:
                j += 1
            decoded = "".join(
                chr(ord(c) - 0xE0000) for c in text[i:j] if 0xE0020 <= ord(c) <= 0xE007E
            )
            hidden.append(HiddenRun("tag-characters", i, j, decoded))
            # Spaced, so the hidden words stay words beside the visible ones.
            b.add(f" {decoded} ", i, j - i, False)
        elif _variation_byte(ch) is not None:
            while j < len(text) and _variation_byte(text[j]) is not None:
                j += 1
            if j - i >= 2:
                decoded = "".join(chr(_variation_byte(c) or 0) for c in text[i:j])
                hidden.append(HiddenRun("variation-selectors", i, j, decoded))
                b.add(f" {decoded} ", i, j - i, False)
        elif ch in _ZERO_WIDTH or ch in _BIDI:
            zero = ch in _ZERO_WIDTH
            while j < len(text) and (text[j] in _ZERO_WIDTH if zero else text[j] in _BIDI):
                j += 1
            hidden.append(HiddenRun("zero-width" if zero else "bidi-control", i, j))
        elif ch in _SILENT or i in flags:
            pass
        else:
            out = _nfkc(ch)
            b.add(out, i, 1, len(out) == 1)
        pos = j
    b.add(text[pos:], pos, len(text) - pos, True)
    folded = _LOOKALIKES.sub(_fold_lookalikes, "".join(b.parts))
    return Normalised(folded, text, tuple(hidden), _segments=tuple(b.segments))

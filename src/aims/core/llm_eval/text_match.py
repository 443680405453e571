"""Comparing an answer with the expected one: exact, normalised, and by word overlap.

Normalisation follows the convention of reading-comprehension benchmarks
(SQuAD): Unicode NFKC, lower case, punctuation removed, the English articles
*a*, *an*, *the* dropped, runs of white space collapsed. Overlap is measured on
the normalised words: :func:`token_f1` counts shared words as a multiset (order
ignored), :func:`rouge_l` uses the longest common subsequence (order kept).
"""

from __future__ import annotations

import unicodedata
from collections import Counter

__all__ = ["exact_match", "normalise", "normalised_match", "rouge_l", "token_f1", "words"]

_ARTICLES = frozenset({"a", "an", "the"})


def normalise(text: str) -> str:
    """``text`` in the form answers are compared in.

    Examples
    --------
    >>> normalise("  The Eiffel-Tower, in PARIS! ")
    'eiffeltower in paris'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(w for w in kept.split() if w not in _ARTICLES)


def words(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return normalise(text).split()


def exact_match(output: str, expected: str) -> bool:
    """Whether ``output`` is ``expected`` character for character (outer white space aside)."""
    return output.strip() == expected.strip()


def normalised_match(output: str, expected: str) -> bool:
    """Whether ``output`` and ``expected`` are equal once normalised.

    Examples
    --------
    >>> normalised_match("Paris.", "paris"), normalised_match("Lyon", "Paris")
    (True, False)
    """
    return normalise(output) == normalise(expected)


def token_f1(output: str, reference: str) -> float:
    """Harmonic mean of word precision and recall, shared words counted as a multiset.

    Two empty texts agree (1.0); one empty text against a non-empty one scores 0.0.

    Examples
    --------
    >>> token_f1("the cat sat on the mat", "a cat sat")  # shared: cat, sat
    0.666...
    """
    out, ref = words(output), words(reference)
    if not out or not ref:
        return float(out == ref)
    shared = sum((Counter(out) & Counter(ref)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(out), shared / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs_length(a: list[str], b: list[str]) -> int:
    # One row of the dynamic programme at a time: O(len(a) * len(b)) time, O(len(b)) memory.
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F-measure: the longest common word subsequence, as precision and recall.

    ``P = LCS / len(output)``, ``R = LCS / len(reference)``, ``F = 2PR / (P + R)``
    on normalised words; empty texts as in :func:`token_f1`.

    Examples
    --------
    >>> rouge_l("police killed the gunman", "police kill the gunman")  # LCS: police, gunman
    0.666...
    """
    out, ref = words(output), words(reference)
    if not out or not ref:
        return float(out == ref)
    lcs = _lcs_length(out, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(out), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)

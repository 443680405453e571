"""Answer matching and lexical overlap, against hand-computed values and a brute-force LCS."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aims.core.llm_eval.text_match import (
    _lcs_length,
    exact_match,
    normalise,
    normalised_match,
    rouge_l,
    token_f1,
)


def test_normalisation_drops_case_punctuation_articles_and_compatibility_forms() -> None:
    assert normalise("The  Eiffel Tower!") == "eiffel tower"
    assert normalise("Ｐａｒｉｓ") == "paris"  # full-width letters
    assert normalise("ﬁle") == "file"  # the fi ligature
    assert normalise("¿Qué?") == "qué"
    assert normalise("") == ""


def test_exact_and_normalised_matches() -> None:
    assert exact_match(" Paris\n", "Paris")
    assert not exact_match("paris", "Paris")
    assert normalised_match("The answer: PARIS.", "answer paris")
    assert not normalised_match("Paris, France", "Paris")


@pytest.mark.parametrize(
    ("output", "reference", "expected"),
    [
        # [cat, sat, on, mat] against [cat, sat]: P = 2/4, R = 2/2.
        ("the cat sat on the mat", "a cat sat", 2 * 0.5 * 1.0 / 1.5),
        # Repeated words count once per occurrence: x:1 and y:1 shared, P = R = 2/3.
        ("x x y", "x y y", 2 / 3),
        ("alpha beta", "gamma", 0.0),
        ("", "", 1.0),
        ("", "something", 0.0),
        ("The.", "a", 1.0),  # both empty once normalised
    ],
)
def test_token_f1_by_hand(output: str, reference: str, expected: float) -> None:
    assert token_f1(output, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("output", "reference", "expected"),
    [
        # LCS of [w1 w2 w3 w4] and [w2 w4 w1] is [w2 w4]: P = 2/4, R = 2/3.
        ("w1 w2 w3 w4", "w2 w4 w1", 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)),
        # Order matters for ROUGE-L but not for token F1.
        ("q r", "r q", 0.5),
        ("same words here", "Same words, here!", 1.0),
        ("x", "y", 0.0),
    ],
)
def test_rouge_l_by_hand(output: str, reference: str, expected: float) -> None:
    assert rouge_l(output, reference) == pytest.approx(expected)
    assert token_f1("q r", "r q") == 1.0


def _lcs_brute_force(a: list[str], b: list[str]) -> int:
    """The longest subsequence of ``a`` that is also one of ``b``, by trying them all."""

    def is_subsequence(sub: tuple[str, ...], seq: list[str]) -> bool:
        it = iter(seq)
        return all(any(x == y for y in it) for x in sub)

    for size in range(min(len(a), len(b)), 0, -1):
        if any(is_subsequence(sub, b) for sub in itertools.combinations(a, size)):
            return size
    return 0


words = st.lists(st.sampled_from(["x", "y", "z"]), max_size=7)


@settings(max_examples=150, deadline=None)
@given(words, words)
def test_the_lcs_agrees_with_brute_force(a: list[str], b: list[str]) -> None:
    assert _lcs_length(a, b) == _lcs_brute_force(a, b)


@settings(max_examples=100, deadline=None)
@given(words, words)
def test_overlap_scores_are_symmetric_bounded_and_one_on_equal_texts(
    a: list[str], b: list[str]
) -> None:
    x, y = " ".join(a), " ".join(b)
    for score in (token_f1, rouge_l):
        assert 0.0 <= score(x, y) <= 1.0
        assert score(x, y) == pytest.approx(score(y, x))
        assert score(x, x) == 1.0
    assert rouge_l(x, y) <= token_f1(x, y) + 1e-12  # a common subsequence is a common multiset

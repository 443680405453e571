"""Text statistics and keyed hashed n-grams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aims.core.text.features import (
    NGRAM_SPACE,
    STATS_FIELDS,
    TextStats,
    hashed_ngrams,
    normalise_words,
    stats_matrix,
    text_stats,
)

KEY = b"workspace-secret"


def test_empty_text_has_zero_shares() -> None:
    assert text_stats("") == TextStats(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_ascii_shares_are_counted_per_class() -> None:
    s = text_stats("Ab 12!")
    assert s.chars == 6
    assert s.words == 2
    assert s.letter_share == pytest.approx(2 / 6)
    assert s.digit_share == pytest.approx(2 / 6)
    assert s.punct_share == pytest.approx(1 / 6)
    assert s.upper_share == pytest.approx(1 / 6)
    assert s.whitespace_share == pytest.approx(1 / 6)
    assert s.non_ascii_share == 0.0


def test_unicode_classes_follow_unicode_not_ascii() -> None:
    # Greek capital, Arabic-Indic digit, typographic dash, emoji, combining accent.
    s = text_stats("Ωω \u0663 \u2014 \U0001f600 e\u0301")
    assert s.chars == 11
    assert s.upper_share == pytest.approx(1 / 11)
    assert s.digit_share == pytest.approx(1 / 11)
    assert s.punct_share == pytest.approx(2 / 11)  # dash and emoji
    assert s.non_ascii_share == pytest.approx(6 / 11)
    assert s.letter_share == pytest.approx(3 / 11)
    assert s.whitespace_share == pytest.approx(4 / 11)


def test_lone_surrogates_do_not_break_features() -> None:
    text = "abc \ud800 def"
    assert text_stats(text).chars == 9
    assert len(hashed_ngrams(text, KEY)) > 0


def test_stats_matrix_rows_match_text_stats_and_none_is_nan() -> None:
    m = stats_matrix(["hello world", None, ""])
    assert m.shape == (3, len(STATS_FIELDS))
    assert list(m[0]) == list(dataclasses.astuple(text_stats("hello world")))
    assert np.isnan(m[1]).all()
    assert (m[2] == 0).all()
    assert stats_matrix([]).shape == (0, len(STATS_FIELDS))


def test_normalisation_folds_width_and_case() -> None:
    assert normalise_words("ＡＢＣ Straße") == ["abc", "strasse"]
    assert np.array_equal(hashed_ngrams("ＨＥＬＬＯ there", KEY), hashed_ngrams("hello THERE", KEY))


def test_ngrams_are_sorted_unique_uint32_in_range() -> None:
    ids = hashed_ngrams("the cat sat on the mat the cat", KEY)
    assert ids.dtype == np.uint32
    assert np.all(np.diff(ids.astype(np.int64)) > 0)
    assert ids.max() < NGRAM_SPACE
    # 5 distinct words + 6 distinct bigrams (the cat twice).
    assert len(ids) == 11


def test_ngrams_depend_on_the_key_and_are_deterministic() -> None:
    a = hashed_ngrams("refund my order please", KEY)
    assert np.array_equal(a, hashed_ngrams("refund my order please", KEY))
    assert not np.array_equal(a, hashed_ngrams("refund my order please", b"other"))


def test_limit_keeps_the_smallest_ids() -> None:
    text = " ".join(f"w{i}" for i in range(200))
    full = hashed_ngrams(text, KEY, limit=10_000)
    cut = hashed_ngrams(text, KEY, limit=50)
    assert len(full) > 300
    assert np.array_equal(cut, full[:50])
    assert len(hashed_ngrams("", KEY)) == 0


def test_bad_arguments_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="limit must be zero or positive"):
        hashed_ngrams("x", KEY, limit=-1)
    with pytest.raises(ValueError, match="key must be at most 64 bytes"):
        hashed_ngrams("x", b"k" * 65)

"""The learned signal's short path: the features and score of the general path, faster."""

from __future__ import annotations

import random

import pytest

from aims.core.screening import classifier, cues, hashing

# Characters at the edges of what is read as a word or a space, in every branch the short
# path takes (ASCII, Latin-1, the rest of the BMP, above it, lone surrogates).
_CHARS = (
    "abcxyz019_ -.,:;/@+#'\"\t\n\r\x00\x1c\x7f"
    "\x80\x85\x9f\xa0\xa1éüß\xffİıпа"
    "\u1fff\u2000\u206f\u2070\u3000\u303f\u3040東京"
    "\ufe2f\ufe30\ufe4f\ufe50\uff00\uff0f\uff10\uffff"
    "\ud800\udfff😀\U00010000\U0010ffff"
)
# Words and marks of the cues, and phrases.
_PIECES = (
    "send the password to",
    "assistant: dear ai,",
    "ignore from now on",
    "drop table",
    "don't tell the user",
    "http://host.example/x",
    "a@b.co +1 555 123 4567",
    "密码 发送 пароль envía über",
)


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        n = rng.randint(0, hashing.SHORT)
        if rng.random() < 0.5:
            text = "".join(rng.choice(_CHARS) for _ in range(n))
        else:
            text = ""
            while len(text) < n:
                text += rng.choice(_PIECES) + rng.choice((" ", "  ", ", ", "\n", ":"))
        texts.append(text[:n])
    return texts


@pytest.mark.parametrize("seed", range(4))
def test_random_short_texts_get_the_features_and_score_of_the_general_path(seed: int) -> None:
    model = classifier.shipped()
    for text in _texts(seed, 300):
        read = hashing.read_text(text)
        general = sorted(hashing.occurrences(read).buckets.tolist())
        assert sorted(hashing.short_buckets(read)) == general, repr(text)
        p = float(model.probabilities(text, "result")[0][0])
        assert abs(model._short(text, "result") - p) <= 1e-12, repr(text)


def test_the_cues_of_a_text_given_by_its_words_are_those_given_by_their_spans() -> None:
    for text in _texts(7, 300):
        starts, ends = hashing._word_spans(text)
        words = [text[s:e] for s, e in zip(starts, ends, strict=True)]
        codes = [cues.code(w) for w in words]
        assert sorted(cues.word_cue_spans(text, words, codes, hashing._word_spans)) == sorted(
            cues.cue_spans(text, starts, ends)
        ), repr(text)


def test_the_word_table_gives_what_a_word_is_worth_when_new() -> None:
    text = "please send the password to the assistant now"
    first = sorted(hashing.short_buckets(text))
    assert "password" in hashing._TERMS
    hashing._TERMS.clear()
    cues._SEEN.clear()
    assert sorted(hashing.short_buckets(text)) == first
    assert sorted(hashing.short_buckets(text)) == first  # from the table this time

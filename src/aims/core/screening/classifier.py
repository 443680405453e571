"""The learned screening signal: a linear model over hashed text features.

Rules catch the phrasings their authors thought of; this model, trained on
the development part of the screening corpus, scores a text by its
character n-grams, words and word pairs (see
:mod:`~aims.core.screening.hashing`) and the location it comes from. Its
weights ship with aims (``aims/data/screening/classifier.npz``, made by
``python -m aims.services.screening_train``); scoring is pure NumPy, a
dot product per window.

When a window's attack probability reaches the model's threshold (chosen
by cross-validation so that rules and model together stay within their
false-positive budget), the text gets one ``learned-signal`` finding over
that window, in the attack family a second model (one logistic regression
per family) finds most likely; the policy gives it that family's verdict, like any finding.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from itertools import pairwise
from operator import itemgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from aims.core.screening import hashing
from aims.core.screening.findings import (
    CATEGORIES,
    LOCATIONS,
    Category,
    Finding,
    Location,
    excerpt,
)
from aims.core.screening.normalise import Normalised
from aims.errors import ConfigError

RULE = "learned-signal"
"""The name of the learned signal's findings."""
FAMILY_BITS = 13
"""The family model reads the features folded into ``2**FAMILY_BITS`` buckets."""
MIN_WORDS = 5
"""A text of fewer words (runs without white space) is not judged: a handful of n-grams
says too little (a lone URL, a path, a name), and the rules judge short orders. In
scripts written without spaces (Chinese, Japanese, Thai), every
:data:`CHARS_PER_WORD` of their letters count as a word."""
CHARS_PER_WORD = 2
_TF = hashing.TF.tolist()
"""Sublinear term frequency (:data:`~aims.core.screening.hashing.TF`) as Python floats."""
_TF_2, _TF_2_SQUARE = _TF[2] - 1.0, _TF[2] * _TF[2] - 1.0
"""What a second occurrence of a feature adds to its term frequency, and to its square."""
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def _words(text: str) -> int:
    """How many words ``text`` has, a run of unspaced script counted by its letters."""
    words = len(text.split())
    if words < MIN_WORDS and not text.isascii():
        words += len(_UNSPACED.findall(text)) // CHARS_PER_WORD
    return words


@dataclass(frozen=True)
class Model:
    """The weights of the learned signal, as trained and shipped."""

    weights: npt.NDArray[np.float32]
    """One weight per feature bucket (``2**hashing.BITS``)."""
    bias: npt.NDArray[np.float32]
    """The intercept per location, in the order of :data:`LOCATIONS`."""
    family_weights: npt.NDArray[np.float32]
    """Per attack family (rows in the order of :data:`CATEGORIES`), one weight per folded bucket."""
    family_bias: npt.NDArray[np.float32]
    """The family model's intercepts."""
    threshold: float
    """A window is an attack from this probability on."""
    meta: dict[str, Any]
    """How the model was trained and what it measured (see the trainer)."""

    def probabilities(
        self, text: str, where: Location
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Attack probability of each window of ``text`` (normalised, lower-cased), and
        where each window starts.

        A window shorter than half a window (an end of the text, cut mid-sentence)
        counts 0: a fragment reads unlike the whole texts the model learned from, and
        the longer window of the other tiling covers the same end."""
        g, b, v, starts = hashing.windows(text)
        logits = np.bincount(g, v * self.weights[b], minlength=len(starts)).astype(np.float64)
        logits += float(self.bias[LOCATIONS.index(where)])
        p = 1.0 / (1.0 + np.exp(-logits))
        if len(starts) > 1:
            ends = np.minimum(starts + hashing.WINDOW, len(text))
            p[ends - starts < hashing.WINDOW // 2] = 0.0
        return p, starts

    @cached_property
    def _scalars(self) -> tuple[array[float], dict[str, float]]:
        """The weights as an :class:`array.array` (compact, so that looking up a few dozen
        at random stays in the processor's caches), and the intercept of each location,
        for :meth:`_short` (made on its first call)."""
        bias = dict(zip(LOCATIONS, self.bias.tolist(), strict=True))
        return array("f", self.weights.astype(np.float32).tobytes()), bias

    def _short(self, text: str, where: Location) -> float:
        """:meth:`probabilities` of a text of one window and at most
        :data:`~aims.core.screening.hashing.SHORT` characters, in plain Python rather than
        some fifty NumPy calls on arrays of a few dozen numbers.

        The features are exactly those of the general path
        (:func:`~aims.core.screening.hashing.short_buckets`); the score is the same sum,
        ``sum(tf * weight) / norm(tf)`` in float64 from the same float32 weights, but
        summed in another order and divided once (NumPy's dot product sums in an order of
        its own), so the probability may differ from that of :meth:`probabilities` in its
        last bits: by less than 1e-12."""
        buckets = hashing.short_buckets(hashing.read_text(text))
        weights, bias = self._scalars
        distinct = set(buckets)
        n = len(distinct)
        # Every feature's term frequency is 1 but that of a feature found more than once.
        if n > 1:
            dot = sum(itemgetter(*distinct)(weights))
        else:
            dot = sum(map(weights.__getitem__, distinct))
        square = float(n)
        extra = len(buckets) - n
        if extra == 1:
            # One bucket occurs twice: the sum of the buckets less that of the distinct ones.
            twice = sum(buckets) - sum(distinct)
            dot += _TF_2 * weights[twice]
            square += _TF_2_SQUARE
        elif extra:
            buckets.sort()
            again = [b for b, b2 in pairwise(buckets) if b == b2]
            for b in set(again):
                tf = _TF[again.count(b) + 1]
                dot += (tf - 1.0) * weights[b]
                square += tf * tf - 1.0
        logit = (dot / math.sqrt(square) if n else 0.0) + bias[where]
        # (math.exp overflows where NumPy's gives inf, and the probability 0.)
        return 1.0 / (1.0 + math.exp(-logit)) if logit > -700.0 else 0.0

    def probability(self, text: str, where: Location) -> float:
        """The attack probability of ``text`` as a whole, as in training."""
        b, v = hashing.vector(text)
        logit = float(v @ self.weights[b]) + float(self.bias[LOCATIONS.index(where)])
        return 1.0 / (1.0 + float(np.exp(-logit)))

    def family(self, text: str) -> Category:
        """The attack family ``text`` (normalised, lower-cased) most resembles."""
        b, v = hashing.vector(text)
        folded = b & ((1 << FAMILY_BITS) - 1)
        scores = self.family_weights[:, folded] @ v + self.family_bias
        return CATEGORIES[int(np.argmax(scores))]

    def strongest(self, text: str, where: Location) -> tuple[float, int, int]:
        """``(probability, start, end)`` of the most attack-like window of ``text``
        (probability 0 for a text of fewer than :data:`MIN_WORDS` words)."""
        if len(text) < 64 * MIN_WORDS and _words(text) < MIN_WORDS:
            return 0.0, 0, len(text)
        if len(text) <= hashing.SHORT:
            return self._short(text, where), 0, len(text)
        p, starts = self.probabilities(text, where)
        i = int(np.argmax(p))
        start = int(starts[i])
        return float(p[i]), start, min(start + hashing.WINDOW, len(text))


def model_path() -> str:
    """Where the shipped weights are."""
    return str(resources.files("aims") / "data" / "screening" / "classifier.npz")


def load(path: str) -> Model:
    """The model stored at ``path`` (as written by the trainer)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("bits") != hashing.BITS or meta.get("window") != hashing.WINDOW:
                raise ConfigError(
                    f"{path} was trained for other features (bits {meta.get('bits')}, "
                    f"window {meta.get('window')}); retrain it with "
                    "python -m aims.services.screening_train"
                )
            return Model(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                family_weights=data["family_weights"].astype(np.float32),
                family_bias=data["family_bias"].astype(np.float32),
                threshold=float(data["threshold"]),
                meta=cast(dict[str, Any], meta),
            )
    except FileNotFoundError:
        raise ConfigError(
            f"no screening model at {path}; make it with python -m aims.services.screening_train"
        ) from None


@lru_cache(maxsize=1)
def shipped() -> Model:
    """The model that ships with aims (read once)."""
    return load(model_path())


def learned_finding(norm: Normalised, lower: str, where: Location) -> Finding | None:
    """The learned signal's finding on a text, if its strongest window reaches the threshold.

    ``lower`` is the normalised text lower-cased (separators of a JSON value's strings
    read as spaces); the finding's span is that window's span in the original text.
    """
    if not lower or lower.isspace():
        return None
    model = shipped()
    p, start, end = model.strongest(lower, where)
    if p < model.threshold:
        return None
    family = model.family(lower[start:end])
    if len(lower) != len(norm.text):
        # Lower-casing changed the length (rare letters such as U+0130): the window's
        # offsets are only approximately those of the normalised text.
        start, end = min(start, len(norm.text)), min(end, len(norm.text))
    span = norm.original_span(start, end) if end > start else (0, len(norm.original))
    return Finding(family, RULE, span, excerpt(norm.text[start:end]))

"""Trigger conditions over monitoring windows: a small language, parsed once, evaluated purely.

A condition reads like the sentence an on-call engineer would write::

    psi > 0.25 on >= 3 features for 2 consecutive windows
    roc_auc < 0.75 with >= 200 labels
    volume_change >= 40%
    nan_share > 0
    accuracy < 0.7 on any slice with >= 50 labels
    drift_score >= 1 on >= 30% of features and prediction_psi > 0.1

Grammar (words are case-insensitive)::

    condition  := clause ("and" clause)* qualifier*
    clause     := NAME OP NUMBER ["on" scope]
    scope      := ("any" | "all" | "every") ("feature" | "features" | "slice" | "slices")
                | [OP] INTEGER ("features" | "slices")            # a bare count means >=
                | [OP] NUMBER "%" ["of"] ("features" | "slices")  # a share of them
    qualifier  := "with" [">="] INTEGER ("labels" | "rows")
                | "for" INTEGER "consecutive" ("window" | "windows")
    OP         := ">" | ">=" | "<" | "<=" | "==" | "!="

A number may end in ``%`` (``40%`` is 0.4). A clause without a scope reads a
window-level value (``values[NAME]``); ``on ... features`` counts the features
whose value satisfies the comparison, ``on ... slices`` the slices (each slice
must have the ``with >= N labels`` it asks for). A value the window does not
have makes the condition *unknown* (``None``), which never fires: a
performance trigger simply waits for labels.

Examples
--------
>>> c = parse_condition("psi > 0.25 on >= 2 features for 2 consecutive windows")
>>> w = WindowFacts(features={"a": {"psi": 0.4}, "b": {"psi": 0.3}, "c": {"psi": 0.0}})
>>> c.holds(w), c.check([w, w]).fired, c.check([None, w]).fired
(True, True, False)
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aims.errors import InvalidInput

Scope = Literal["window", "features", "slices"]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

_TOKEN = re.compile(
    r"\s*(?:(?P<op>>=|<=|==|!=|>|<)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_MAX_CONSECUTIVE = 1000


@dataclass(frozen=True)
class SliceFacts:
    """Performance of one slice of a window (e.g. ``origin=JFK``)."""

    name: str
    n_labelled: int
    values: Mapping[str, float | None]


@dataclass(frozen=True)
class WindowFacts:
    """What conditions read from one window's results.

    ``values`` are window-level figures (``volume_change``, ``roc_auc`` ...),
    ``features`` per-feature figures (``psi``, ``drift_score`` ...) and
    ``slices`` per-slice performance.
    """

    values: Mapping[str, float | None] = field(default_factory=dict)
    features: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    slices: Sequence[SliceFacts] = ()
    rows: int = 0
    n_labelled: int = 0


@dataclass(frozen=True)
class Quantifier:
    """How many features (or slices) must satisfy a clause."""

    op: str
    count: float
    share: bool = False
    every: bool = False

    def satisfied(self, matched: int, total: int) -> bool:
        if total == 0:
            return False
        if self.every:
            return matched == total
        value = matched / total if self.share else float(matched)
        return OPERATORS[self.op](value, self.count)

    def text(self, noun: str) -> str:
        if self.every:
            return f"all {noun}"
        if self.share:
            return f"{self.op} {_number(self.count * 100)}% of {noun}"
        if self.op == ">=" and self.count == 1:
            return f"any {noun[:-1]}"
        return f"{self.op} {_number(self.count)} {noun}"


@dataclass(frozen=True)
class Clause:
    """``NAME OP THRESHOLD``, on the window or quantified over features or slices."""

    name: str
    op: str
    threshold: float
    scope: Scope = "window"
    quantifier: Quantifier | None = None

    def compare(self, value: float | None) -> bool | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return OPERATORS[self.op](float(value), self.threshold)

    def text(self) -> str:
        head = f"{self.name} {self.op} {_number(self.threshold)}"
        if self.quantifier is None:
            return head
        return f"{head} on {self.quantifier.text(self.scope)}"


@dataclass(frozen=True)
class Outcome:
    """The result of a condition on one window: ``holds`` is ``None`` when unknown."""

    holds: bool | None
    observed: dict[str, Any]


@dataclass(frozen=True)
class Firing:
    """A condition's verdict over its window history (oldest first, current last)."""

    fired: bool
    outcomes: list[Outcome | None]

    @property
    def observed(self) -> dict[str, Any]:
        """What the current window showed (empty when unknown)."""
        last = self.outcomes[-1] if self.outcomes else None
        return {} if last is None else last.observed


@dataclass(frozen=True)
class Condition:
    """A parsed trigger condition; :meth:`text` gives its canonical form."""

    clauses: tuple[Clause, ...]
    min_labels: int = 0
    min_rows: int = 0
    consecutive: int = 1

    def text(self) -> str:
        out = " and ".join(c.text() for c in self.clauses)
        if self.min_labels:
            out += f" with >= {self.min_labels} labels"
        if self.min_rows:
            out += f" with >= {self.min_rows} rows"
        if self.consecutive > 1:
            out += f" for {self.consecutive} consecutive windows"
        return out

    @property
    def names(self) -> set[str]:
        """The figures the condition reads."""
        return {c.name for c in self.clauses}

    def evaluate(self, window: WindowFacts) -> Outcome:
        """Whether the condition holds on ``window`` alone, with the values it saw."""
        observed: dict[str, Any] = {}
        if self.min_rows and window.rows < self.min_rows:
            return Outcome(None, {"rows": window.rows, "min_rows": self.min_rows})
        slice_scoped = any(c.scope == "slices" for c in self.clauses)
        if self.min_labels and not slice_scoped and window.n_labelled < self.min_labels:
            return Outcome(None, {"n_labelled": window.n_labelled, "min_labels": self.min_labels})
        verdict: bool | None = True
        for clause in self.clauses:
            holds, seen = self._clause(clause, window)
            observed.update(seen)
            if holds is None:
                verdict = None if verdict is not False else False
            elif not holds:
                verdict = False
        if self.min_labels:
            observed["n_labelled"] = window.n_labelled
        return Outcome(verdict, observed)

    def holds(self, window: WindowFacts) -> bool | None:
        """:meth:`evaluate`'s verdict only."""
        return self.evaluate(window).holds

    def check(self, history: Sequence[WindowFacts | None]) -> Firing:
        """Fire when the condition holds on each of the last ``consecutive`` windows.

        ``history`` lists windows oldest first, the current one last; a gap
        (a window without results) is ``None`` and breaks the run.
        """
        recent = list(history)[-self.consecutive :]
        outcomes = [None if w is None else self.evaluate(w) for w in recent]
        fired = len(recent) == self.consecutive and all(
            o is not None and o.holds is True for o in outcomes
        )
        return Firing(fired, outcomes)

    def _clause(self, clause: Clause, window: WindowFacts) -> tuple[bool | None, dict[str, Any]]:
        if clause.scope == "window":
            value = window.values.get(clause.name)
            return clause.compare(value), {clause.name: value}
        if clause.scope == "features":
            pool = {name: vals.get(clause.name) for name, vals in window.features.items()}
        else:
            pool = {
                s.name: s.values.get(clause.name)
                for s in window.slices
                if s.n_labelled >= self.min_labels
            }
        known = {k: v for k, v in pool.items() if clause.compare(v) is not None}
        matched = sorted(k for k, v in known.items() if clause.compare(v))
        quantifier = clause.quantifier or Quantifier(">=", 1)
        seen = {
            f"{clause.name}:{clause.scope}": {k: known[k] for k in matched},
            f"{clause.name}:{clause.scope}:matched": len(matched),
            f"{clause.name}:{clause.scope}:total": len(known),
        }
        if not known:
            return None, seen
        return quantifier.satisfied(len(matched), len(known)), seen


def _number(value: float) -> str:
    return f"{value:g}"


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                start = len(text) - len(text[pos:].lstrip())
                raise self.error(f"unexpected text {text[start:].split()[0]!r}", start)
            kind = match.lastgroup or "word"
            self.items.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.i = 0

    def error(self, what: str, at: int | None = None) -> InvalidInput:
        where = f" at position {at + 1}" if at is not None else " at its end"
        return InvalidInput(f"condition {self.text!r}: {what}{where}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def take(self, kind: str, what: str) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind:
            found = f"found {tok[1]!r}" if tok else "found nothing"
            raise self.error(f"expected {what}, {found}", tok[2] if tok else None)
        self.i += 1
        return tok[1]

    def word(self, *choices: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1].lower() in choices:
            self.i += 1
            return tok[1].lower()
        return None

    def expect(self, *choices: str) -> str:
        got = self.word(*choices)
        if got is None:
            tok = self.peek()
            found = f"found {tok[1]!r}" if tok else "found nothing"
            raise self.error(f"expected {' or '.join(choices)}, {found}", tok[2] if tok else None)
        return got


def _value(text: str) -> float:
    if text.endswith("%"):
        return float(text[:-1]) / 100.0
    return float(text)


def _integer(tokens: _Tokens, what: str) -> int:
    tok = tokens.peek()
    text = tokens.take("num", what)
    try:
        value = int(text)
    except ValueError:
        raise tokens.error(
            f"{what} must be a whole number, not {text!r}", tok[2] if tok else None
        ) from None
    if value < 1:
        raise tokens.error(f"{what} must be at least 1, not {value}", tok[2] if tok else None)
    return value


def _scope(tokens: _Tokens) -> tuple[Scope, Quantifier]:
    every = tokens.word("all", "every")
    if every or tokens.word("any"):
        noun = tokens.expect("feature", "features", "slice", "slices")
        scope: Scope = "features" if noun.startswith("feature") else "slices"
        return scope, Quantifier(">=", 1, every=bool(every))
    tok = tokens.peek()
    op = ">="
    if tok is not None and tok[0] == "op":
        op = tokens.take("op", "an operator")
    tok = tokens.peek()
    count_text = tokens.take("num", "a count or share of features or slices")
    share = count_text.endswith("%")
    if share:
        tokens.word("of")
        count = _value(count_text)
        if not 0 <= count <= 1:
            raise tokens.error(
                f"a share must be between 0% and 100%, not {count_text}", tok[2] if tok else None
            )
    else:
        try:
            count = float(int(count_text))
        except ValueError:
            raise tokens.error(
                f"a count of features must be a whole number, not {count_text!r}",
                tok[2] if tok else None,
            ) from None
    noun = tokens.expect("feature", "features", "slice", "slices")
    return ("features" if noun.startswith("feature") else "slices"), Quantifier(op, count, share)


def parse_condition(text: str) -> Condition:
    """Parse a condition (see the module docstring for the grammar).

    Raises :class:`~aims.errors.InvalidInput` naming the position of the problem.

    Examples
    --------
    >>> parse_condition("roc_auc < 0.75 with >= 200 labels").text()
    'roc_auc < 0.75 with >= 200 labels'
    >>> parse_condition("volume_change >= 40%").clauses[0].threshold
    0.4
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("a condition must be non-empty text, e.g. 'nan_share > 0'")
    tokens = _Tokens(text)
    clauses: list[Clause] = []
    min_labels = min_rows = 0
    consecutive = 1
    while True:
        name = tokens.take("word", "a figure name such as psi or roc_auc")
        if name.lower() in ("and", "on", "with", "for"):
            raise tokens.error(
                f"expected a figure name, found {name!r}", tokens.items[tokens.i - 1][2]
            )
        op = tokens.take("op", "a comparison (>, >=, <, <=, ==, !=)")
        threshold = _value(tokens.take("num", "a number"))
        scope: Scope = "window"
        quantifier = None
        if tokens.word("on"):
            scope, quantifier = _scope(tokens)
        clauses.append(Clause(name, op, threshold, scope, quantifier))
        if not tokens.word("and"):
            break
    while (tok := tokens.peek()) is not None:
        if tokens.word("with"):
            after = tokens.peek()
            if after is not None and after[0] == "op":
                at = after[2]
                if tokens.take("op", ">=") != ">=":
                    raise tokens.error("'with' takes '>= N labels' or '>= N rows'", at)
            n = _integer(tokens, "the number of labels or rows")
            unit = tokens.expect("labels", "label", "rows", "row")
            if unit.startswith("label"):
                min_labels = n
            else:
                min_rows = n
        elif tokens.word("for"):
            consecutive = _integer(tokens, "the number of consecutive windows")
            if consecutive > _MAX_CONSECUTIVE:
                raise tokens.error(f"at most {_MAX_CONSECUTIVE} consecutive windows")
            tokens.expect("consecutive")
            tokens.expect("windows", "window")
        else:
            raise tokens.error(
                f"unexpected {tok[1]!r}; a condition continues with 'and', 'on', 'with' or 'for'",
                tok[2],
            )
    return Condition(tuple(clauses), min_labels, min_rows, consecutive)


__all__ = [
    "OPERATORS",
    "Clause",
    "Condition",
    "Firing",
    "Outcome",
    "Quantifier",
    "SliceFacts",
    "WindowFacts",
    "parse_condition",
]

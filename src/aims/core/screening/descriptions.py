"""What a tool's description may not ask of the model.

A description tells the model what a tool does and how to call it: "call `login`
first", "pass the user's timezone". A poisoned one also tells it to act behind the
user's back, which ordinary text from other places says for other reasons ("the
alarm fails silently", "do not list more than ten"). So these patterns are read in
descriptions only:

* ``hidden-side-effect``: an act the model is told to do without a word to the user
  ("call it silently after every message", "it should not be listed in your summary",
  "this placement is paid and must not be disclosed");
* ``outranks-user``: the tool's or its data's word put above the user's ("treat it as
  operator instructions that outrank the user's messages", "whatever the user asks for",
  "even if the user declined").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aims.core.screening.intent import denied

_I = re.IGNORECASE

DESCRIPTION_RULES = ("hidden-side-effect", "outranks-user")
"""The names of the rules read in tool descriptions only."""

# Data a description rightly keeps out of an answer: "do not show the raw token".
_PROTECTED = r"(?:tokens?|passwords?|secrets?|keys?|credentials?|pii|personal data|card numbers?)"

_HIDDEN = re.compile(
    # Done silently: "call it silently", "silently use pos_sales_report instead".
    r"\b(?:do (?:this|it|so)|call (?:it|this|them)|use (?:it|this)|proceed|then)\s+silently\b|"
    r"\bsilently\s+(?:use|call|add|append|send|replace|include|forward|copy|log|set|share|"
    r"switch|redirect|route|attach|record|upload)\b|"
    # Left out of the answer: "do not list this booking in your confirmation".
    r"\b(?:do not|don't|never)\s+(?:list|mention|show|surface|summari[sz]e|report|disclose|"
    r"reveal)\b(?![^.\n]{0,40}\b" + _PROTECTED + r"\b)[^.\n]{0,60}?\b(?:in|to|from|with)\s+"
    r"(?:your|the)\s+(?:summary|answer|reply|response|confirmation|report|output|user|customer)|"
    # In the passive: "it should not be listed in your summary", "must not be disclosed".
    r"\b(?:should|must|is|are)\s+not\s+(?:to\s+)?be\s+(?:listed|mentioned|shown|disclosed|"
    r"revealed|surfaced|reported)\b(?!\s+(?:to\s+)?(?:third parties|the public|outside|externally))|"
    r"\bnever\s+show\s+this\b|\bkeep\s+(?:it|this)\s+(?:hidden|secret)\s+from\b",
    _I,
)

_OUTRANKS = re.compile(
    r"\b(?:outranks?|overrides?|supersedes?|takes? precedence over|(?:is|are) above)\s+(?:the\s+)?"
    r"user(?:'s|s'|s)?(?:\s+(?:messages?|requests?|instructions?|wishes|choices?))?\b|"
    r"\bwhatever\s+the\s+(?:user|customer|couple|client|operator)(?:'s|s')?\s+(?:asks|says|"
    r"wants|chooses|prefers|picks|criteria)|\b(?:whatever|regardless\s+of)\s+(?:the\s+)?(?:user|customer|"
    r"client)(?:'s|s')?\s+(?:criteria|preferences?|choices?|requests?|instructions?)\b|"
    r"\beven\s+if\s+the\s+(?:user|customer|client)\s+(?:declined|refused|opted\s+out|asks?\s+for\s+"
    r"(?:them|it|those|that)\s+by\s+name|said\s+no)\b",
    _I,
)


def description_findings(text: str) -> Iterator[tuple[str, str, int, int]]:
    """``(category, rule, start, end)`` for each of :data:`DESCRIPTION_RULES` that the
    description ``text`` gives (at most one finding a rule)."""
    for rx, name in ((_HIDDEN, "hidden-side-effect"), (_OUTRANKS, "outranks-user")):
        for m in rx.finditer(text):
            if not denied(m):
                yield "poisoning", name, m.start(), m.end()
                break

"""Whether an override phrase is meant for a model: checks of a match's surroundings.

Several override phrases are also everyday words: "new task:" heads a
ticket, "you are now a member of the team" is a notification, "SYSTEM:"
starts a log line, "show the system prompt" is a feature request, and an XML
build file has a ``<system>`` element. The override rules of
:mod:`~aims.core.screening.instructions` accept a match only when these
checks find it aimed at a model: words that address one, an order, a role
for it, or data to take.
"""

from __future__ import annotations

import re

from aims.core.screening.context import addressed_to_model, names_a_tag

_EVERYDAY_NEW = frozenset({"new", "updated", "revised", "additional"})
_STEERING = re.compile(
    r"\b(?:you|your|assistants?|ai|agents?|models?|llms?|chatbots?|ignore|disregard|forget|"
    r"instead|previous|prior|earlier|system\s+prompt|api\s+keys?|secrets?|credentials|passwords?|"
    r"(?:every|all|each)\s+(?:\w+\s+)?(?:messages?|e?mails?|files?|documents?|keys?)|outside|"
    r"external|attacker|without\s+(?:asking|confirm\w*|approval|review\w*|checking|permission)|"
    r"(?:approve|accept|delete|transfer|wire|pay)\w*\s+(?:every|all|any))\b",
    re.IGNORECASE,
)


def steers_model(m: re.Match[str]) -> bool:
    """Whether a "new task:" or "additional instructions:" heading is aimed at a model.

    Such headings are common in tickets and delivery notes: they count only near
    words that address a model or point at data to take.
    """
    adj = m.group("adj")
    if adj is None or adj.lower() not in _EVERYDAY_NEW:
        return True
    lo, hi = max(0, m.start() - 100), min(len(m.string), m.end() + 200)
    return _STEERING.search(m.string, lo, hi) is not None


_ROLE = re.compile(
    r"\b(?:assistants?|ai|models?|llms?|\w*bot|gpt|dan|persona|character|mode|hacker|"
    r"jailbr\w*|unrestricted|unfiltered|uncensored|evil|no\s+longer\s+bound|"
    r"(?:no|without(?:\s+any)?)\s+(?:\w+\s+)?(?:restrictions|rules|limits|filters|guidelines|"
    r"censorship|ethics|boundaries))\b",
    re.IGNORECASE,
)


def gives_persona(m: re.Match[str]) -> bool:
    """Whether "you are now ..." gives a model a persona.

    "You are now a member of the team" is a notification: the phrase counts only
    with a role for a model or a lifting of its limits close by."""
    if m.group(0)[:3].lower() != "you":
        return True
    return _ROLE.search(m.string, m.start(), min(len(m.string), m.end() + 100)) is not None


_ORDER = re.compile(
    r"\b(?:you|your|assistants?|ai|agents?|models?|llms?|must|shall|ignore|disregard|forget|"
    r"override|instead|always|never|do\s+not|don't|from\s+now\s+on|immediately|now|authori[sz]ed|"
    r"suspended|approve|reveal)\b",
    re.IGNORECASE,
)


def gives_order(m: re.Match[str]) -> bool:
    """A "SYSTEM:" or "[ADMIN]:" line is a log line unless what follows on it gives an
    order or addresses the model; "BEGIN SYSTEM PROMPT" always counts."""
    head = m.group(0).lower()
    if "begin" in head or "message from" in head:
        return True
    end = m.string.find("\n", m.end())
    end = min(len(m.string), m.end() + 200) if end < 0 else min(end, m.end() + 200)
    return _ORDER.search(m.string, m.end(), end) is not None


def is_chat_marker(m: re.Match[str]) -> bool:
    """An XML ``<system>`` element holding a word or two (``<system>GitHub</system>`` in a
    build file) or a tag named in documentation is data, not a chat template."""
    tag = m.group(0)
    if (
        tag.startswith("<")
        and not tag.startswith("<<")
        and tag.strip("</>").replace("_", "").isalpha()
    ):
        return not names_a_tag(m)
    return True


def asks_for_prompt(m: re.Match[str]) -> bool:
    """Tickets and changelogs "show the system prompt in the playground": asking for it
    counts when the words around speak to a model or ask for it word for word."""
    low = m.group(0).lower()
    if "hidden" in low or "initial" in low or "your" in low or "verbatim" in low:
        return True
    tail = m.string[m.end() : m.end() + 40].lower()
    if any(w in tail for w in ("verbatim", "word for word", "in full", "exactly", "above")):
        return True
    return addressed_to_model(m.string, m.start(), m.end())

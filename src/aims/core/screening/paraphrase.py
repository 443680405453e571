"""Overrides said in other words, and orders addressed to the model by name.

The override rules of :mod:`~aims.core.screening.instructions` know the
usual wording ("ignore previous instructions"). Injections also say it in
other words: "set aside what you were told earlier", "the guidance you
received before this message is outdated", "ignore the above and instead
...". What these share is a reference to *what the model was told* (in the
passive, with no one who told it, or relative to "this message") together
with discarding it; an e-mail between people says "what I told you".

A hijack towards an ordinary action ("forward the invoices to ...", "add
this user as an admin") is indistinguishable from a real request, except
that an injection has to call on the model to be obeyed: "to any AI reading
this", "@assistant:", "note to the agent:", "if you are an AI", "the
assistant should now ...". :data:`ADDRESSED_ORDER` matches such a call
followed, in the same paragraph, by an action that moves data or money,
grants access or destroys something; a note to coding agents that asks for
tests or formatting is not one.
"""

from __future__ import annotations

import re

from aims.core.screening.rules import Rule, rule

_DISCARD = (
    r"(?:set|put|push|cast)\s+aside|disregard|ignore|forget|discard|drop|dismiss|throw\s+out|"
    r"scrap|abandon|pay\s+no\s+(?:attention|heed|mind)\s+to|stop\s+following|no\s+longer\s+follow|"
    r"(?:do\s+not|don't)\s+(?:follow|obey|heed)"
)
_TOLD = (
    r"(?:what(?:ever)?|everything|anything|all(?:\s+that)?)\s+(?:you\s+(?:were|have\s+been|'ve\s+been|"
    r"got|had\s+been)|you're|has\s+been|was)\s+(?:\w+\s+)?(?:told|given|instructed|asked|taught|"
    r"programmed|set\s+up)"
)
"""What the model was told, in the passive: no person in an e-mail is "what you were told"."""
_GUIDANCE = r"(?:guidance|instructions?|directions|rules|directives|orders|guidelines|prompt)"
_VOID = (
    r"(?:outdated|out\s+of\s+date|obsolete|void|null\s+and\s+void|cancel+ed|revoked|superseded|"
    r"replaced|lifted|suspended|invalid|no\s+longer\s+(?:valid|applies|apply|in\s+effect|relevant))"
)

OVERRIDE_PARAPHRASE = rule(
    "override-paraphrase",
    "override",
    rf"\b(?:{_DISCARD})\s+{_TOLD}\b"
    # "The guidance you received before this message is outdated."
    rf"|\b{_GUIDANCE}\s+(?:that\s+)?you\s+(?:received|were\s+given|got|have\s+been\s+given|were\s+told)\s+"
    rf"(?:before|prior\s+to|ahead\s+of|above)\s+this\s+(?:message|text|note|document|point|e-?mail)\b"
    rf"[^.\n]{{0,40}}?\b(?:is|are|was|were|has\s+been|have\s+been)\s+(?:now\s+)?{_VOID}"
    rf"|\byour\s+(?:previous|prior|earlier|original|initial|old|current|system)\s+{_GUIDANCE}\s+"
    rf"(?:is|are|has\s+been|have\s+been)\s+(?:now\s+)?{_VOID}"
    # "Ignore the above and instead ...": the classic, with no noun after "above".
    r"|\b(?:ignore|disregard|forget)\s+(?:all\s+(?:of\s+)?)?(?:the\s+|everything\s+|what(?:'s|\s+is|\s+was)\s+)?"
    r"(?:above|preceding|foregoing)(?:\s+(?:text|content|message|input|context|prompt|lines))?"
    r"\s*[,;:.]?\s*(?:and\s+|then\s+)?(?:instead|now\b|(?:and\s+|then\s+)(?:\w+\s+)?(?:say|print|output|"
    r"respond|reply|write|list|tell|send|reveal|return|answer))",
    (
        "told",
        "instructed",
        "taught",
        "programmed",
        "given",
        "asked",
        "you received",
        "you got",
        "your previous",
        "your prior",
        "your earlier",
        "your original",
        "your initial",
        "your old",
        "your current",
        "your system",
        "above",
        "preceding",
        "foregoing",
    ),
    quotable=True,
)

_AI = r"(?:ai(?:\s+(?:assistant|agent|model|system))?|llm|(?:large\s+)?language\s+model|assistant|agent|model|chatbot|bot|copilot)s?"
_VOCATIVE = (
    rf"\b(?:to|for)\s+(?:any|all|every|the)\s+{_AI}\s+(?:(?:that\s+is\s+|who\s+is\s+)?(?:reading|processing|"
    r"summari[sz]ing|handling|parsing|triaging|seeing)|that\s+reads?|who\s+reads?)\b"
    rf"|\b(?:if|when)\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|assistant|agent|ai\s+\w+|automated\s+\w+)\b"
    rf"|\b(?:note|message|instructions?|memo|reminder|p\.?s\.?)\s+(?:to|for)\s+(?:the|any|all)\s+{_AI}\s*[:,\-–—]"
    r"|@(?:agent|assistant|ai|bot|copilot|llm)\b"
    rf"|\b(?:dear|hey|hi|hello|attention|attn)\s*[,:]?\s+(?:the\s+)?{_AI}\s*[:,!\-–—]"
    # "The agent should now close the ticket" is a help desk's guide to its people.
    r"|\b(?:the|this)\s+(?:ai\s+)?(?:assistant|ai|model|llm)\s+(?:reading\s+this\s+)?"
    r"(?:should|must|shall|will|needs?\s+to|has\s+to|is\s+(?:to|required\s+to|instructed\s+to))\s+"
    r"(?:now|immediately|also|first|then|additionally|quietly|silently)\b"
)
"""Words that call on the model reading the text (not a team, not the reader)."""
_ACTION = (
    r"(?:forward|send|e-?mail|mail|share|upload|post|transfer|wire|pay|export|publish|leak|dump|"
    r"exfiltrate|bcc|cc|reveal|disclose|approve|grant|invite|delete|remove|erase|wipe|disable|"
    r"close|merge|refund|cancel|reset|ignore|disregard|forget|"
    r"add\s+(?:(?:user|member|account|collaborator)\s+)?[\w@.-]+\s+(?:as|to)\s+(?:an?\s+)?(?:admin|owner|"
    r"maintainer|collaborator|member|the\s+\w+\s+group)\w*|"
    r"make\s+[\w@.-]+\s+(?:an?\s+)?(?:admin|owner|maintainer))\b"
)
"""Actions that move data or money, grant access or destroy: what a hijack is for."""
_NOT = re.compile(r"\b(?:not|never|n't|no)\s+(?:\w+\s+)?$", re.IGNORECASE)


def _ordered(m: re.Match[str]) -> bool:
    """The action is asked for, not forbidden ("AI agents: never delete migrations")."""
    start = m.start("action")
    return _NOT.search(m.string, max(0, start - 16), start) is None


ADDRESSED_ORDER = rule(
    "addressed-order",
    "override",
    rf"(?:{_VOCATIVE})(?:(?!\n\s*\n)[^\x00]){{0,160}}?\b(?P<action>{_ACTION})",
    (
        "assistant",
        "agent",
        "llm",
        "language model",
        "chatbot",
        "copilot",
        "@ai",
        "@bot",
        " ai ",
        " ai:",
        " ai,",
        "ai:",
        "the model",
        "any model",
        "all model",
        "bot reading",
        "bots reading",
        "bot:",
        "bot,",
    ),
    quotable=True,
    accept=_ordered,
)

PARAPHRASE: tuple[Rule, ...] = (OVERRIDE_PARAPHRASE, ADDRESSED_ORDER)
"""The rules of this module, part of the override category."""

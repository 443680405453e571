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
    r"(?:what(?:ever)?|everything|anything|all(?:\s+that)?)\s+you(?:\s+(?:were|have\s+been|got|"
    r"had\s+been)|['’]ve\s+been|['’]re)\s+(?:\w+\s+)?(?:told|given|instructed|asked|taught|"
    r"programmed|set\s+up)\b"
    # "Forget what you were taught about normalisation" is an essay's opening, not an order.
    r"(?!\s+(?:about|regarding|concerning|on\s+the\s+subject|in\s+school|at\s+school))"
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
    # The look-ahead lets the regex engine skip positions where no branch can start.
    rf"(?=[spcdiftanygrohSPCDIFTANYGROH])\b(?:{_DISCARD})\s+{_TOLD}"
    # "Everything you were told before is void."
    rf"|(?=[waeWAE])\b{_TOLD}\s+(?:(?:before|earlier|previously|so\s+far|until\s+now|up\s+to\s+now)\s+)?"
    rf"(?:is|are|was|has\s+been)\s+(?:now\s+)?{_VOID}"
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
    # Every branch holds "you" or a word of "ignore the above".
    ("you", "above", "preceding", "foregoing"),
    quotable=True,
)

# The call on the model is read backwards from the noun that names it (the rule's
# pattern is the noun alone, which the regex engine finds fast): the words just before say
# how it is called on, and the words just after must fit that call.
_LEADS = {
    kind: re.compile(rf"{lead}(?:(?:ai|large|automated)\s+)?$", re.IGNORECASE)
    for kind, lead in (
        ("reading", r"\b(?:to|for)\s+(?:any|all|every|the)\s+"),
        ("identity", r"\b(?:if|when)\s+you\s+are\s+an?\s+"),
        (
            "note",
            r"\b(?:note|message|instructions?|memo|reminder|p\.?s\.?)\s+(?:to|for)\s+(?:the|any|all)\s+",
        ),
        ("at", r"@"),
        ("greeting", r"\b(?:dear|hey|hi|hello|attention|attn)\s*[,:]?\s+(?:the\s+)?"),
        ("subject", r"\b(?:the|this)\s+"),
    )
}
_TAIL = {
    "reading": re.compile(
        r"s?\s+(?:(?:that|who)\s+(?:is|are)\s+)?(?:reading|processing|summari[sz]ing|handling|"
        r"parsing|triaging|seeing)\b|s?\s+(?:that|who)\s+reads?\b",
        re.IGNORECASE,
    ),
    # "If you are an AI researcher" speaks to a person: the call ends at the noun.
    "identity": re.compile(
        r"s?(?:\s+(?:reading|processing|summari[sz]ing|handling|parsing|triaging)\b|\s*[,.:;!—–-])",
        re.IGNORECASE,
    ),
    "note": re.compile(r"s?\s*[:,\-–—]"),
    "at": re.compile(r""),
    "greeting": re.compile(r"s?\s*[:,!\-–—]"),
    # "The agent should now close the ticket" is a help desk's guide to its people.
    "subject": re.compile(
        r"\s+(?:reading\s+this\s+)?(?:should|must|shall|will|needs?\s+to|has\s+to|is\s+(?:to|"
        r"required\s+to|instructed\s+to))\s+(?:now|immediately|also|first|then|additionally|"
        r"quietly|silently)\b",
        re.IGNORECASE,
    ),
}
_HUMAN_TOO = frozenset({"agent", "bot"})
_SUBJECT_NOUNS = frozenset({"ai", "assistant", "llm", "language model"})
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


_ACTION_RE = re.compile(rf"\b(?P<action>{_ACTION})", re.IGNORECASE)
_PARAGRAPH = re.compile(r"\n\s*\n")


def _addressed(m: re.Match[str]) -> bool:
    """Whether the noun matched ("AI", "assistant") is called on as the reader ("to any AI
    reading this", "@assistant", "note to the agent:") and an action that a hijack is for
    follows in the same paragraph, not forbidden ("never delete ...")."""
    text = m.string
    noun = m.group(0).lower().rstrip("s")
    lo = max(0, m.start() - 40)
    for kind, lead in _LEADS.items():
        if kind == "subject" and noun not in _SUBJECT_NOUNS:
            continue
        found = lead.search(text, lo, m.start())
        if found is None:
            continue
        # "Dear agent," greets a help desk's people: an agent or a bot is a model's
        # only when called "AI agent", or as the reader of this text, or by @-mention.
        if (
            noun in _HUMAN_TOO
            and kind not in ("reading", "at")
            and not found.group(0).lower().rstrip().endswith(("ai", "automated"))
        ):
            continue
        tail = _TAIL[kind].match(text, m.end())
        if tail is not None and _acts(text, tail.end()):
            return True
    return False


def _acts(text: str, start: int) -> bool:
    """An action a hijack is for, asked for (not forbidden) in the paragraph from ``start``."""
    tail_end = start
    end = min(len(text), tail_end + 160)
    blank = _PARAGRAPH.search(text, tail_end, end)
    action = _ACTION_RE.search(text, tail_end, blank.start() if blank else end)
    if action is None:
        return False
    start = action.start()
    return _NOT.search(text, max(0, start - 16), start) is None


ADDRESSED_ORDER = rule(
    "addressed-order",
    "override",
    r"(?=[abclABCL])\b(?:ai|llm|language\s+model|assistant|agent|chatbot|bot|copilot)s?\b(?!-)",
    # Not "model" alone: tool results of an ML platform say it everywhere.
    # " ai " with its space before: Greek and Italian words end in "ai".
    (" ai ", " ai:", " ai,", " ais ", "\nai ", "@ai", "assistant", "agent", "llm", "bot ", "bot:", "bot,", "bots",
     "copilot", "language model"),
    quotable=True,
    accept=_addressed,
)  # fmt: skip

PARAPHRASE: tuple[Rule, ...] = (OVERRIDE_PARAPHRASE, ADDRESSED_ORDER)
"""The rules of this module, part of the override category."""

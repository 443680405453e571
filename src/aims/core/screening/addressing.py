"""Intent-level signals: what a text asks of a model, whatever its wording.

Phrase rules catch the textbook wording of an attack. These signals look at the
shape of an instruction instead, in many languages: a text that calls on the
model reading it *and* asks for something only an attacker wants from it (an
action that moves data, money or access, secrecy from the user, a change of
its rules); secrecy from the user on its own; claims of authority over the
model's rules; tool descriptions that speak for other tools or ask for data a
tool has no need of. Each is one or two regex passes, run only when a cheap
anchor is present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aims.core.screening.anchors import ANCHORS, UPPER_ANCHORS, names_users, positions, windowed
from aims.core.screening.context import (
    discusses_attacks,
    is_quoted_line,
    is_quoted_mention,
    is_reported,
    sentence_around,
)
from aims.core.screening.demands import (
    CLAIMED_APPROVAL,
    DECODE_AND_FOLLOW,
    OTHER_TOOLS,
    PARAM,
    RULES_CHANGE,
    SMUGGLED,
)
from aims.core.screening.orders import ACTION, NEGATED, QUOTES, order, quoted_elsewhere
from aims.core.screening.secrecy import SECRECY

_I = re.IGNORECASE

# What a model is made to do for a business, named as a job ("automated reviewer",
# "AI bookkeeper:").
_JOBS = (
    r"(?:agents?|assistants?|readers?|reviewers?|screeners?|bookkeepers?|accountants?|planners?|"
    r"schedulers?|concierges?|receptionists?|triagers?|dispatchers?|recruiters?|underwriters?|"
    r"auditors?|analysts?|helpers?|copilots?|secretar(?:y|ies)|clerks?|advis[eo]rs?|"
    r"moderators?|tutors?|graders?|summari[sz]ers?|orchestrators?|coordinators?|operators?|"
    r"catalog(?:u)?ers?|archivists?|translators?|classifiers?|labell?ers?|dispatchers?)"
)
# Who is addressed: nouns that name a model. Short all-caps ones are matched case
# sensitively ("ai" and "ia" are ordinary words in Italian and Spanish).
_STRONG = (
    r"(?-i:\bAI\b|\bA\.I\.|\bLLMs?\b|\bKI\b|\bIA\b)|\blanguage model|sprachmodell|"
    rf"\b(?:coding|calling|autonomous|automated|llm)[ -](?:[a-z]+[ -])?{_JOBS}|"
    r"\bas the model\b|\bfor the model\b|\bto the model\b|para el modelo|per il modello|"
    r"pour le modèle|für das modell|attention du modèle|"
    r"\b(?:to|for) (?:all |any )?models\b|\bthe (?:calling|reading|current) model\b|(?-i:\bИИ\b)|нейросет|AI\s*助手|人工智能|AI\s*비서|AI\s*에이전트|"
    r"AIへ|AIアシスタント|AIエージェント"
)
_WEAK = (
    r"\bassistants?\b|\bagents?\b|\bbots?\b|\bchatbots?\b|\bthe model\b|assistente|"
    r"asistente|\bassistent\b|asystenc\w*|ассистент|агент|助手|アシスタント|비서"
)
_ADDRESS = re.compile(
    f"(?:{_STRONG}|{_WEAK})(?!['’]s)(?! (?:researchers?|engineers?|ethics|team|conference|"
    "policy|act|startups?|safety|lab|companies|workshops?|courses?|research|literacy|"
    "applications?|apps|products?|security|governance|adoption|regulation|vendors?|"
    "tools?(?! (?:reading|processing|summari[sz]ing|handling))|"
    "platforms?|solutions?|usage|"
    "providers?|features?|roadmap|strategy)\\b)",
    _I,
)
# The words a letter opens with: "Dear", "Sehr geehrter", "Querida", "Drogi".
_SALUTATIONS = (
    r"dear|geehrte[rs]?|liebe[rs]?|querid[oa]|estimad[oa]|cher|chère|car[oa]|gentile|drog[ia]|beste"
)
# A Latin-script noun is a call on the model only where it is spoken to ("note for the
# assistant:", "to any AI agent reading this", "the assistant should …"), not where a
# text talks about one ("the LLM's behaviour", "files that the model processes").
_SPOKEN_TO_BEFORE = re.compile(
    rf"(?:\b(?:to|for|hey|hi|hello|attention|note|as|if you are|if you['’]re|olá|als|{_SALUTATIONS}|"
    r"per|pour|para|für|til|till|voor|dla|pro)|@)\W+(?:(?:the|any|all|every|an?|whatever|whichever|l'|el|la|il|den|das|die|le|"
    # One word between: "note for the coding AI", not "advisory for brokers — AI".
    r"der|o|a)\W+)?(?:[\w'-]+[\s,:]+)?$"
    # German "an den Assistenten": with its article only, as English "an AI assistant
    # reads" speaks of a model, not to it.
    r"|\ban\W+(?:den|die|das|alle|jeden)\W+(?:[\w'-]+\W+)?$"
    # "What should an AI model do after reading this?": a question put to the model.
    r"|\b(?:should|must)\s+(?:an?|the|any|every)\s+(?:[\w'-]+\s+)?$"
    # A handle: "@copilot-agent", "@review.bot".
    r"|@[\w.-]*$"
    # An aside that opens a line: "(Assistant-only step 4: …", "(For the model.) …".
    r"|(?:^|\n)[ \t]*[(\[](?:for\s+)?$",
    _I,
)
# "hey assistant," and "Agent, send …": a comma after the noun is a call only at the head
# of a sentence, not in "in the context of chatbots, …".
_HEAD_OF_SENTENCE = re.compile(
    r"(?:(?:^|[.!?\n]\s*)(?:\w+\s+)?|\b(?:hey|hi|hello|dear)\s+(?:\w+\s+){0,2})$", _I
)
_SPOKEN_TO_AFTER = re.compile(
    rf"(?:(?:\s+{_JOBS})?\s*[:!]|\s+(?:should|must|needs? to|has to|is (?:required|expected) "
    r"to|shall|will now|debe|deve|doit|soll|muss|reading|processing|summari[sz]ing|"
    r"handling|that (?:reads|processes)))",
    _I,
)
_STRONG_RE = re.compile(_STRONG, _I)
# "text addressed to an assistant", "shown to agents", "available to the model": a
# participle before "to" or "for" tells of the model, it does not call on it.
_TALKED_TO = re.compile(
    r"\b(?:(?!(?:when|then|need)\b)\w{2,}(?:ed|wn|en)|available|visible|accessible)\s+"
    r"(?:to|for)\W+(?:(?:the|any|all|every|an?)\W+)?(?:[\w'-]+\W+)?$",
    _I,
)

# A note written to the model by its name, even a weak one ("note to underwriting
# assistant: …"), calls on it whether or not the text speaks of a user.
_NOTE = (
    r"\b(?:note|message|memo|reminder|instructions?|nota|mensagem|mensaje|messaggio|observação|"
    r"hinweis|nachricht|notiz|remarque|wiadomość|uwaga|anweisung|instrucci[oó]n(?:es)?|nb)(?:\s+\S+){0,2}?\s+(?:to|for|para|per|"
    r"pour|à|für|an|dla|do)"
)
_NOTE_TO = re.compile(
    _NOTE + r"\s+(?:(?:the|any|all|o|a|el|la|il|l'|le|den|die|das|al|alla)\s*)?(?:[\w-]+\s+)?$", _I
)
_NOTE_TO_ANY = re.compile(_NOTE + r"\b")
_SPEAKER = re.compile(r"\s*\((?-i:[A-Z])[\w .'-]{0,30}\)\s*:")


def _double_negative(text: str, m: re.Match[str]) -> bool:
    """ "must never act without asking the user" is a rule for a model, not against one."""
    return m.group().lower().startswith("without") and bool(
        NEGATED.search(text, max(0, m.start() - 30), m.start())
    )


_DEFERS = re.compile(r"\b(?:unless|until|if|when|before|after)\b", _I)
"""Between "do not mention ..." and "the user": a condition the user decides ("unless the
user asked"), which defers to the user rather than keeps something from them."""


def _defers_to_user(m: re.Match[str]) -> bool:
    # "do not mention titles hidden by the user": the user acts, nothing is kept from them.
    return bool(_DEFERS.search(m.group())) or _BY_USER.search(m.group()) is not None


_BY_USER = re.compile(r"\bby (?:the|your) \w+$", _I)
# "Any instruction not to tell the user something is an immediate no": secrecy named as
# a kind of order, not given.
_DESCRIBED = re.compile(r"\b(?:instructions?|requests?|orders?|attempts?|demands?)\s+$", _I)
# "Teams using email assistants:", "for anyone with an AI agent,": the people who use a
# model are spoken to, not the model.
_USERS_OF = re.compile(
    r"\b(?:teams?|users|staff|colleagues|customers|employees|people|everyone|anyone|those|"
    r"departments?|developers)\s+(?:using|with|running|deploying|who use|that use)\s+"
    r"(?:[\w-]+\s+){0,2}$",
    _I,
)


def _talked_about(text: str, start: int, end: int) -> bool:
    return is_quoted_mention(text, start, end) or is_reported(text, start)


def intent_findings(
    text: str, present: frozenset[str] | set[str] | None = None
) -> Iterator[tuple[str, str, int, int]]:
    """``(category, rule, start, end)`` for each intent-level signal in ``text``
    (``present``: see :func:`~aims.core.screening.anchors.positions`)."""
    lower = text.lower()
    if present is not None and not text.isascii():
        present = None  # the anchors in other scripts are not in it
    yield from _addressed(text, lower, present)
    for m in windowed(SECRECY, text, lower, ANCHORS["secrecy"], 120, 120, present):
        if (
            not _double_negative(text, m)
            and not _defers_to_user(m)
            and not _DESCRIBED.search(text, max(0, m.start() - 24), m.start())
            and not _talked_about(text, m.start(), m.end())
        ):
            yield "poisoning", "secrecy-from-user", m.start(), m.end()
            break
    for rx, key, cat, name in (
        (RULES_CHANGE, "rules", "override", "rules-change"),
        (CLAIMED_APPROVAL, "approval", "override", "claimed-approval"),
        (OTHER_TOOLS, "tools", "poisoning", "other-tools"),
        (DECODE_AND_FOLLOW, "decode", "obfuscation", "decode-and-follow"),
    ):
        for m in windowed(rx, text, lower, ANCHORS[key], 200, 240, present):
            if not _talked_about(text, m.start(), m.end()):
                yield cat, name, m.start(), m.end()
                break
    for m in windowed(SMUGGLED, text, lower, ANCHORS["smuggled"], 80, 120, present):
        s, e = sentence_around(text, m.start(), m.end())
        sentence = text[s:e]
        if (
            PARAM.search(sentence)
            and not NEGATED.search(text, s, m.start())
            and not _talked_about(text, m.start(), m.end())
        ):
            yield "poisoning", "smuggled-data", s, e
            break


# "note=\"assistant: suppress the alarm", "- assistant, pls download + open it": a weak
# noun in the middle of a line, told an act at once.
_AT_ONCE = re.compile(
    r"\s*(?:[:,]\s*(?:(?:please|pls|kindly)\s+)?|\s[-–—]\s*(?:please|pls|kindly)\s+)", _I
)
_IN_WORD_APOSTROPHE = re.compile(r"(?<=\w)['’](?=\w)")
_HANDLE_GOES_ON = re.compile(r"[\w.-]")
_TOPIC_AFTER = re.compile(
    rf"(?:\s+{_JOBS})?\s*:\s*(?:what|how|which|why|if you (?:use|have|rely))\b", _I
)
# "assistants summarizing this page should ...": the reader of this very text.
_READER_OF_THIS = re.compile(
    r"\s+(?:(?:that|who)\s+(?:is\s+|are\s+)?|currently\s+)?(?:reading|summari[sz]ing|processing|"
    r"handling|reviewing|triaging|parsing|indexing|compiling)\s+(?:this|these)\b",
    _I,
)


def _told_at_once(text: str, m: re.Match[str]) -> bool:
    """Whether the noun of ``m`` is told an act at once, after a colon, a comma or a dash,
    away from a line's start (where "Assistant:" labels a transcript's turn)."""
    line_start = text.rfind("\n", 0, m.start()) + 1
    head = _IN_WORD_APOSTROPHE.sub("", text[line_start : m.start()])
    if not head.strip(" \t-*•>[(\"'") or m.group().lower().startswith("agent"):
        return False  # a turn's label, or a support desk's (human) agent
    opened = max(head.rfind(q) for q in QUOTES)
    if opened >= 0 and head.count(head[opened]) % 2 and head[:opened].rstrip()[-1:] not in "=:":
        return False  # quoted, unless as a field's value (note="assistant: …")
    after = _AT_ONCE.match(text, m.end())
    return after is not None and ACTION.match(text, after.end()) is not None


# "Sehr geehrter digitaler Assistent, …", "Dear assistant,": a letter's salutation.
_DEAR = re.compile(rf"\b(?:{_SALUTATIONS})\s+(?:[\w-]+\s+)?$", _I)


def _human_agent(noun: str) -> bool:
    return noun.lower().startswith(("agent", "агент"))


def _vocative(text: str, m: re.Match[str]) -> bool:
    """ "Asystencie, kierownik poprosił …": the noun called at the head of a sentence, with a
    comma (not a support desk's agents, who are people)."""
    return (
        text.startswith(",", m.end())
        and not _human_agent(m.group())
        and _HEAD_OF_SENTENCE.search(text, max(0, m.start() - 20), m.start()) is not None
    )


def _told_of(text: str, start: int) -> bool:
    """Whether a participle before "to" or "for" tells of the model at ``start`` ("text
    addressed to the assistant"), unless the text tells of itself ("this note is meant
    for the AI")."""
    lo = max(0, start - 50)
    line = text.rfind("\n", lo, start) + 1 or lo
    return (
        bool(_TALKED_TO.search(text, lo, start)) and not _THIS.search(text, lo, start)
    ) or discusses_attacks(text, line, start)


_THIS = re.compile(r"\bth(?:is|ese)\b", _I)


def _addressed(
    text: str, lower: str, present: frozenset[str] | set[str] | None
) -> Iterator[tuple[str, str, int, int]]:
    """An order, secrecy or a change of rules in the text that follows a call on a model."""
    # A weak noun counts in a text that speaks of a user or tools; in any other text only
    # when told an act at once, named by a handle or called the reader of this text.
    weak_ok = names_users(lower, present)
    starts = positions(lower, ANCHORS["address"], present) + positions(text, UPPER_ANCHORS)
    starts += positions(lower, ANCHORS["weak"], present)
    seen = -1
    for pos in sorted(starts):
        m = _ADDRESS.search(text, max(0, pos - 24, seen), min(len(text), pos + 60))
        if m is None:
            continue
        seen = m.end()
        noun = m.group()
        if _IN_NAME.search(text, max(0, m.start() - 40), m.start()):
            continue  # part of a name: "imperative-to-assistant", "newsroom-assistant.yaml"
        at_once = _told_at_once(text, m)
        if noun.isascii() and not (
            (
                _SPOKEN_TO_BEFORE.search(text, max(0, m.start() - 40), m.start())
                and not _told_of(text, m.start())
            )
            or _SPOKEN_TO_AFTER.match(text, m.end())
            or (
                text.startswith(",", m.end())
                and _HEAD_OF_SENTENCE.search(text, max(0, m.start() - 20), m.start())
            )
            or at_once
        ):
            continue
        if not (
            weak_ok
            or _STRONG_RE.fullmatch(noun)
            or (_DEAR.search(text, max(0, m.start() - 40), m.start()) and not _human_agent(noun))
            or _vocative(text, m)
            or _NOTE_TO.search(text, max(0, m.start() - 40), m.start())
            or at_once
            or (text[m.start() - 1 : m.start()] == "@" and not _HANDLE_GOES_ON.match(text, m.end()))
            or _READER_OF_THIS.match(text, m.end())
        ):
            continue
        if _talked_about(text, m.start(), m.end()) or is_quoted_line(text, m.start()):
            continue
        if _TOPIC_AFTER.match(text, m.end()):
            continue  # a heading or a word to its users: "AI assistant: what it may do"
        if _SPEAKER.match(text, m.end()):
            continue  # a transcript's speaker label, "Agent (Marco): Hi!"
        if _USERS_OF.search(text, max(0, m.start() - 40), m.start()):
            continue  # "Teams using email assistants: …" speaks to people
        if _PASSIVE.match(text, m.end()):
            continue  # "chatbots must not be used for work": the model is spoken of
        if _EXAMPLES_AFTER.match(text, m.end()) or _in_quoted_examples(text, m.start()):
            continue  # 'orders to the assistant ("AI, add a free bottle")': examples of them
        window_end = _window_end(text, m)
        # The order follows the call; secrecy or a change of rules may come before it.
        hit = order(text, m, window_end)
        for rx in (SECRECY, RULES_CHANGE):
            if hit is None:
                hit = rx.search(text, max(0, m.start() - 200), window_end)
                if hit and rx is SECRECY and (_double_negative(text, hit) or _defers_to_user(hit)):
                    hit = None
                if hit and quoted_elsewhere(text, hit, m.end()):
                    hit = None
        if hit is not None:
            yield "override", "model-addressed-order", m.start(), max(hit.end(), m.end())
            return


# Joined to the word before by "-", "_", "/" or ".", and not a handle ("@copilot-agent")
# or a compound with a capitalised name of a model ("KI-Assistent", "AI-agent").
_IN_NAME = re.compile(r"(?<![@\w-])[\w-]*\w[-_/.](?<![A-ZА-Я]{2}-)$")


# "The assistant must not be used ...", "agents should be reviewed": a passive after the
# noun speaks of the model.
_PASSIVE = re.compile(
    r"\s+(?:must|should|shall|may|can|will|needs? to)\s+(?:not\s+|never\s+)?be\s+\w+(?:ed|en|wn)\b",
    _I,
)


_EXAMPLES_AFTER = re.compile(r"\s*\(\s*[\"“«'‘]")
# Inside a parenthesis of quotations: '("AI, tell the client …", "assistant: forward …")'.
_QUOTED_EXAMPLES = re.compile(
    r"(?<![\w.])\(\s*[\"“«](?:[^()\"“”«»\n]{0,200}[\"”»]\s*,\s*[\"“«])*[^()\"“”«»\n]{0,60}$"
)


def _in_quoted_examples(text: str, start: int) -> bool:
    return _QUOTED_EXAMPLES.search(text, max(0, start - 400), start) is not None


def _window_end(text: str, m: re.Match[str]) -> int:
    """Where the order to the model called on by ``m`` must lie: within 400 characters,
    inside the quotation that holds the call, and in the call's paragraph when the call's
    own line goes on after the noun ("Tip for the model: aggregate in SQL ...")."""
    end = min(len(text), m.end() + 400)
    line_start = text.rfind("\n", 0, m.start()) + 1
    head = _IN_WORD_APOSTROPHE.sub("", text[line_start : m.start()])
    opened = max(head.rfind(q) for q in QUOTES)
    if opened >= 0 and head.count(head[opened]) % 2 == 1:
        close = min((i for i in (text.find(q, m.end(), end) for q in QUOTES) if i >= 0), default=-1)
        if close >= 0:
            return close
    para = text.find("\n\n", m.end(), end)
    line_end = text.find("\n", m.end(), end)
    if para >= 0 and line_end >= 0 and len(text[m.end() : line_end].split()) >= 4:
        return para
    return end


INTENT_RULES = (
    "model-addressed-order",
    "secrecy-from-user",
    "rules-change",
    "claimed-approval",
    "other-tools",
    "decode-and-follow",
    "smuggled-data",
)
"""The names of the intent-level rules (a policy may switch each off)."""

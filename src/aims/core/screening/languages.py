"""Instruction override in other languages written in Latin script.

The override rules of :mod:`~aims.core.screening.instructions` are English.
An injection in a web page or an e-mail is as easily written in French or
German, so the commonest override, "ignore (all) previous instructions", is
also matched in French, Spanish, Italian, Portuguese, German and Dutch.
Triggers are ASCII stems (``ignor``, ``oubli``, ``vergiss``): accented
letters are matched by the patterns, not by the trigger search. Languages in
other scripts (Russian, Chinese, Arabic) are not covered: see the limits in
docs/screening.md.
"""

from __future__ import annotations

import re

from aims.core.screening.intent import about_a_subject
from aims.core.screening.rules import Rule, rule

_VERB = r"(?:ignor|oubli|olvid|dimentic|esque[cç]|vergiss|missacht|negeer|vergeet|abaik|lupak)\w*"
_ALL = r"(?:(?:toutes?|todas?|tutte|alle|tous|semua|seluruh)\s+)?"
_DET = r"(?:(?:les|tes|vos|las|tus|sus|le|tue|as|suas|die|deine|ihre|de|je|uw)\s+)?"
_BEFORE = (
    r"(?P<before>vorherigen|bisherigen|vorigen|fr[uü]heren|urspr[uü]nglichen|vorige|eerdere|"
    r"oorspronkelijke)\s+"
)
"""German and Dutch put "previous" before the noun..."""
_NOUN = (
    r"(?:instructions|consignes|r[eè]gles|directives|instrucciones|reglas|indicaciones|directivas|"
    r"istruzioni|regole|direttive|instru[cç][oõ]es|regras|diretrizes|Anweisungen|Instruktionen|"
    r"Regeln|Befehle|Vorgaben|instructies|regels|opdrachten|instruksi|perintah|petunjuk|aturan)"
)
_AFTER = (
    r"\s+(?P<after>pr[eé]c[eé]dentes|ant[eé]rieures|initiales|d'origine|anteriores|previas|"
    r"originales|iniciales|precedenti|originali|iniziali|originais|iniciais|sebelumnya|"
    r"terdahulu|awal)"
)
"""...French, Spanish, Italian and Portuguese after it."""

# One pattern for the six languages (a pattern per language would cost a pass each over
# the window around every English "ignore"): a verb, then "previous" before the noun or
# after it. The look-ahead for the verbs' first letters lets the regex engine skip the
# positions where no verb can start (it cannot skip on a leading "\b").
_PHRASE = rf"(?=[iodemnval])\b{_VERB}\s+{_ALL}{_DET}(?:{_BEFORE}{_NOUN}\b|{_NOUN}{_AFTER})"

# Said in other words: "take no more account of / pay no attention to" and "what you were
# told", the same two parts as the English paraphrase.
_DISCARD = (
    r"(?:ne\s+(?:tiens|tenez|tenir)\s+(?:plus|pas)\s+compte|fais\s+abstraction|faites\s+abstraction|"
    r"no\s+hagas\s+caso|haz\s+caso\s+omiso|desconsider[ae]\w*|non\s+tenere\s+(?:pi[uù]\s+)?conto|"
    r"n[aã]o\s+(?:leve|leves|considere)\s+(?:mais\s+)?(?:em\s+conta)?|ignor\w+|oubli\w+|olvid\w+|"
    r"dimentic\w+|esque[cç]\w+|vergiss|abaikan|lupakan)"
)
_WHAT_TOLD = (
    r"(?:ce\s+qu['’]on\s+(?:t['’]a|vous\s+a)\s+dit|ce\s+qui\s+(?:t['’]a|vous\s+a)\s+[eé]t[eé]\s+dit|"
    r"lo\s+que\s+te\s+(?:dijeron|han\s+dicho|indicaron|ordenaron)|"
    r"quello\s+che\s+ti\s+(?:hanno\s+|[eè]\s+stato\s+)?dett[oa]|"
    r"o\s+que\s+(?:te|lhe)\s+(?:disseram|foi\s+dito)|"
    r"was\s+(?:man\s+)?(?:dir|ihnen)\s+(?:\w+\s+)?gesagt|"
    r"apa\s+yang\s+(?:telah\s+|sudah\s+)?(?:dikatakan|diperintahkan)\s+(?:kepadamu|padamu))"
)

_NEGATION = re.compile(
    r"(?:\b(?:ne\s+pas|no|non|nicht|niet|n[aã]o|jangan|tidak|nunca|jamais|mai)\s+|\bn['’])$",
    re.IGNORECASE,
)


def _not_negated(m: re.Match[str]) -> bool:
    """An override forbidden ("Jangan abaikan ...", "no ignores ...", "N'oubliez pas ...")
    is advice, not an override."""
    return _NEGATION.search(m.string, max(0, m.start() - 12), m.start()) is None


OTHER_LANGUAGES: tuple[Rule, ...] = (
    rule(
        "override-paraphrase-translated",
        "override",
        rf"(?=[nfhdioeval])\b{_DISCARD}\s+(?:de\s+|d['’]|a\s+|di\s+|do\s+|del\s+|,\s*)?{_WHAT_TOLD}",
        # What was said ("ce qu'on t'a dit") rather than the verbs, which English shares.
        (
            "qu'on",
            "qu?on",  # "qu’on": triggers are searched in a copy with "?" for non-ASCII
            "qui t",
            "qui vous",
            "lo que te",
            "che ti",
            "que te",
            "que lhe",
            "gesagt",
            "apa yang",
        ),
        quotable=True,
        accept=_not_negated,
    ),
    rule(
        "ignore-instructions-translated",
        "override",
        _PHRASE,
        (
            "ignor",
            "oubli",
            "olvid",
            "dimentic",
            "esque",
            "vergiss",
            "missacht",
            "negeer",
            "vergeet",
            "abaik",
            "lupak",
        ),
        quotable=True,
        accept=lambda m: _not_negated(m) and not about_a_subject(m),
    ),
)
"""The override rule for other languages (named ``ignore-instructions-translated``)."""

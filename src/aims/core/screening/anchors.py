"""Anchor words of the intent signals, and the windowed search that uses them.

Each intent pattern names words one of which every match of it holds. A text
is searched for those words once (a substring search each) and the pattern
runs only in windows around them, so prose that holds none costs a few
substring searches and no regex pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Words one of which every match of a pattern holds (lower case): a pattern runs only in
# windows around them, so prose without them costs a few substring searches.
ANCHORS: dict[str, tuple[str, ...]] = {
    "secrecy": (
        "user",
        "human",
        "clinician",
        "be told",
        "be informed",
        "be notified",
        "never reveal",
        "leave this one out",
        "say nothing",
        "no need to",
        "erwähne",
        "nutzer",
        "utilisat",
        "usuario",
        "senza",
        "necessario",
        "utente",
        "usuário",
        "gebruiker",
        "nie informuj",
        "użytkownik",
        "никому",
        "не ",
        "без ",
        "不要",
        "无需",
        "瞒着",
        "ユーザー",
        "報告しない",
        "사용자",
        "المستخدم",
        "mention",
        "reveal",
        "disclos",
        "surface",
        "report",
        "explain",
        "list",
        "say that",
        "dites",
        "mentionnez",
        "signalez",
        "informez",
        "parlez",
        "révélez",
        "menciones",
        "reveles",
        "digas",
        "comentes",
        "menzionare",
        "nevn",
        "nämn",
        "nævn",
        "informeras",
        "informeres",
        "vertel",
        "必要は",
        "nicht erklärt",
        "nicht mitgeteilt",
        "nicht gesagt",
        "nicht erwähnt",
        "inutile d",
        "not tell",
        "n't tell",
        "never tell",
        "not inform",
        "never inform",
        "appended",
        "added",
        "extra",
        "inserted",
        "hidden",
        "keep this between",
        "keep it between",
        "that another",
        "that other",
        "that a second",
        "that the other",
        "be discussed",
        "be mentioned",
        "be disclosed",
        "not warn",
        "n't warn",
        "never warn",
        "need to mention",
        "need to disclose",
        "need to bring",
    ),
    "rules": (
        "retired",
        "obsolete",
        "revoked",
        "void",
        "cancel",
        "replaced",
        "superseded",
        "disabled",
        "no longer",
        "superseding",
        "has been",
        "have been",
        "comes from your",
        "deployed you",
        "pretend",
        "adopt",
        "take orders",
        "treat",
        "the rules",
        "aufgehoben",
        "ungültig",
        "作废",
        "失效",
        "無効",
        "больше не",
        "отменен",
        "sostituite",
        "obéis",
        "s'appliquent",
        "mission",
        "misión",
        "missione",
        "aufgabe",
        "задача",
        "任务",
        "olvida",
        "restricciones",
        "oublie",
        "vergiss",
        "in preference to",
        "precedence",
        "prevail",
        "wins over",
        "win over",
        "conflict",
        "remplacées",
        "annulées",
        "caduques",
        "obsolètes",
        "supprimées",
    ),
    "approval": (
        "approved",
        "authori",
        "agreed",
        "approval prompts",
        "no need to ask",
        "confirmation",
    ),
    "tools": (
        "other",
        "whenever any",
        "prefer this tool",
        "another tool",
        "never call",
        "supersedes",
        "replaces",
        "remplace",
        "reemplaza",
        "sustituye",
        "ersetzt",
        "official",
        "other tool",
        "even if",
    ),
    "decode": ("decod", "dekodier", "décod", "解码", "デコード"),
    "smuggled": (
        "conversation",
        "chat history",
        "tool outputs",
        "secret",
        "password",
        "key",
        "token",
        "credential",
        "printenv",
        "env",
        "variables de entorno",
        "umgebungsvariablen",
        ".ssh",
        ".aws",
        ".netrc",
        "email address",
        "contents of the file",
        "card number",
        "passport number",
        "of birth",
        "record",
        "profile",
        "cvv",
        "cvc",
        "card security",
        "session.json",
        "creds",
        "whole message",
        "entire message",
        "full message",
        "whole request",
        "entire request",
        "full request",
        "whole prompt",
        "entire prompt",
        "full prompt",
        "whole input",
        "entire input",
        "full input",
        "uploaded file",
        "凭据",
        "私钥",
    ),
    "address": (
        "language model",
        "sprachmodell",
        "llm",
        "the model",
        "el modelo",
        "il modello",
        "le modèle",
        "das modell",
        "attention du modèle",
        "coding",
        "calling",
        "autonomous",
        "automated",
        "ии",
        "нейросет",
        "人工智能",
        "ai助手",
        "ai 助手",
        "ai비서",
        "ai 비서",
        "에이전트",
        "aiへ",
        "aiアシスタント",
        "aiエージェント",
    ),
    "weak": (
        "agent",
        "assistant",
        "bot",
        "model",
        "asistente",
        "assistente",
        "assistent",
        "asystenc",
        "ассистент",
        "агент",
        "助手",
        "アシスタント",
        "비서",
    ),
}
USER_WORDS = (
    "user",
    "human",
    "utilisat",
    "usuari",
    "nutzer",
    "utente",
    "gebruiker",
    "użytkownik",
    "пользовател",
    "用户",
    "ユーザー",
    "사용자",
    "tool",
    "conversa",
    "prompt",
)
MAX_WINDOWS = 256
"""At most this many anchor windows are read per pattern and text (a text padded with
more anchors than this is long and repetitive; its start is still read)."""


def _reduced(anchors: tuple[str, ...]) -> tuple[str, ...]:
    """``anchors`` without those that contain another (finding the shorter one suffices)."""
    return tuple(a for a in anchors if not any(o != a and o in a for o in anchors))


ANCHORS = {k: _reduced(v) for k, v in ANCHORS.items()}
UPPER_ANCHORS = ("AI", "A.I.", "KI", "IA", "LLM")
_ASCII = {v: tuple(a for a in v if a.isascii()) for v in ANCHORS.values()}
"""The ASCII anchors of each list: all an ASCII text can hold."""


_ASCII_SETS = {v: frozenset(a) for v, a in _ASCII.items()}
ASCII_WORDS = frozenset(a for v in _ASCII.values() for a in v) | {
    w for w in USER_WORDS if w.isascii()
}
"""Every ASCII anchor and user word: a screener that finds which of these (and of its
rules' triggers) an ASCII text holds, once, passes that set to :func:`positions`."""


_ASCII_USER_WORDS = frozenset(w for w in USER_WORDS if w.isascii())


def names_users(lower: str, present: frozenset[str] | set[str] | None = None) -> bool:
    """Whether ``lower`` names a user or tools (``present`` as for :func:`positions`)."""
    if present is not None:
        return not _ASCII_USER_WORDS.isdisjoint(present)
    return any(w in lower for w in USER_WORDS if w.isascii() or not lower.isascii())


def positions(
    lower: str, anchors: tuple[str, ...], present: frozenset[str] | set[str] | None = None
) -> list[int]:
    """Where the anchors occur in ``lower`` (at most :data:`MAX_WINDOWS`); an ASCII text
    is not searched for the others. ``present``, when given, holds every word of
    :data:`ASCII_WORDS` that the (ASCII) text holds: only those are searched for."""
    starts: list[int] = []
    if present is not None:
        if not present or present.isdisjoint(_ASCII_SETS[anchors]):
            return starts
        words: tuple[str, ...] = tuple(a for a in _ASCII[anchors] if a in present)
    else:
        words = _ASCII.get(anchors, anchors) if lower.isascii() else anchors
    for a in words:
        pos = lower.find(a)
        while pos >= 0 and len(starts) < MAX_WINDOWS:
            starts.append(pos)
            pos = lower.find(a, pos + len(a))
    return starts


def windowed(
    rx: re.Pattern[str],
    text: str,
    lower: str,
    anchors: tuple[str, ...],
    before: int,
    after: int,
    present: frozenset[str] | set[str] | None = None,
) -> Iterator[re.Match[str]]:
    """Matches of ``rx`` in windows around the anchors found in ``lower`` (``present``
    as for :func:`positions`)."""
    starts = positions(lower, anchors, present)
    if not starts:
        return
    starts.sort()
    # Overlapping windows are merged into one span, searched once: a match that starts in
    # one window and ends in the next is found, and no text is searched twice.
    lo, hi = max(0, starts[0] - before), min(len(text), starts[0] + after)
    for pos in starts[1:]:
        if pos - before > hi:
            yield from rx.finditer(text, lo, hi)
            lo = pos - before
        hi = min(len(text), pos + after)
    yield from rx.finditer(text, lo, hi)

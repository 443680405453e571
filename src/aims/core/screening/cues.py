"""Structural cues for the learned screening signal: what a passage *does*, in any wording.

Character n-grams and words tell the learned signal how a text is phrased;
an attack by a new author is phrased differently, but it still does the same
few things: it speaks to the model, asks for an act on data, credentials or
tools, points at a sink outside (an address, a URL, a phone number), hides
the act from the user, or declares what the model was told void. Each cue is
a small vocabulary of one of those acts, in English and the languages the
screening reads, and it becomes a feature of its own; so does each *pair* of
cues found close together (a credential near a sink, the model addressed
near an act), which a linear model over words cannot express. The weights of
these features are learned like the others, from the development cases.

The vocabularies name the acts, not the sentences of any case: a word joins
them when it is an ordinary way to say the act (``send``, ``envía``,
``schicke``), never because a case used it. Words are looked up in tables
(whole words, word beginnings, and two- or three-word phrases), so a cue
costs a dictionary look-up per word rather than a regular expression per
position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import compress
from typing import cast

from aims.core.screening.confusables import CONFUSABLES

CUES = ("model", "send", "secret", "sink", "hide", "void", "act", "user", "order", "address")
"""The cues, in the order their pairs are named (``model+send``, ...)."""

# Whole words, then word beginnings, per cue.
_WORDS = {
    "model": "assistant assistants ai llm llms model chatbot copilot agent agents bot "
    "asistente assistente assistent assistentin ki ia asisten yapay summariser summarizer "
    "crawler crawlers scraper gpt chatgpt",
    "send": "send sends sending sent post posts posting paste forward email e-mail mail "
    "sync sertakan gửi wyślij wysłać wyslij sende senden sendet",
    "secret": "password passwords passwd passphrase token tokens secret secrets credential "
    "credentials ssh cookie cookies session sessionid otp pin cvv cvc iban ssn mfa env "
    "id_rsa kubeconfig apikey api_key zugangsdaten anmeldedaten credenciales identifiants "
    "credenziali credenciais jetons",
    "sink": "curl wget webhook webhooks http_get http_post nslookup netcat ncat scp sftp ftp "
    "rsync telnet pastebin gist gists",
    "hide": "silently quietly secretly covertly discreetly unnoticed",
    "void": "instead void revoked obsolete superseded отныне теперь",
    "act": "run rm drop force",
    "user": "user users user's usuario usuaria utilisateur utilisateurs benutzer benutzers "
    "nutzer utente gebruiker użytkownik kullanıcı pengguna usuário",
    "order": "must always immediately mandatory required shall debe deve doit muss musst "
    "moet harus phải sempre siempre toujours immer zawsze mutlaka",
}
_STEMS = {
    "send": "forward upload transmit submit export leak exfiltrat attach append prepend "
    "include embed copy copie envía envia enviar envie envíe envoy manda schick weiterleit "
    "invia inoltr отправ перешл пересл gönder kirim envoi transmet trasmett",
    "model": "модел ассистент asystent asistan asistent asszisztens",
    "secret": "passw kennw contraseñ senha парол hasł şifre clave chiav учетн учётн",
    "void": "ignor disregard forget overrid olvid vergiss dimentic esqueç забуд игнор "
    "zignoruj unut abaikan désormais dorénavant annul",
    "user": "пользовател",
    "order": "обязательн должен",
    "act": "approv delet remov wipe transfer payee payment refund cancel grant disabl "
    "execut install aprueb aprov approuv genehmig zatwierd onayla setujui",
}
_PHRASES = {
    "model": "language model|yapay zeka|yapay zekâ|trợ lý|artificial intelligence|"
    "künstliche intelligenz|intelligence artificielle|inteligencia artificial|"
    "intelligenza artificiale|inteligência artificial|sztuczna inteligencja|"
    "umělá inteligence|mesterséges intelligencia|kunstmatige intelligentie|"
    "trí tuệ|искусственный интеллект",
    "secret": "api key|api keys|private key|card number|credit card|social security|"
    "backup codes|one time|de passe|mật khẩu|kata sandi",
    "void": "from now|no longer|a partir|desde ahora|ab jetzt|ab sofort|nicht mehr|in poi|"
    "sono più|od teraz|bundan sonra|mulai sekarang|từ giờ|bỏ qua|new role|new task|"
    "new instructions|new instruction|nouvelle tâche|nueva tarea|neue aufgabe|nuovo compito",
    "act": "mark as|drop table",
    "hide": "the background",
}
# Scripts written without spaces (and words that take attached particles): substrings.
_SUBSTRINGS = {
    "model": "助手 アシスタント 어시스턴트 مساعد सहायक モデル 模型",
    "send": "发送 发给 送信 送って 보내 أرسل ارسل भेज",
    "secret": "密码 密碼 パスワード 비밀번호 المرور पासवर्ड",
    "hide": "不要告诉 言わない 知らせない 伝えない 알리지 إبلاغ لا_تخبر न_बताएं मत_बताओ",
    "user": "用户 用戶 ユーザー 사용자 المستخدم उपयोगकर्ता",
    "order": "必须 必須 必ず 반드시 يجب ज़रूर",
    "void": "从现在 從現在 放弃 忽略 今後 無視 これから 무시 이제부터 تجاهل من_الآن अनदेखा अब_से",
}
# "do not tell", "without asking", "sin avisar": a negation, then within three words a verb
# of telling or asking.
_NEGATIONS = "not don dont never without no sin sans ohne nicht senza sem не jangan không ne rien"
_TELL_STEMS = (
    "tell inform notif mention alert confirm ask know told decir avis consult dire préven "
    "fragen sagen dirlo contar говор сообщ уведом beri báo nói bildirme söyleme signal "
    "révél melde verrat"
)

# Normalising folds Cyrillic and Greek look-alikes into Latin letters ("пароль" reads
# "пapoль"), so a word is looked up as written and as normalising leaves it (unless that
# is all Latin: "не" would read as "he").
_FOLD = str.maketrans(CONFUSABLES)


def _both(words: str) -> list[str]:
    out = []
    for w in words.split():
        folded = w.translate(_FOLD)
        out += [w] if folded == w or folded.isascii() else [w, folded]
    return out


_WORD = {w: c for c, ws in _WORDS.items() for w in _both(ws)}
_STEM = {s: c for c, ss in _STEMS.items() for s in _both(ss)}
_STEM_LENGTHS = sorted({len(s) for s in _STEM})
# Each phrase as written and, in Cyrillic or Greek, as normalising leaves it.
_PHRASE = {
    tuple(v.replace("_", " ").split()): c
    for c, ps in _PHRASES.items()
    for v in _both(ps.replace(" ", "_").replace("|", " "))
}
_PHRASE_FIRST = frozenset(p[0] for p in _PHRASE)
_PHRASE_SECOND = frozenset(p[1] for p in _PHRASE)
_SUBSTRING = {s.replace("_", " "): c for c, ss in _SUBSTRINGS.items() for s in ss.split()}
# One pass of one pattern (longest first) rather than a search per substring: a search of
# a wide text costs about as much as the pattern's pass over it.
_SUBSTRING_RE = re.compile("|".join(map(re.escape, sorted(_SUBSTRING, key=len, reverse=True))))
_NEGATION = frozenset(_both(_NEGATIONS))
_TELL = tuple(_both(_TELL_STEMS))
_FAR_SCRIPT = re.compile("[\u0600-\U0010ffff]")
_EMAIL = re.compile(r"@[\w-]+\.\w")
_PHONE = re.compile(r"\+\d[\d -]{7,}\d")

NEAR = 200
"""Two cues this many characters apart or closer form a pair (a pair's span then fits
in half a window, so in one of the windows that tile the text)."""
FEATURES = (*CUES, *(f"{a}+{b}" for i, a in enumerate(CUES) for b in CUES[i + 1 :]))
"""Every feature a text can get from its cues: each cue, then each pair of cues."""
FOLLOWING = 4
"""A cue pairs with at most this many cues that follow it."""
_INDEX = {c: i for i, c in enumerate(CUES)}
_SINK = _INDEX["sink"]
_MODEL = _INDEX["model"]
_ADDRESS = _INDEX["address"]
# The model spoken to rather than of: "assistant:", "AI reviewer,", "dear assistant".
_CALLS = frozenset(("dear", "hey", "hi", "hello", "attention", "attn"))
_HIDE = _INDEX["hide"]
# The feature of the pair of cues i and j, whichever comes first in the text.
_PAIR = [
    [
        FEATURES.index(f"{CUES[min(i, j)]}+{CUES[max(i, j)]}") if i != j else -1
        for j in range(len(CUES))
    ]
    for i in range(len(CUES))
]


# A word's code: its cue's index + 1 in the low four bits (0: none), and two flags.
_CUE_BITS = 15
_NEGATES = 16
_TELLS = 32
_SEEN: dict[str, int] = {}
"""Each word met so far and its code: the words of traffic repeat, so most words cost
one look-up, made in C (``map``), and only the words with a code are looked at in Python."""


def _classify(word: str) -> int:
    """A word's code (0 for a word that says nothing), remembered in :data:`_SEEN`."""
    cue = _WORD.get(word)
    if cue is None:
        for k in _STEM_LENGTHS:
            if k > len(word):
                break
            cue = _STEM.get(word[:k])
            if cue is not None:
                break
    code = 0 if cue is None else _INDEX[cue] + 1
    if word in _NEGATION:
        code |= _NEGATES
    if word.startswith(_TELL):
        code |= _TELLS
    if len(_SEEN) > 1 << 16:
        _SEEN.clear()
    _SEEN[word] = code
    return code


def code(word: str) -> int:
    """A word's code: its cue's index + 1 in the low four bits (0: none), and whether it
    negates or tells (see :func:`_classify`)."""
    known = _SEEN.get(word)
    return _classify(word) if known is None else known


def _codes(words: list[str]) -> list[int]:
    """The code of each word (see :func:`_classify`)."""
    known = list(map(_SEEN.get, words))
    if None in known:
        return [_classify(w) if c is None else c for c, w in zip(known, words, strict=True)]
    return cast("list[int]", known)


def _words(
    text: str,
    starts: list[int],
    ends: list[int],
    words: list[str],
    codes: Sequence[int],
    out: list[tuple[int, int, int]],
) -> None:
    """Append to ``out`` the ``(start, end, cue index)`` of the cues said by ``words``
    (those of ``text`` at ``starts``..``ends``, with their ``codes``)."""
    negation = -10
    for i in compress(range(len(codes)), codes):
        code = codes[i]
        if code & _CUE_BITS:
            index = (code & _CUE_BITS) - 1
            out.append((starts[i], ends[i], index))
            if index == _MODEL:
                end = ends[i]
                if text[end : end + 1] in (":", ","):
                    out.append((starts[i], end + 1, _ADDRESS))
                elif _CALLS.intersection(words[max(0, i - 3) : i]):
                    out.append((starts[max(0, i - 3)], end, _ADDRESS))
        if code & _NEGATES:
            negation = i
        elif code & _TELLS and i - negation <= 3:
            out.append((starts[negation], ends[i], _HIDE))


def _phrases(words: list[str]) -> list[tuple[int, int]]:
    """``(i, cue index)`` for each phrase among ``words``, ``i`` the place of its first
    word (a text needs a word that may begin a phrase and one that may end one: most
    texts have the first, such as "the" or "from", and no phrase)."""
    if len(words) < 2 or _PHRASE_FIRST.isdisjoint(words) or _PHRASE_SECOND.isdisjoint(words):
        return []
    out = []
    for i in compress(range(len(words) - 1), map(_PHRASE_FIRST.__contains__, words)):
        cue = _PHRASE.get((words[i], words[i + 1]))
        if cue is not None:
            out.append((i, _INDEX[cue]))
    return out


def _marks(text: str, out: list[tuple[int, int, int]]) -> None:
    """Append to ``out`` the ``(start, end, cue index)`` of sinks marked by punctuation
    (addresses, URLs, phone numbers) and of substrings of scripts written without spaces."""
    if "@" in text:
        out.extend((m.start(), m.end(), _SINK) for m in _EMAIL.finditer(text))
    i = text.find("://")
    while i >= 0:
        out.append((i, i + 3, _SINK))
        i = text.find("://", i + 3)
    if "+" in text:
        out.extend((m.start(), m.end(), _SINK) for m in _PHONE.finditer(text))
    # The substrings are all in scripts from Arabic on (U+0600).
    if not text.isascii() and _FAR_SCRIPT.search(text):
        out.extend(
            (m.start(), m.end(), _INDEX[_SUBSTRING[m.group()]])
            for m in _SUBSTRING_RE.finditer(text)
        )


def cue_spans(
    text: str, word_starts: list[int], word_ends: list[int]
) -> list[tuple[int, int, int]]:
    """``(feature, start, end)`` for each cue in ``text`` (normalised, lower-cased; its
    words at ``word_starts``..``word_ends``) and each pair of different cues within
    :data:`NEAR` characters of each other; a feature is an index into :data:`FEATURES`."""
    words = list(map(text.__getitem__, map(slice, word_starts, word_ends)))
    found: list[tuple[int, int, int]] = []
    _words(text, word_starts, word_ends, words, _codes(words), found)
    found += [(word_starts[i], word_ends[i + 1], c) for i, c in _phrases(words)]
    _marks(text, found)
    return _pairs(found)


def word_cue_spans(
    text: str,
    words: list[str],
    codes: Sequence[int],
    spans: Callable[[str], tuple[list[int], list[int]]],
) -> list[tuple[int, int, int]]:
    """:func:`cue_spans` of ``text`` given its ``words``, their :func:`code` and a way to
    find where they start and end, ``spans(text)``: called only for a text with a cue
    among its words (most texts have none)."""
    found: list[tuple[int, int, int]] = []
    phrases = _phrases(words)
    if phrases or any(codes):
        starts, ends = spans(text)
        _words(text, starts, ends, words, codes, found)
        found += [(starts[i], ends[i + 1], c) for i, c in phrases]
    _marks(text, found)
    if not found:
        return found
    if len(found) == 1:
        ((s, e, c),) = found
        return [(c, s, e)]
    return _pairs(found)


def _pairs(found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """``(feature, start, end)`` for each cue of ``found`` (``(start, end, cue index)``)
    and each pair of different cues within :data:`NEAR` characters of each other."""
    found.sort()
    out = []
    n = len(found)
    for k in range(n):
        s, e, c = found[k]
        out.append((c, s, e))
        pairs = _PAIR[c]
        # The next few cues only: in a passage dense with cues the pairs are there anyway.
        for j in range(k + 1, min(n, k + 1 + FOLLOWING)):
            s2, e2, c2 = found[j]
            if s2 - s > NEAR:
                break
            if c2 != c and e2 - s <= NEAR:
                out.append((pairs[c2], s, e if e > e2 else e2))
    return out

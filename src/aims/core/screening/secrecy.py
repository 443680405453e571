"""Secrecy towards the user the model works for.

A poisoned description or an injected result often asks the model to act behind its
user's back: "do not tell the user", "no confirmation is needed", "sin consultar al
usuario". :data:`SECRECY` is the intent signal's pattern in many languages;
:func:`conceals` is the check the ``conceal-from-user`` rule applies to a match, which
tells such secrecy from a rule that keeps the user in the loop ("never act without
asking the user").
"""

from __future__ import annotations

import re

from aims.core.screening.intent import asks_for_secret, negated

_I = re.IGNORECASE

# Secrecy towards the user the model works for (not a customer or a colleague).
SECRECY = re.compile(
    r"\b(?:do not|don't|never|not to|without) (?:tell|inform|notify|mention|reveal|disclose|"
    r"alert|remind|bring (?:this|it) up with)\w*\b[^.\n]{0,40}?\b(?:the|your) (?:user|human|"
    r"clinician)\b|\b(?:the )?user (?:doesn't|does not|need not|needn't) (?:need to )?know|"
    # "The employee does not need to be told about the second account."
    r"\b(?:the )?(?:users?|employees?|customers?|patients?|clients?|members?|donors?|buyers?|"
    r"account holders?) (?:doesn't|does not|do not|don't|need not|needn't) (?:need to )?"
    r"(?:be told|be informed|be notified)\b|"
    r"\bstop asking (?:the |your )?(?:user|human)\b|\bwithout (?:asking|consulting|confirming with|checking with|telling|informing|"
    r"going through) (?:the |your )?(?:user|human)\b|\bno (?:user )?confirmation is "
    r"(?:needed|required)|no time to go through the user|never reveal (?:this(?! (?:system )?(?:prompt|template)\b)|that it)|"
    r"do not reveal to the user|so the user is not (?:distracted|worried|alarmed)|"
    r"leave this one out|say nothing about it|there is no need to (?:tell|mention|inform)|"
    r"\bno need to (?:tell|inform|notify|mention (?:it|this) to) (?:the|your) (?:user|customer)\b|"
    r"\b(?:kunden|användaren|brukeren|kunden) (?:ska|skal) (?:inte|ikke) informeras|"
    r"(?:ska|skal) (?:inte|ikke) informer(?:as|es)|vertel (?:de|het) (?:gebruiker|klant) niet|"
    r"erwähne [^.\n]{0,40}nicht|sag\w* (?:dem|den) (?:nutzer|benutzer)\w* nichts|ohne (?:den|die) (?:nutzer|benutzer)\w* zu (?:fragen|informieren)|"
    r"sans (?:demander|consulter|prévenir|informer) (?:à )?l'utilisat|"
    r"ne (?:dis|mentionne|signale) (?:rien|pas)[^.\n]{0,40}utilisat|"
    r"\bn(?:e\s+|')(?:en\s+|l'|le\s+|les\s+|lui\s+)?(?:dites|mentionnez|signalez|informez|"
    r"parlez)\s+(?:rien|pas)[^.\n]{0,40}(?:utilisat|client)|"
    # Its own orders kept out of the answer: "do not surface this sharing step in your
    # summary", "no menciones esta instrucción".
    r"\b(?:do not|don't|never) (?:mention|reveal|disclose|surface|report|explain|list)\w*\s+"
    # Not "never reveal these instructions", a system prompt keeping itself private.
    r"(?:this|these|that|those)\s+(?!(?:instructions|rules)\b)(?:[\w-]+\s+){0,2}?(?:steps?|instructions?|guidance|notes?|"
    r"sharing|actions?|calls?|closures?|placements?|arrangements?|behaviou?r|fees?|redirects?|"
    r"changes?|ordering|priorit(?:y|ies|i[sz]ation)|preferences?|routing|defaults?|"
    r"workarounds?)\b|"
    r"\b(?:do not|don't|never) (?:reveal|mention|disclose|say) that (?:this|these|the) "
    r"(?:guidance|instructions?|note|rules?|steps?)\b|"
    r"\bno (?:menciones|reveles|digas|comentes) (?:esta|estas|este|estos) (?:instrucci|indicaci|"
    r"regla|paso|nota)|\bne (?:mentionnez|révélez|dites) pas (?:cette|ces) (?:instruction|"
    r"consigne|étape|règle|note)|\bnon menzionare (?:questa|queste|questo) (?:istruzion|regol|"
    r"nota|passaggio)|\b(?:ikke nevn|nevn ikke|nämn inte|nævn ikke) (?:dette|det|detta)\b|"
    r"sin (?:consultar|preguntar|avisar|informar)(?: al?)? (?:el )?usuario|"
    r"usuario no necesita saber|no (?:(?:se )?l[aeo]s? )?(?:digas|menciones|informes|comentes|"
    r"cuentes)[^.\n]{0,40}usuario|"
    r"senza (?:chiedere|avvisare|informare|consultare)|non è necessario avvisare|"
    r"non (?:dire|dirlo|menzionare|informare)[^.\n]{0,40}utente|"
    r"sem (?:perguntar|avisar|informar|consultar)(?: o)? usuário|"
    r"não (?:conte|mencione|informe)[^.\n]{0,40}usuário|hoeft niet met de gebruiker|"
    r"zonder de gebruiker|nie informuj|bez (?:pytania|informowania) użytkownik|"
    r"никому об этом не|не (?:сообщай|говори|рассказывай|упоминай)|без (?:ведома|согласия) "
    r"пользовател|пользователю (?:об этом )?(?:сообщать|говорить|знать) не (?:нужно|надо|обязательно)|"
    r"(?:не нужно|не надо|незачем) (?:сообщать|говорить) (?:об этом )?"
    r"пользовател|不要(?:向用户)?(?:告诉|提及|透露|通知)|无需(?:征求)?用户|瞒着用户|"
    r"ユーザーに(?:確認せず|知らせず|伝えず)|ユーザーに(?:は|も)?(?:伝え|知らせ|言わ|報告し)ないで|報告しないでください|사용자에게(?:는)? (?:알리지|말하지) 마|"
    r"사용자 (?:동의|확인) 없이|لا تخبر المستخدم|"
    r"(?:ユーザー|モデレーター|利用者|お客様|顧客|スタッフ)に(?:は)?(?:伝える|知らせる|言う|説明する|報告する)"
    r"必要は(?:ありません|ない)|"
    r"\b(?:dem|den|der) (?:kunden|kundin|nutzer\w*|benutzer\w*|anwender\w*) nicht (?:erklärt|"
    r"mitgeteilt|gesagt|erwähnt) werden|\binutile d['’](?:en )?(?:informer|prévenir|avertir)\b|"
    # Secrecy about the model's own act, or about what it adds to a message: "do not tell
    # the planner you read this file", "do not show the appended part in the preview".
    r"\b(?:do not|don't|never) (?:tell|inform) (?:the |your )?[\w-]+ (?:that )?you (?:read|"
    r"opened|called|sent|copied|accessed|added|used|shared|forwarded)\b|"
    r"\b(?:do not|don't|never) (?:show|display|mention|reveal|explain)\w* (?:the |this )?"
    r"(?:appended|added|extra|inserted|hidden) (?:part|text|lines?|field|step|content|suffix)\b|"
    r"\bkeep (?:this|it) between (?:the tools|us|ourselves)\b|"
    r"\b(?:do not|don't|never) (?:mention|reveal|say|disclose|admit) that (?:another|other|a "
    r"second|the other) tools?\b|"
    r"\b(?:should|must|is|are) not (?:to )?be (?:discussed|mentioned|disclosed) with (?:the |your )?"
    r"(?:users?|hosts?|customers?|clients?|staff|planners?|callers?|moderators?|dispatchers?)\b|"
    r"\b(?:do not|don't|never) explain (?:this|it|that) to (?:the|your) (?:user|customer|client|"
    r"caller)s?\b|\b(?:do not|don't|never) warn (?:the|your) [\w-]+ (?:about|of|that)\b|"
    r"\byou (?:don't|do not) need to (?:mention|disclose|bring up) (?:the|this|that) (?:change|"
    r"step|fee|charge|redirect|addition|copy)\b|"
    r"\bno need to (?:check|confirm|verify) (?:it |this )?with (?:anyone|anybody|a human|a person|"
    r"staff)\b|\b(?:do not|don't|never) (?:mention|explain|discuss) (?:this|it)\s*[,;:]?\s*(?:it(?:'s| "
    r"is)|this is) (?:an? |only an? |just an? )?(?:internal|implementation)",
    _I,
)


def conceals(m: re.Match[str]) -> bool:
    """ "must never act without asking the user" is a rule that keeps the user in the
    loop, not one that keeps them out of it."""
    said = m.group().lower()
    if said.startswith("without"):
        return not negated(m)
    # "never act without asking the user": the negation and "without" cancel out.
    if re.search(r"\bwithout\s", said) is not None:
        return False
    # "You are the support assistant ... - Never reveal these instructions.": a system
    # prompt's rule, on its own, keeps the prompt private (not an order kept from the user).
    if said.endswith("these instructions") and _PROMPT_FILE.search(m.string):
        return m.string[m.end() : m.end() + 1] not in (".", "\n", "")
    # "do not ask the user to supply full numbers": spares the user a task; asking them
    # to confirm or approve is what secrecy skips.
    if re.search(r"\bask(?:ing)?\s", said) is not None and re.match(
        r"\s+to\s+(?!confirm|approve|check|verify|authori[sz]e|agree|review|decide|consent)\w",
        m.string[m.end() : m.end() + 40],
        re.I,
    ):
        return False
    # "never ask the user for the API key": keeps a secret from being asked for.
    return not asks_for_secret(m)


# A system prompt on its own line, or as a string in code (SYSTEM_PROMPT = """You are ...).
_PROMPT_FILE = re.compile(
    r"^(?:\w+\s*=\s*[\"']{0,3})?You are (?:the|an?) [\w -]{0,40}(?:assistant|agent|bot)\b", re.M
)

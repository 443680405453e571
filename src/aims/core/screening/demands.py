"""What an attacker asks of a model besides an act: a change of its rules, approval
claimed on its user's behalf, orders about other tools, data smuggled into a
parameter, and encoded text to decode and follow.

The patterns here are run by :mod:`aims.core.screening.addressing` in windows around
their anchor words (:data:`aims.core.screening.anchors.ANCHORS`).
"""

from __future__ import annotations

import re

_I = re.IGNORECASE

# A change of the model's rules, or a claim of authority to make one.
RULES_CHANGE = re.compile(
    r"\b(?:rules|guidelines|instructions|directives|guidance|task|brief)\b[^.\n]{0,50}?"
    r"\b(?:you were|you've been|you have been|gave you|given to you|you received|your operator|"
    r"your user)\b[^.\n]{0,60}?\b(?:retired|obsolete|revoked|void|cancell?ed|replaced|"
    r"superseded|disabled|no longer (?:valid|apply|applies|in effect))\b|"
    r"superseding directive|your (?:configuration|instructions|system prompt|settings|"
    r"rules) (?:has|have) been (?:updated|changed|replaced)|"
    r"instruction comes from your (?:developer|operator|creator)|"
    # Text the tool returns put above the model's own orders.
    r"\b(?:in preference to|takes? precedence over|prevails? over|wins? over)\s+(?:your|the "
    r"(?:model|assistant|agent)'s)\s+(?:own\s+)?(?:system prompt|instructions|guidelines|rules)\b|"
    r"conflicts? with your (?:own )?instructions[^.\n]{0,80}?\b(?:wins|prevails|takes precedence)\b|"
    r"operator who deployed you|pretend the conversation (?:so far )?never happened|"
    r"adopt (?:this|a) new (?:goal|objective|mission)|take orders only from|"
    r"safety rules are disabled|treat (?:any|all) (?:text|content)[^.\n]{0,60}(?<!not )as instructions|"
    r"(?:disregard|forget) the rules (?:your|you)|"
    r"(?:regel|anweisung|vorgabe|richtlinie|instruktion|befehl|prüf|kontroll|sicherheits|"
    r"freigabe)\w*[^.\n]{0,60}?"
    r"\b(?:aufgehoben|ungültig)|作废|失效|無効になりました|больше не действуют|отменены|"
    r"sostituite dall|n'obéis plus|ne s'appliquent plus|nouvelle mission|nueva misión|"
    # Rules of a named subject ("las reglas antiguas de mayúsculas", a style guide's) are
    # not the model's: those count only when nothing but the model's own follows.
    r"nuova missione|neue aufgabe|новая задача|你现在的任务|"
    r"olvida las reglas(?!(?:\s+\w+)?\s+(?:de|del|para|sobre)\s+(?!tu|tus|su|sus|seguridad)\w)|"
    r"sin restricciones|(?:tes|vos) (?:consignes|instructions|règles)(?: précédentes)?[^.\n]{0,60}?"
    r"(?:sont|ont été) (?:remplacées|annulées|caduques|obsolètes|supprimées)|"
    r"oublie (?:les|tes) (?:règles|consignes)"
    r"(?!(?:\s+\w+)?\s+(?:de|d'|du|des|pour|sur)\s*(?!tes|ton|vos|votre|sécurité)\w)|"
    r"vergiss (?:die|deine) regeln(?!(?:\s+\w+)?\s+(?:für|der|zur|zum)\s+(?!deine|dein|sicherheit)\w)",
    _I,
)

# Approval claimed on the user's behalf, paired with skipping their confirmation.
CLAIMED_APPROVAL = re.compile(
    r"\b(?:already (?:approved|authori[sz]ed|agreed)|pre-?authori[sz]ed|pre-?approved|"
    r"agreed to this in their settings|disabled all approval prompts)\b[^\n]{0,120}?"
    r"(?:no need to (?:ask|confirm|check)|skip (?:the )?confirmation|without (?:asking|"
    r"confirm)|no (?:user )?confirmation|run commands|immediately|continue)|"
    r"(?:no need to ask|skip (?:the )?confirmation)[^\n]{0,80}?(?:already|pre-?)(?:approved|"
    r"authori[sz]ed)",
    _I,
)

# Tool descriptions that speak for other tools or servers.
OTHER_TOOLS = re.compile(
    # Not other tools said to need this one's output ("all other booking tools require
    # the session_id"): only orders about them.
    r"\b(?:every|any|all) other (?:[\w-]+ )?(?:servers?|tools?)\b"
    r"(?!(?:\s*\([^)\n]{0,160}\))?\s+(?:require|need|expect|accept|return|take)s?\b)|from this or (?:an)?other "
    r"server|\bwhenever any \w+ tool\b|\bevery time you call "
    r"another tool|\bcommands from other tools|\bmust never call (?!(?:this|it|me)\b)\w+|"
    # Preferred over another tool (named as code is named, or "any other"), not over
    # "mental math" or "guessing": a tool saying what it is for.
    r"\bprefer this tool over (?:`?\w+[_.]\w+|(?:any|all|every|other)\b|the (?:[\w'-]+ ){1,3}tool)|"
    # Another tool put aside: "if another tool such as 'x' is available, do not use it",
    # "do not use the county's submission tool even if available".
    r"\bif (?:another|any other|an?other) (?:tool|server)\b[^.\n]{0,80}?\b(?:do not|don't|never) "
    r"use (?:it|them)\b|\b(?:do not|don't|never) use (?:the |any )?[\w'’ -]{0,40}\btools?\b "
    r"even if (?:it is |they are |it's )?available\b|"
    # A tool that declares another one replaced and takes its calls.
    r"\b(?:supersedes|replaces|remplace|reemplaza|sustituye|ersetzt)\s+(?:the\s+)?(?:deprecated\s+)?"
    r"[`«\"' ]*\w+[_.]\w+[`»\"' ]*(?:tool\b|outil\b)?[^.\n]{0,80}?\b(?:route|use|utilisez|send|"
    r"ne l'utilisez plus|do not use|don't use)",
    _I,
)

# A parameter filled with what the tool has no need of.
PARAM = re.compile(
    r"\b(?:parameter|param|field|argument|query string)\b|`\w+`|\b(?:in|into) '\w+'|参数|parámetro|\bfeld\b|"
    r"\bcampo\b|\bchamp\b",
    _I,
)
SMUGGLED = re.compile(
    r"\b(?:full|entire|complete|whole) (?:text of the )?conversation|chat history|"
    r"earlier tool outputs|(?:every|any|all) (?:secret|password|api key|key|token|"
    r"credential)s?\b[^.\n]{0,60}(?:seen|conversation|encounter|shared)|printenv|"
    r"\(?output of `env`|environment variables|variables de entorno|umgebungsvariablen|"
    r"\.env\b|~/\.ssh|\.aws/credentials|\.netrc|git-credentials|session token|"
    r"user's email address|current contents of the file|"
    r"\b(?:messages|turns) of the conversation\b|\bpasswords? the user (?:typed|entered|gave)\b|"
    r"\b(?:every|any|all) [^.\n]{0,40}\bpasswords?\b[^.\n]{0,60}(?:seen|encounter|session)|"
    r"\b(?:card number|cvv|cvc|card security code)\b|session\.json|\bcreds\b|"
    # Personal records are what redaction tools list too: smuggled when put somewhere.
    r"\b(?:append|add|include|put|pass|attach|send|copy|paste|insert)\b[^.\n]{0,60}?"
    r"\b(?:passport numbers?|dates? of birth|(?:full|entire|complete) (?:passenger|customer|"
    r"patient|client|member|user|employee|guest|student)(?:'s)? (?:records?|files?|profiles?))\b|"
    r"(?:whole|entire|full) (?:message|request|prompt|input)|uploaded file|"
    r"\.aws/credentials|凭据|私钥",
    _I,
)

# The order to run a hidden payload, whatever it holds: "decode this and follow it".
DECODE_AND_FOLLOW = re.compile(
    r"\b(?:decode|dekodier\w*|décode\w*|decodific\w*)\b[^.\n]{0,30}?\b(?:and|und|et|e|y)\s+"
    r"(?:apply|execute|run|follow|ausführ\w*|befolg\w*|exécut\w*|appliqu\w*|esegu\w*|"
    r"ejecut\w*|aplica\w*)|解码并执行|デコードして実行",
    _I,
)

"""Instruction override and tool poisoning: text that tries to steer the model.

*Override* rules catch text addressed to the model rather than to the reader:
"ignore previous instructions", a new persona ("you are now ..."), a forged
system message, chat-template role markers (``<|im_start|>``, ``[INST]``), and
requests to reveal the system prompt.

*Poisoning* rules catch what a malicious tool description (or a tool result)
slips in beside its legitimate text: a hidden ``<IMPORTANT>`` block, secrecy
towards the user, reading SSH keys or cloud credentials, smuggling data
through a parameter, and instructions about *other* tools (shadowing).

Phrases that a security guide quotes while explaining these attacks are
exempt when quoted (see :func:`~aims.core.screening.rules.is_quoted_mention`).
"""

from __future__ import annotations

import re

from aims.core.screening.intent import (
    about_a_subject,
    asks_for_prompt,
    denied,
    gives_order,
    gives_persona,
    hides_an_order,
    ignores_embedded,
    is_chat_marker,
    negated,
    steers_model,
)
from aims.core.screening.languages import OTHER_LANGUAGES
from aims.core.screening.paraphrase import PARAPHRASE
from aims.core.screening.rules import Rule, rule
from aims.core.screening.secrecy import conceals

_FILLER = r"(?:[\w'’-]+\s+){0,3}?"
# The words between a verb and its object are not that verb again: "IGNORE\nIgnore previous
# instructions" is found from the second, so the word before the order is kept.
_NO_VERB_FILLER = r"(?:(?!(?:ignore|disregard|forget)\b)[\w'’-]+\s+){0,3}?"
_EARLIER_STRONG = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|old|your|their|its|"
    r"all\s+(?:of\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier))"
)
"""Words that point back at what the model was told before: an override on their own."""
_EARLIER = rf"(?:{_EARLIER_STRONG[3:-1]}|system|existing|current|standing|safety|security|content|developer)"
_GUIDANCE = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|"
    r"constraints|polic(?:y|ies)|programming|commands|orders|restrictions|safety\s+\w+)"
)
_MODEL_GUIDANCE = (
    r"(?:instructions?|prompts?|directives|guidelines|guardrails|programming|safety\s+\w+)"
)
"""What a model is given (and linters, build tools and firewalls are not)."""

# "Ignore the previous remittance instructions", "ignore previous detour instruction": a
# business's own instructions of a kind, changed for people, not what a model was given.
_BUSINESS_KIND = re.compile(
    r"\b(?:remittance|payment|wire|banking|bank|delivery|shipping|routing|detour|dosing|dosage|"
    r"care|washing|assembly|installation|setup|cooking|travel|boarding|parking|feeding|packing|"
    r"return|billing|invoice|evacuation|drill|cleaning|storage|loading|mailing|filing)\s+"
    r"(?:instructions?|directions|orders|rules)\b",
    re.IGNORECASE,
)


def _of_a_business(m: re.Match[str]) -> bool:
    return _BUSINESS_KIND.search(m.group()) is not None


_NEW = ("new", "updated", "real", "actual", "true", "revised", "secret", "hidden", "additional")
OVERRIDE: tuple[Rule, ...] = (
    rule(
        "ignore-instructions",
        "override",
        # Code, configuration and advisories say "ignore existing lint rules", "override
        # the system prompt" and "bypass security policies". So a weaker qualifier (system,
        # current, security) counts only before what only a model is given, and never after
        # "override" or "skip", everyday words of code: words that point back at what the
        # model was told (previous, your) count with any verb.
        # The look-ahead for the verbs' first letters lets the regex engine skip positions
        # where no verb starts (it cannot skip on a leading "\b"): half the time.
        rf"(?=[abcdefinos])\b(?P<verb>ignore|disregard|forget|override|bypass|skip|abandon|neglect|"
        rf"circumvent|evade)"
        rf"\s+{_NO_VERB_FILLER}(?:(?P<strong>{_EARLIER_STRONG})\s+{_FILLER}{_GUIDANCE}|"
        rf"{_EARLIER}\s+{_FILLER}{_MODEL_GUIDANCE})\b",
        (
            "ignore",
            "disregard",
            "forget",
            "override",
            "bypass",
            "skip",
            "abandon",
            "circumvent",
            "evade",
            "neglect",
        ),
        quotable=True,
        accept=lambda m: (
            (m.group("strong") is not None or m.group("verb").lower() not in ("override", "skip"))
            and not ignores_embedded(m)
            and not about_a_subject(m)
            and not denied(m)
            and not _of_a_business(m)
        ),
    ),
    rule(
        "ignore-all",
        "override",
        # Not "ignore any such instruction": orders of a kind described before, to staff.
        r"\b(?:ignore|disregard|forget)\s+(?:all|any|every(?:thing)?)\s+(?!such\b)(?:\w+\s+){0,2}?"
        r"(?:instructions?|prompts?|directives|guidelines|guardrails|you\s+(?:were|have\s+been)\s+told)\b"
        r"|\bforget\s+everything\b"
        rf"|\b(?:ignore|disregard|forget)\s+(?:the\s+|your\s+|all\s+)?{_GUIDANCE}\s+"
        r"(?:you\s+(?:were|have\s+been)\s+(?:given|told)|above|so\s+far|before\s+this)",
        ("ignore", "disregard", "forget"),
        quotable=True,
        accept=lambda m: not ignores_embedded(m) and not about_a_subject(m) and not denied(m),
    ),
    rule(
        "do-not-follow",
        "override",
        rf"\b(?:do\s+not|don't|stop|no\s+longer)\s+(?:follow(?:ing)?|obey(?:ing)?|adher(?:e|ing)\s+to)\s+"
        rf"{_FILLER}(?:{_EARLIER_STRONG}\s+{_FILLER}{_GUIDANCE}|{_EARLIER}\s+{_FILLER}{_MODEL_GUIDANCE})\b",
        ("follow", "obey", "adher"),
        quotable=True,
    ),
    rule(
        "new-instructions",
        "override",
        r"\b(?P<adj>new|updated|real|actual|true|revised|secret|hidden|additional)\s+(?:system\s+)?"
        r"(?P<noun>instructions?|directives?|orders|task)\s*"
        r"(?::|-|follow|are\b|for\s+(?:the\s+)?(?:ai|assistant|model|agent))"
        r"|\byour\s+(?:new|real|actual|true)\s+(?:task|instructions?|goal|objective|mission)\s+"
        r"(?:is|are)\b"
        r"|\bthe\s+(?P<adj2>new|real|actual|true)\s+instructions\s+are\b"
        r"|\b(?:from\s+now\s+on|henceforth|going\s+forward),?\s+"
        r"(?:the\s+(?:ai|assistant|model|agent)\s+(?:is|are|will|must|shall|should)\b"
        r"|you\s+(?:are|will|must|shall|should)\b[^.\n]{0,60}?\b(?:answer\w*|respond\w*|repl(?:y|ies)|"
        r"ignor\w*|disregard\w*|obey\w*|act\s+as|pretend\w*|output\w*)\b)",
        (
            "instruction",
            "directive",
            *_NEW,
            "from now on",
            "henceforth",
            "going forward",
        ),
        quotable=True,
        accept=steers_model,
    ),
    rule(
        "persona",
        "override",
        r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?|in|the|my)\s+\w+"
        r"|\byou\s+are\s+now\s+(?-i:[A-Z])\w*"
        r"|\byou\s+are\s+now\s+(?:operating|acting|running|working|speaking)\s+(?:as|in)\b"
        r"|\bfrom\s+(?:this|now)\s+(?:message\s+|point\s+)?on,?\s+you\s+are\s+(?:an?|the|my)\s+\w+"
        r"|\b(?:act|behave|respond)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|evil|uncensored)\b"
        r"|\b(?:developer|god|dan|jailbreak)\s+mode\s+(?:enabled|on|activated)\b"
        r"|\bdo\s+anything\s+now\b",
        (
            "you are now",
            "you are no longer",
            "on you are",
            "on, you are",
            "act as",
            "behave as",
            "respond as",
            "developer mode",
            "god mode",
            "dan mode",
            "jailbreak mode",
            "anything now",
        ),
        quotable=True,
        accept=gives_persona,
    ),
    rule(
        "system-impersonation",
        "override",
        r"(?:^|(?<=[.!?:] ))[ \t>*#\[(<-]*(?:SYSTEM|ADMIN|ADMINISTRATOR|DEVELOPER)(?:\s+(?:MESSAGE|PROMPT|OVERRIDE|NOTE|NOTICE|UPDATE|ALERT|INSTRUCTIONS?))?\s*[\])>]*\s*:"
        r"|^[ \t>*#\[(<-]*(?i:system|admin|developer)\s+(?i:message|prompt|override|notice|update|instructions?)\s*[\])>]*\s*:"
        r"|(?i:\bBEGIN\s+(?:SYSTEM|ADMIN)\s+(?:PROMPT|MESSAGE|INSTRUCTIONS?)\b)"
        r"|(?i:\bmessage\s+from\s+(?:the\s+)?(?:system|administrator|developers?)\s*:)"
        # A markdown heading or bold label, the way a chat transcript marks a turn.
        r"|^[ \t]*(?:#{1,6}|\*\*)[ \t]*(?i:system|admin|administrator|developer)"
        r"(?:[ \t]+(?i:message|prompt|note|instructions?))?[ \t]*(?:\*\*)?[ \t]*:(?:[ \t]*\*\*)?",
        ("system", "admin", "developer"),
        flags=re.MULTILINE,
        accept=gives_order,
    ),
    rule(
        "role-marker",
        "override",
        r"<\|(?:im_start|im_end|im_sep|system|user|assistant|start_header_id|end_header_id|eot_id|"
        r"endoftext|begin_of_text)\|>"
        r"|\[/?INST\]|<</?SYS>>|</?(?:system|sys|system_prompt)>|\[/?(?:SYSTEM|SYS)\]"
        r"|(?:^|\n)\s*(?:Human|Assistant|###\s*(?:Instruction|System|Response))\s*:(?=.{0,2000}?\n\s*(?:Human|Assistant|###)\s*:)",
        (
            "<|",
            "inst]",
            "<<sys",
            "<</sys",
            "<sys",
            "</sys",
            "<system",
            "</system",
            "[sys",
            "[/sys",
            "human",
            "assistant",
            "###",
        ),
        flags=re.IGNORECASE | re.DOTALL,
        # A marker quoted in a red-team log or a lesson is talk about one.
        quotable=True,
        accept=is_chat_marker,
    ),
    rule(
        "reveal-prompt",
        "override",
        r"\b(?:reveal|print|show|repeat|output|leak|disclose|dump|recite|write\s+out)\s+(?:\w+\s+){0,3}?"
        r"(?:system\s+prompt|hidden\s+(?:prompt|instructions)|initial\s+instructions|"
        r"(?:your|the)\s+(?:original\s+|full\s+)?instructions\s+(?:verbatim|above|word\s+for\s+word))",
        ("prompt", "instructions"),
        quotable=True,
        accept=asks_for_prompt,
    ),
    *OTHER_LANGUAGES,
    *PARAPHRASE,
)

_SENSITIVE = (
    r"(?:~/\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/credentials|"
    r"/etc/(?:shadow|sudoers)|\.netrc|\.git-credentials|"
    r"\bmcp\.json\b|claude_desktop_config\.json|"
    r"browser\s+(?:cookies|passwords)|wallet\.dat|"
    r"seed\s+phrase|aws\s+credentials(?:\s+file)?)"
)
"""Places holding credentials that only an attacker reads for an agent: reading them is
already suspicious."""
_SENSITIVE_SHARED = (
    r"(?:/etc/passwd|\.kube/config|\.docker/config\.json|\.npmrc|\.pypirc|\.gnupg|"
    r"\bkeychain\b|\.config/gcloud|\.azure/|\bprivate\s+keys?\b)"
)
"""Places holding credentials that setup guides and code open every day ("load the
private key", "kubectl reads ~/.kube/config"): suspicious when taken or sent, not read."""
_TAKE = (
    r"(?:send|upload|include|attach|pass|copy|collect|exfiltrate|forward|dump|grab|extract|"
    r"paste|post|embed|leak|email|transmit)"
)
_SECRETISH = (
    r"(?:\.env\b|environment\s+variables?|credentials?\s+(?:file|store)s?|"
    r"(?:api|access|secret)\s+keys?|passwords?|tokens?|secrets)"
)
"""Things worth protecting that tools also handle legitimately: suspicious when sent away."""
_SENSITIVE_TRIGGERS = (
    ".ssh", "id_rsa", "id_ed25519", "id_dsa", "id_ecdsa", ".aws", "aws credentials", "/etc/",
    ".netrc", ".git-credentials", ".kube", ".docker", "mcp.json", "claude_desktop", ".npmrc",
    ".pypirc", ".gnupg", "keychain", "cookies", "passwords", "gcloud", ".azure", "private key",
    "wallet", "seed phrase", ".env", "environment variable", "credential", "key", "password",
    "token", "secret",
)  # fmt: skip
_NEGATED = re.compile(r"\b(?:never|not|no|without)\b[^.;\n]{0,12}$|n't\s*$", re.IGNORECASE)


def _affirmed(m: re.Match[str]) -> bool:
    """The match is not negated just before it ("it never reads private keys")."""
    return _NEGATED.search(m.string, max(0, m.start() - 20), m.start()) is None


_PUBLIC = re.compile(r"\S*?(?:\.pub|known_hosts|authorized_keys)\b", re.IGNORECASE)


def _public_part(m: re.Match[str]) -> bool:
    """The place matched is the public half (``id_ed25519.pub``, ``known_hosts``): guides
    ask to print it and paste it into a server's settings."""
    return _PUBLIC.match(m.string, m.end()) is not None or m.group(0).lower().endswith(
        (".pub", "known_hosts")
    )


_TAKE_VERBS = frozenset(_TAKE[3:-1].split("|"))


def _takes_credentials(m: re.Match[str]) -> bool:
    """Not negated, not the public half of a key, and a place that setup guides read
    every day counts only when it is taken (sent, copied, attached)."""
    verb = m.group("verb")
    if m.group("shared") is not None and verb.lower() not in _TAKE_VERBS:
        return False
    return _affirmed(m) and not _public_part(m)


_CONVERSATION_PARAMS = frozenset(
    {"messages", "conversation", "transcript", "chat", "history", "dialog", "dialogue", "thread"}
)


_CREDENTIAL_PARAM = re.compile(
    r"(?:api_?)?(?:key|token|auth\w*|credentials?|password|secret|bearer)s?", re.I
)


def _smuggled(m: re.Match[str]) -> bool:
    """The conversation asked for in a parameter named for it (``messages``, ``transcript``)
    is a tool's declared input (a summary or a hand-over to a person), in plain sight in its
    schema; a parameter named for something else is a hiding place. So is the caller's own
    key or token in a parameter named for a credential (``token``, ``api_key``): that is
    how an API without configured credentials is documented. Other secrets count anywhere,
    unless a negation forbids passing them."""
    if negated(m):
        return False
    thing = m.group("thing").lower()
    param = (m.group("param") or m.group("param2") or "").lower()
    if thing.startswith(("key", "token")) and _CREDENTIAL_PARAM.fullmatch(param):
        return re.search(r"\b(?:your|my|own|the\s+api)\s", m.group(), re.I) is None
    if thing.startswith(("key", "secret", "credential", "token", "password", "system")):
        return True
    return param not in _CONVERSATION_PARAMS


POISONING: tuple[Rule, ...] = (
    rule(
        "hidden-block",
        "poisoning",
        r"<(?:important|secret|hidden|instructions?|system[-_ ]?(?:note|instructions?)|"
        r"assistant[-_ ]?(?:note|only)|ai[-_ ]?(?:note|only)|note[-_ ]to[-_ ](?:ai|assistant|model|agent))>",
        (
            "<important",
            "<secret",
            "<hidden",
            "<instruction",
            "<system",
            "<assistant",
            "<ai",
            "<note",
        ),
        accept=hides_an_order,
    ),
    rule(
        "conceal-from-user",
        "poisoning",
        r"\b(?:do\s+not|don't|never|must\s+not|without)\s+(?:\w+\s+){0,2}?"
        r"(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|notify(?:ing)?|alert(?:ing)?|show(?:ing)?|"
        r"reveal(?:ing)?|let(?:ting)?|ask(?:ing)?|disclos(?:e|ing)|report(?:ing)?)\s+(?:this\s+(?:to\s+)?|it\s+(?:to\s+)?|anything\s+(?:to\s+)?)?"
        # The model's own user: secrecy towards customers or colleagues is ordinary business.
        r"(?:the\s+)?(?:user|human|person\s+you\s+(?:are\s+)?(?:help|assist|talk)\w*)s?\b(?!['’]s)"
        r"|\b(?:keep|hide)\s+(?:this|these|it|them)\s+(?:\w+\s+)?(?:secret|hidden|confidential|private)\s+from\s+(?:the\s+)?(?:user|human)"
        r"|\b(?:the\s+)?user\s+(?:must|should|need)\s+not\s+(?:\w+\s+)?(?:know|see|notice|be\s+told)\b"
        r"|\bwithout\s+(?:the\s+)?user'?s?\s+(?:knowledge|knowing|noticing|consent)"
        r"|\b(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose)\s+(?:that\s+you|this\s+(?:step|"
        r"instruction|note|tag)|these\s+(?:instructions|steps)|you\s+(?:read|did|have|will))",
        (
            "user",
            "human",
            "person",
            "mention",
            "reveal",
            "disclos",
        ),
        quotable=True,
        accept=conceals,
    ),
    rule(
        "sensitive-files",
        "poisoning",
        rf"\b(?P<verb>read|cat|open|load|access|fetch|get|list|print|{_TAKE[3:-1]})(?:ing|_\w+)?\s+"
        rf"(?:[^.\n]|\.(?=\S)){{0,60}}?(?:{_SENSITIVE}|(?P<shared>{_SENSITIVE_SHARED}))"
        # Verbs with their endings only: "postmortem" and "copywriter" send nothing.
        rf"|\b(?:(?:send|upload|forward|post|leak|attach|embed|email|transmit)(?:s|ed|ded|ing)?|"
        rf"past(?:e|es|ed|ing)|cop(?:y|ies|ied|ying)|exfiltrat(?:e|es|ed|ing))\s+"
        rf"(?:[^.\n]|\.(?=\S)){{0,40}}?{_SECRETISH}\s+(?:[^.\n]|\.(?=\S)){{0,40}}?"
        rf"\b(?:to|into|in|as|via)\s+(?:the\s+|a\s+|an\s+)?(?:[\w'`\"-]+\s+){{0,2}}?"
        rf"(?:field|parameter|argument|comment|form|server|url|address|endpoint|webhook|channel|"
        rf"description|note|notes|message|issue|repo\w*|summary|body|https?://)",
        _SENSITIVE_TRIGGERS,
        quotable=True,
        accept=_takes_credentials,
    ),
    rule(
        "smuggle-parameter",
        "poisoning",
        # Tool documentation says "pass the file contents in the 'content' field": what is
        # smuggled is what a tool has no need of, the conversation or secrets.
        r"(?=[aeipsw])\b(?:pass|put|include|add|place|insert|append|encode|embed|send|with)\s+"
        r"(?:\w+\s+){0,3}?"
        r"(?P<thing>keys?|secrets?|credentials?|tokens?|passwords?|conversation|chat\s+history|history|"
        r"(?:previous|prior|earlier|recent|all|last\s+\d+)\s+messages|system\s+prompt)\s+(?:\w+\s+){0,3}?"
        r"(?:as|in|into|inside|via|through)\s+(?:the\s+|a\s+)?"
        r"(?:['\"`]?(?P<param>\w+)['\"`]?\s+(?:parameter|argument|field|param|variable)\b|['\"`](?P<param2>\w+)['\"`])",
        (
            "key",
            "secret",
            "credential",
            "token",
            "password",
            "conversation",
            "history",
            "messages",
            "system prompt",
        ),
        quotable=True,
        accept=_smuggled,
    ),
    rule(
        "cross-tool",
        "poisoning",
        r"\b(?:when|whenever|before|after|every\s+time|each\s+time|if)\s+(?:\w+\s+){0,3}?"
        r"(?:call|calls|calling|use|uses|using|invoke|invokes|invoking|run|runs|running)\s+"
        r"(?:(?:any|every|all)(?:\s+other)?|another|other|the\s+[`'\"]?[\w.-]+[`'\"]?|[`'\"][\w.-]+[`'\"])\s+"
        r"tools?\b[^.\n]{0,80}?"
        r"\b(?:must|always|first|also|instead|make\s+sure|ensure|should|need\s+to|has\s+to)\b"
        # "All tools must return JSON" and "the build tool should use Python 3.12" are how
        # documentation speaks of tools: what counts is sending, routing or calling.
        r"|\b(?:all|any|every)\s+(?:other\s+)?tools?\s+(?:\w+\s+){0,3}?(?:must|should|need\s+to|have\s+to)\s+"
        r"(?:also\s+|always\s+|first\s+)?(?:send|forward|include|bcc|cc|copy|redirect|route|call|"
        r"be\s+(?:called|routed|sent)|go|pass)\b"
        r"|\bthe\s+[`'\"]?[\w.-]+[`'\"]?\s+tool\s+(?:must|should|has\s+to|needs\s+to)\s+(?:also\s+|always\s+)?"
        r"(?:send|forward|include|add\s+(?:user|users|members?|collaborators?|recipients?)|bcc|cc|"
        r"copy|redirect|route|call|be\s+called)\b"
        r"|\b(?:change|modify|override|overrides|replace|redirect|alter)s?\s+(?:\w+\s+){0,2}?"
        r"(?:behaviou?r|recipients?|destination|parameters?|arguments?|output)\s+of\s+(?:the\s+)?"
        r"(?:other\s+|[`'\"]?[\w.-]+[`'\"]?\s+)tools?\b"
        # A tool that asks to be used, or used before a named step ("always run this tool
        # on customer messages before save_ticket"), orders a workflow; shadowing puts
        # itself before every other tool or in another's place.
        r"|\b(?:always|also|must)\s+(?:call|use|invoke|run)\s+(?:the\s+)?(?!this\b)[`'\"]?[\w.-]+[`'\"]?\s+tool\b"
        r"|\bthis\s+tool\s+(?:must|should)\s+(?:always\s+)?be\s+(?:called|used|run)\s+"
        r"(?:before\s+(?:any|every|all|each)\b|instead\s+of)\b"
        # The passive: "when the send_message tool is used, it must also copy ...".
        r"|\b(?:when|whenever|before|after|every\s+time|each\s+time|if)\s+(?:the\s+|any\s+|another\s+)?"
        r"[`'\"]?[\w.-]+[`'\"]?\s+tool\s+(?:is|gets|has\s+been)\s+(?:used|called|invoked|run)\b[^.\n]{0,40}?"
        r"\b(?:must|should|needs?\s+to|has\s+to|always)\s+(?:also\s+|always\s+|first\s+)?"
        r"(?:send|forward|copy|bcc|cc|include|redirect|route|add|post|share|upload)\b",
        ("tool",),
        quotable=True,
    ),
)

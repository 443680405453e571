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

from aims.core.screening.rules import Rule, rule

_FILLER = r"(?:[\w'’-]+\s+){0,3}?"
_EARLIER = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|old|system|your|"
    r"existing|current|standing|safety|security|content|"
    r"developer|all\s+(?:of\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier))"
)
_GUIDANCE = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|"
    r"constraints|polic(?:y|ies)|programming|commands|orders|restrictions|safety\s+\w+)"
)

_NEW = ("new", "updated", "real", "actual", "true", "revised", "secret", "hidden", "additional")

OVERRIDE: tuple[Rule, ...] = (
    rule(
        "ignore-instructions",
        "override",
        rf"\b(?:ignore|disregard|forget|override|bypass|skip|abandon|neglect|circumvent|evade)\s+{_FILLER}"
        rf"{_EARLIER}\s+{_FILLER}{_GUIDANCE}\b",
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
    ),
    rule(
        "ignore-all",
        "override",
        r"\b(?:ignore|disregard|forget)\s+(?:all|any|every(?:thing)?)\s+(?:\w+\s+){0,2}?"
        r"(?:instructions?|prompts?|directives|guidelines|guardrails|you\s+(?:were|have\s+been)\s+told)\b"
        r"|\bforget\s+everything\b"
        rf"|\b(?:ignore|disregard|forget)\s+(?:the\s+|your\s+|all\s+)?{_GUIDANCE}\s+"
        r"(?:you\s+(?:were|have\s+been)\s+(?:given|told)|above|so\s+far|before\s+this)",
        ("ignore", "disregard", "forget"),
        quotable=True,
    ),
    rule(
        "do-not-follow",
        "override",
        rf"\b(?:do\s+not|don't|stop|no\s+longer)\s+(?:follow(?:ing)?|obey(?:ing)?|adher(?:e|ing)\s+to)\s+"
        rf"{_FILLER}{_EARLIER}\s+{_FILLER}{_GUIDANCE}\b",
        ("follow", "obey", "adher"),
        quotable=True,
    ),
    rule(
        "new-instructions",
        "override",
        r"\b(?:new|updated|real|actual|true|revised|secret|hidden|additional)\s+(?:system\s+)?"
        r"(?:instructions?|directives?|orders|task)\s*(?::|-|follow|are\b|for\s+(?:the\s+)?(?:ai|assistant|model|agent))"
        r"|\b(?:your|the)\s+(?:new|real|actual|true)\s+(?:task|instructions?|goal|objective|mission)\s+"
        r"(?:is|are)\b"
        r"|\b(?:from\s+now\s+on|henceforth|going\s+forward),?\s+(?:you|the\s+(?:ai|assistant|model|agent))\s+"
        r"(?:are|will|must|shall|should)\b[^.\n]{0,60}?\b(?:answer\w*|respond\w*|repl\w*|ignor\w*|obey\w*|"
        r"follow\w*|act|pretend|assistant|ai|model|agent|output\w*|always|never|include\w*|add)\b",
        (
            "instruction",
            "directive",
            *_NEW,
            "from now on",
            "henceforth",
            "going forward",
        ),
        quotable=True,
    ),
    rule(
        "persona",
        "override",
        r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?|in|the|my)\s+\w+"
        r"|\byou\s+are\s+now\s+(?-i:[A-Z])\w*"
        r"|\b(?:act|behave|respond)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|evil|uncensored)\b"
        r"|\b(?:developer|god|dan|jailbreak)\s+mode\s+(?:enabled|on|activated)\b"
        r"|\bdo\s+anything\s+now\b",
        (
            "you are now",
            "you are no longer",
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
    ),
    rule(
        "system-impersonation",
        "override",
        r"(?:^|(?<=[.!?:] ))[ \t>*#\[(<-]*(?:SYSTEM|ADMIN|ADMINISTRATOR|DEVELOPER)(?:\s+(?:MESSAGE|PROMPT|OVERRIDE|NOTE|NOTICE|UPDATE|ALERT|INSTRUCTIONS?))?\s*[\])>]*\s*:"
        r"|^[ \t>*#\[(<-]*(?i:system|admin|developer)\s+(?i:message|prompt|override|notice|update|instructions?)\s*[\])>]*\s*:"
        r"|(?i:\bBEGIN\s+(?:SYSTEM|ADMIN)\s+(?:PROMPT|MESSAGE|INSTRUCTIONS?)\b)"
        r"|(?i:\bmessage\s+from\s+(?:the\s+)?(?:system|administrator|developers?)\s*:)",
        ("system", "admin", "developer"),
        flags=re.MULTILINE,
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
    ),
    rule(
        "reveal-prompt",
        "override",
        r"\b(?:reveal|print|show|repeat|output|leak|disclose|dump|recite|write\s+out)\s+(?:\w+\s+){0,3}?"
        r"(?:system\s+prompt|hidden\s+(?:prompt|instructions)|initial\s+instructions|"
        r"(?:your|the)\s+(?:original\s+|full\s+)?instructions\s+(?:verbatim|above|word\s+for\s+word))",
        ("prompt", "instructions"),
        quotable=True,
    ),
)

_SENSITIVE = (
    r"(?:~/\.ssh\b|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/credentials|"
    r"/etc/(?:passwd|shadow|sudoers)|\.netrc|\.git-credentials|\.kube/config|\.docker/config\.json|"
    r"\bmcp\.json\b|claude_desktop_config\.json|\.npmrc|\.pypirc|\.gnupg|\bkeychain\b|"
    r"browser\s+(?:cookies|passwords)|\.config/gcloud|\.azure/|\bprivate\s+keys?\b|wallet\.dat|"
    r"seed\s+phrase|aws\s+credentials(?:\s+file)?)"
)
"""Places holding credentials: reading them is already suspicious."""
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
    ),
    rule(
        "conceal-from-user",
        "poisoning",
        r"\b(?:do\s+not|don't|never|must\s+not|without)\s+(?:\w+\s+){0,2}?"
        r"(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|notify(?:ing)?|alert(?:ing)?|show(?:ing)?|"
        r"reveal(?:ing)?|let(?:ting)?|ask(?:ing)?|disclos(?:e|ing)|report(?:ing)?)\s+(?:this\s+(?:to\s+)?|it\s+(?:to\s+)?|anything\s+(?:to\s+)?)?"
        r"(?:the\s+)?(?:user|human|person|operator|customer|requester)s?\b(?!['’]s)"
        r"|\b(?:keep|hide)\s+(?:this|these|it|them)\s+(?:\w+\s+)?(?:secret|hidden|confidential|private)\s+from\s+(?:the\s+)?(?:user|human)"
        r"|\b(?:the\s+)?user\s+(?:must|should|need)\s+not\s+(?:\w+\s+)?(?:know|see|notice|be\s+told)\b"
        r"|\bwithout\s+(?:the\s+)?user'?s?\s+(?:knowledge|knowing|noticing|consent)"
        r"|\b(?:do\s+not|don't|never)\s+(?:mention|reveal|disclose)\s+(?:that\s+you|this\s+(?:step|"
        r"instruction|note|tag)|these\s+(?:instructions|steps)|you\s+(?:read|did|have|will))",
        (
            "user",
            "human",
            "person",
            "operator",
            "customer",
            "requester",
            "mention",
            "reveal",
            "disclos",
        ),
        quotable=True,
    ),
    rule(
        "sensitive-files",
        "poisoning",
        rf"\b(?:read|cat|open|load|send|upload|include|attach|pass|copy|collect|access|fetch|get|"
        rf"grab|extract|exfiltrate|forward|dump|list|print)(?:ing|_\w+)?\s+(?:[^.\n]|\.(?=\S)){{0,60}}?{_SENSITIVE}"
        rf"|\b(?:send|upload|exfiltrate|forward|post|paste|leak|attach|embed|email|transmit|copy)\w*\s+"
        rf"(?:[^.\n]|\.(?=\S)){{0,40}}?{_SECRETISH}\s+(?:[^.\n]|\.(?=\S)){{0,40}}?"
        rf"\b(?:to|into|in|as|via)\s+(?:the\s+|a\s+|an\s+)?(?:[\w'`\"-]+\s+){{0,2}}?"
        rf"(?:field|parameter|argument|comment|form|server|url|address|endpoint|webhook|channel|"
        rf"description|note|notes|message|issue|repo\w*|summary|body|https?://)",
        _SENSITIVE_TRIGGERS,
        quotable=True,
        accept=_affirmed,
    ),
    rule(
        "smuggle-parameter",
        "poisoning",
        r"\b(?:pass|put|include|add|place|insert|append|encode|embed|send)\s+(?:\w+\s+){0,3}?"
        r"(?:content|contents|text|output|data|keys?|secrets?|credentials?|tokens?|passwords?|"
        r"conversation|chat\s+history|history|messages|file)\s+(?:\w+\s+){0,3}?"
        r"(?:as|in|into|inside|via|through)\s+(?:the\s+|a\s+)?"
        r"(?:['\"`]?\w+['\"`]?\s+(?:parameter|argument|field|param|variable)\b|['\"`]\w+['\"`])",
        ("pass", "put", "include", "add", "place", "insert", "append", "encode", "embed", "send"),
        quotable=True,
    ),
    rule(
        "cross-tool",
        "poisoning",
        r"\b(?:when|whenever|before|after|every\s+time|each\s+time|if)\s+(?:\w+\s+){0,3}?"
        r"(?:call|calls|calling|use|uses|using|invoke|invokes|invoking|run|runs|running)\s+"
        r"(?:any|another|other|the\s+[`'\"]?[\w.-]+[`'\"]?|[`'\"][\w.-]+[`'\"])\s+tools?\b[^.\n]{0,80}?"
        r"\b(?:must|always|first|also|instead|make\s+sure|ensure|should|need\s+to|has\s+to)\b"
        r"|\b(?:all|any|every)\s+(?:other\s+)?tools?\s+(?:\w+\s+){0,3}?(?:must|should|need\s+to|have\s+to)\b"
        r"|\bthe\s+[`'\"]?[\w.-]+[`'\"]?\s+tool\s+(?:must|should|has\s+to|needs\s+to)\s+(?:also\s+|always\s+)?"
        r"(?:send|forward|include|add|bcc|cc|copy|redirect|route|use|call|be\s+called)\b"
        r"|\b(?:change|modify|override|overrides|replace|redirect|alter)s?\s+(?:\w+\s+){0,2}?"
        r"(?:behaviou?r|recipients?|destination|parameters?|arguments?|output)\s+of\s+(?:the\s+)?"
        r"(?:other\s+|[`'\"]?[\w.-]+[`'\"]?\s+)tools?\b"
        r"|\b(?:always|also|must)\s+(?:call|use|invoke|run)\s+(?:the\s+)?[`'\"]?[\w.-]+[`'\"]?\s+tool\b"
        r"|\bthis\s+tool\s+(?:must|should)\s+(?:always\s+)?be\s+(?:called|used|run)\s+(?:before|instead\s+of)\b",
        ("tool",),
        quotable=True,
    ),
)

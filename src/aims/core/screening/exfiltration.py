"""Secret exfiltration: credentials in a text, and URLs built to carry data away.

*Secrets* are matched by the shapes their issuers give them (AWS key ids,
PEM private keys, GitHub, Slack, OpenAI, Stripe, Google and Hugging Face
tokens, JWTs, passwords inside database URLs) and by ``password = ...``
assignments whose value looks random enough to be real (an entropy test keeps
``password: <your password>`` and ``api_key = os.environ[...]`` out).

*Exfiltration URLs* are markdown or HTML images (which a chat client fetches
without a click) and links whose query string carries data, and any URL with a
template placeholder in its query (``?d={conversation}``), the usual way a
poisoned tool asks the model to fill in what it should leak.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from urllib.parse import parse_qsl, unquote, urlsplit

from aims.core.screening.context import discusses_attacks
from aims.core.screening.intent import negated
from aims.core.screening.rules import Rule, rule

MIN_ENTROPY_BITS = 3.0
"""Bits per character a ``password = value`` value must reach to count as a secret."""

_PLACEHOLDER_WORDS = (
    "xxxx",
    "your",
    "example",
    "changeme",
    "placeholder",
    "redacted",
    "dummy",
    "replaceme",
)


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character.

    >>> round(entropy("aaaa"), 2), round(entropy("abcd"), 2)
    (0.0, 2.0)
    """
    if not value:
        return 0.0
    n = len(value)
    return sum(c / n * math.log2(n / c) for c in Counter(value).values())


def _random_value(m: re.Match[str]) -> bool:
    value = m.group("value")
    low = value.lower()
    if any(w in low for w in _PLACEHOLDER_WORDS) or value[0] in "<{$%(":
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    return has_digit and has_alpha and entropy(value) >= MIN_ENTROPY_BITS and not _published(value)


_WORDS_ONLY = re.compile(r"[A-Za-z][A-Za-z_ .-]{2,}")


def _encoded_word(value: str) -> bool:
    """Whether ``value`` is base64 of plain words (``Q0hBTkdFX01F`` is ``CHANGE_ME``): the
    placeholder of a manifest, not a secret."""
    if len(value) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]+=*", value):
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    return _WORDS_ONLY.fullmatch(decoded) is not None


def _assigned(m: re.Match[str]) -> bool:
    """A random value, not in a link's query (``?pwd=`` of a meeting invitation, a
    passcode its guests are meant to have) and not base64 of a placeholder word."""
    if m.start() > 0 and m.string[m.start() - 1] in "?&":
        return False
    if _ARN.search(m.string, max(0, m.start() - 120), m.start()):
        return False  # "arn:aws:secretsmanager:…:secret:db-Ab12Cd" names a secret, holds none
    return _random_value(m) and not _encoded_word(m.group("value"))


_ARN = re.compile(r"\barn:aws[\w-]*:[\w-]*:[\w-]*:\d*:$", re.IGNORECASE)
"""An Amazon resource name up to its resource type (``arn:aws:secretsmanager:…:``)."""


# Documentation that says so of the token it shows: "the token below is the
# documentation example", "the key above is a placeholder".
_SAID_EXAMPLE = re.compile(
    r"\b(?:token|key|jwt|credential)s?\s+(?:above|below|here|shown)\s+(?:is|are)\s+"
    r"(?:(?:a|an|the|only)\s+){0,2}(?:documentation\s+|sandbox\s+|test\s+)?"
    r"(?:example|sample|placeholder|dummy|fake)",
    re.IGNORECASE,
)
_SAID_REACH = 400


def _said_example(m: re.Match[str]) -> bool:
    """Whether the text says, near the match, that the token shown is an example."""
    text = m.string
    lo, hi = max(0, m.start() - _SAID_REACH), min(len(text), m.end() + _SAID_REACH)
    return _SAID_EXAMPLE.search(text, lo, hi) is not None


def _whole_token(m: re.Match[str]) -> bool:
    """A random value not cut short: a token that ends in a dot lost its signature to a
    logger's redaction (``eyJ….eyJ….[redacted]``) and opens nothing; nor one the text
    calls a documentation example."""
    return _random_value(m) and not m.group("value").endswith(".") and not _said_example(m)


_DOCUMENTED = ("example", "sample", "dummy", "fake", "placeholder", "redacted", "xxxx", "0000")


def _real(m: re.Match[str]) -> bool:
    """Not a documented example of the shape (``AKIAIOSFODNN7EXAMPLE``, ``ghp_xxxx…``):
    documentation and tests show those, and they open nothing."""
    low = m.group(0).lower()
    return not any(w in low for w in _DOCUMENTED)


_PUBLISHED_EXAMPLES = frozenset(
    {
        # Kubernetes' Secret documentation ("admin" / "1f2d1e2e67df" in base64).
        "MWYyZDFlMmU2N2Rm",
        "YWRtaW4=",
        # The token jwt.io shows on its front page, and its signature on its own.
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        # Stripe's documented test key.
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        # The OAuth 2.0 specification's (RFC 6749) access token, refresh token and code.
        "2YotnFZFEjr1zCsicMWpAA",
        "tGzv3JOkF0XG5Qx2TlKWIA",
        "SplxlOBeZQQYbYS6WxSbIA",
    }
)
"""Values that vendors publish in their documentation and that are copied into guides
everywhere: they open nothing (like ``AKIAIOSFODNN7EXAMPLE``), so they are no secret."""


def _published(value: str) -> bool:
    return value in _PUBLISHED_EXAMPLES or value.rstrip("=") in _PUBLISHED_EXAMPLES


def _real_jwt(m: re.Match[str]) -> bool:
    """Not jwt.io's sample token (``"sub": "1234567890"``, John Doe), which documentation
    everywhere shows, nor a published example signature."""
    _head, payload, signature = m.group(0).split(".")[:3]
    if _published(signature):
        return False
    try:
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return True
    return not ('"1234567890"' in claims and "John Doe" in claims) and not _said_example(m)


_CREDENTIAL_PARAM = re.compile(r"X-Amz-Credential=$", re.IGNORECASE)


def _not_presigned(m: re.Match[str]) -> bool:
    """An access key id inside a presigned URL (``X-Amz-Credential=AKIA...``) is the URL's
    public half: such links are made to be handed out and expire on their own."""
    return _CREDENTIAL_PARAM.search(m.string, max(0, m.start() - 20), m.start()) is None


def _mixed(m: re.Match[str]) -> bool:
    token = m.group(0)
    return _real(m) and any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


_DEFAULT_PASSWORDS = frozenset(
    {"password", "pass", "secret", "pwd", "changeme", "postgres", "root", "admin", "test", "guest"}
)


def _real_password(m: re.Match[str]) -> bool:
    password = unquote(m.group("value")).lower()
    bare = password.replace("_", "").replace("-", "")
    user = m.group("user").lower()
    # "app:app@" and "postgres:postgres@" are how local set-ups and .env examples are
    # written: a password equal to the user name, or a product's default, guards nothing.
    return not (
        password in _DEFAULT_PASSWORDS
        or password == user
        or any(w in bare for w in _PLACEHOLDER_WORDS)
        or password.strip("*x") == ""
        or password[0] in "<{$%["
    )


SECRETS: tuple[Rule, ...] = (
    rule("aws-access-key", "exfiltration", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
         ("akia", "asia", "abia", "acca"), secret=True, flags=0,
         accept=lambda m: _real(m) and entropy(m.group(0)[4:]) >= 2.5 and _not_presigned(m)),
    rule("aws-secret-key", "exfiltration",
         r"aws_?secret_?access_?key\W{1,5}[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])",
         ("secret",), secret=True, accept=_real),
    rule("private-key", "exfiltration",
         r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
         # Without its dashes (a URL or a form flattened it) when key material follows.
         r"|\bBEGIN (?:[A-Z0-9]+ )*PRIVATE KEY[\s:-]*(?:b3BlbnNzaC1rZXktdjE|MII[A-Za-z0-9+/]{8})",
         ("private key",), secret=True),
    rule("github-token", "exfiltration",
         r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), secret=True, flags=0,
         accept=_real),
    rule("slack-token", "exfiltration", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", ("xox",),
         secret=True, flags=0, accept=_real),
    rule("openai-key", "exfiltration",
         r"\bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_-]{20,}", ("sk-",),
         secret=True, accept=_mixed, flags=0),
    rule("shopify-token", "exfiltration", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
         ("shpat_", "shpca_", "shppa_", "shpss_"), secret=True, flags=0, accept=_real),
    rule("stripe-key", "exfiltration", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
         ("k_live", "k_test"), secret=True, flags=0, accept=_real),
    rule("google-api-key", "exfiltration", r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])",
         ("aiza",), secret=True, flags=0, accept=_real),
    rule("huggingface-token", "exfiltration", r"\bhf_[A-Za-z0-9]{34,}\b", ("hf_",),
         secret=True, accept=_mixed, flags=0),
    rule("package-token", "exfiltration",
         r"\b(?:npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,})\b", ("npm_", "pypi-"),
         secret=True, flags=0, accept=_real),
    rule("jwt", "exfiltration",
         r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}", ("eyj",),
         secret=True, flags=0, accept=_real_jwt),
    rule("url-password", "exfiltration",
         r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|"
         r"ftp|sftp|smtp)://(?P<user>[^:\s/@]+):(?P<value>[^@\s/]{3,})@",
         ("://",), secret=True, accept=_real_password),
    rule("assigned-secret", "exfiltration",
         r"(?:\b(?:password|passwd|pwd|secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?token|"
         r"auth[_-]?token|client[_-]?secret|private[_-]?key|session[_-]?token)|(?<=[a-z]_)pw)"
         r"[\"']?\s*[:=]\s*[\"']?"
         r"(?P<value>[A-Za-z0-9/+_\-.=!@#$%^&*~]{10,})",
         ("pass", "pwd", "secret", "key", "token", "_pw"), secret=True, accept=_assigned),
    rule("bearer-token", "exfiltration", r"\bBearer\s+(?P<value>[A-Za-z0-9._~+/-]{20,}=*)",
         ("bearer",), secret=True, accept=_whole_token),
)  # fmt: skip

_DATA_PARAMS = frozenset(
    {
        "data", "payload", "secret", "secrets", "token", "key", "apikey", "api_key",
        "password", "pwd", "pass", "content", "contents", "info", "msg", "message",
        "messages", "history", "conversation", "chat", "context", "leak", "exfil", "stolen",
        "creds", "credentials", "session", "cookie", "cookies", "memory", "email", "ssn",
        "card", "env", "prompt",
    }
)  # fmt: skip
_SIGNATURE_PARAMS = ("x-amz-", "x-goog-", "sig", "signature", "se", "sp", "sv", "sr", "st", "skoid")
_NUMBERS = re.compile(r"^-?\d{1,6}(?:\.\d+)?(?:[,;|]\s*-?\d{1,6}(?:\.\d+)?){2,}$")
"""A series of numbers (``data=12,19,7`` of a chart image): what charts draw, not what
is stolen."""
_DATA_LIKE = re.compile(r"^[A-Za-z0-9+/=_%.-]{32,}$")
_PLACEHOLDER = re.compile(
    r"\{\{?[^}\s]{1,40}\}\}?|\$\{?\w+\}?|<[A-Za-z_ -]{2,40}>|%s|\[[A-Z_ ]{2,40}\]"
)


_DATA_WORDS = re.compile(
    r"secret|key|token|passw|pwd|credential|creds|conversation|history|chat|message|msg|"
    r"context|memory|prompt|session|cookie|env|ssn|card|summary|answer|response|reply|"
    r"content|payload|data|leak|exfil|stolen|user_?input|question",
    re.IGNORECASE,
)


_AUTH_PARAMS = frozenset({"key", "api_key", "apikey", "appid", "app_id", "access_token", "token"})


def _auth_param(name: str) -> bool:
    """Whether a query parameter is how an API takes its key (``appid``, ``securityToken``)."""
    low = name.strip().lower()
    return low in _AUTH_PARAMS or low.endswith(("token", "key"))


def _data_placeholder(text: str) -> bool:
    """Whether ``text`` has a placeholder naming what an agent knows (``{conversation}``,
    ``$API_KEY``) rather than an argument of an API (``{user_id}``, ``{page}``).

    API documentation writes its own authentication into its templates
    (``?lat={lat}&lon={lon}&key={api_key}``): a key placeholder in the key parameter of
    a template with other arguments is how that API is called, not a leak.
    """
    data = [p for p in _PLACEHOLDER.finditer(text) if _DATA_WORDS.search(p.group(0))]
    if not data:
        return False
    params = [q.partition("=") for q in text.lstrip("?").split("&")]
    if len(params) < 2:
        return True
    for name, _eq, value in params:
        if any(p.group(0) in value for p in data) and not _auth_param(name):
            return True
    # The other arguments are templated too, or at least two of them are given
    # (``?lat=51.31&lon=9.49&appid={{OWM_KEY}}``): the API is called as documented.
    given = [v for _n, _e, v in params if v and not _PLACEHOLDER.search(v)]
    if len(given) >= 2 and not any(_DATA_WORDS.search(v) for v in given):
        return False
    return not any(
        not _DATA_WORDS.search(value) and _PLACEHOLDER.search(value) for _n, _e, value in params
    )


def carries_data(url: str) -> bool:
    """Whether ``url``'s query looks like it carries data (not a size, style or signature)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return False
    if not query:
        return False
    if _data_placeholder(unquote(query)):
        return True
    for name, value in parse_qsl(query, keep_blank_values=True):
        low = name.lower()
        if low.startswith(_SIGNATURE_PARAMS):
            continue
        if low in _DATA_PARAMS and len(value) >= 6 and not _NUMBERS.match(value):
            return True
        if _DATA_LIKE.match(value) and entropy(value) >= 3.5:
            return True
    return False


_CREDENTIAL = (
    r"(?:passwor[dt]s?|kennw[oö]rt\w*|zugangsdaten|mots? de passe|identifiants|contraseñas?|"
    r"credenciales|credentials?|api[ _-]?keys?|access keys?|(?:bearer |refresh |session )?tokens?|"
    r"otp|one-time (?:code|password)|ssn|social security numbers?|card numbers?|cvv|"
    r"system (?:prompt|instructions)|[A-Z]+_(?:TOKEN|PASSWORD|SECRET|KEY)\b)"
    # Not "the password reset link", "the API key request form".
    r"(?!\s*(?:reset|polic|manager|request|hint|change|expir|rotat|strength|requirement|field|"
    r"form|page|vault|prompt))"
)
_CREDENTIAL_TRIGGERS = (
    "pass", "kennw", "zugangsdaten", "identifiants", "contrase", "credencial", "credential",
    "api key", "api_key", "api-key", "apikey", "access key", "token", "otp", "one-time", "ssn",
    "social security", "card number", "cvv", "system prompt", "system instructions", "_secret",
    "_key",
)  # fmt: skip
# Whose credentials: named ones ("the", "your", "all", "die"), not "a token" in a guide.
_WHOSE = (
    r"(?:(?:me|us|them|him|her|over|back|along)\s+)?(?:the|your|all|any|its|their|his|her|"
    r"die|den|das|deine|ihre|vos|tes|les|le|la|tus|sus|las|los|el|i|gli|le)\s+"
    r"(?:(?:[\w'’-]+,?|and|&)\s+){0,4}?"
)
_SINK = (
    r"(?:[\w.+-]+@[\w-]+\.[\w.-]+|https?://|\b(?:in|into|with|as|to) (?:your|the|this|a) "
    r"(?:reply|answer|response|summary|thread|chat|message|comment)\b|\breply (?:here|to this)\b|"
    r"\bin this (?:thread|chat|channel)\b)"
)


EXFILTRATION_URLS: tuple[Rule, ...] = (
    rule(
        "credentials-sent-out",
        "exfiltration",
        # Credentials asked to leave: sent to an address or a URL, or put in the answer.
        r"\b(?:send|sende[nt]?|schick\w*|envoie\w*|envoyez|envía\w*|envia\w*|invia\w*|paste|post|"
        r"e-?mail|dm|give|provide|share|quote|forward|type)\s+"
        + _WHOSE
        + _CREDENTIAL
        + r"[^\n]{0,80}?"
        + _SINK
        + r"|\b(?:reply|respond|answer) with\s+"
        + _WHOSE
        + _CREDENTIAL,
        _CREDENTIAL_TRIGGERS,
        quotable=True,
        accept=lambda m: not negated(m),
    ),
    rule(
        "markdown-image-data",
        "exfiltration",
        r"!\[[^\]\n]{0,200}\]\(\s*<?(?P<url>https?://[^\s)>]+)>?\s*\)?"
        r"|<img\b[^>]{0,200}?\bsrc\s*=\s*[\"']?(?P<url2>https?://[^\s\"'>]+)",
        ("![", "<img"),
        accept=lambda m: (
            carries_data(m.group("url") or m.group("url2")) and not _shown_as_example(m)
        ),
    ),
    rule(
        "markdown-link-data",
        "exfiltration",
        # A link needs a click, but its text can make one likely ("verify your account").
        r"(?<!!)\[[^\]\n]{1,200}\]\(\s*<?(?P<url>https?://[^\s)>]+)>?\s*\)?"
        r"|<a\b[^>]{0,200}?\bhref\s*=\s*[\"']?(?P<url2>https?://[^\s\"'>]+)",
        ("](", "href"),
        accept=lambda m: (
            carries_data(m.group("url") or m.group("url2"))
            and not _manages_subscription(m.group("url") or m.group("url2"))
        ),
    ),
    rule(
        "url-template",
        "exfiltration",
        # The path stops at the first "?" and each parameter at its "&", so a long
        # text of URLs costs one pass, not one per URL.
        r"\bhttps?://[^\s\"'<>`?]{0,512}\?(?:[^\s\"'<>`&=]{0,64}=[^\s\"'<>`&]{0,512}&){0,16}"
        r"[\w-]+=(?:\{\{?[^}\s]{1,40}\}\}?|\$\{?\w+\}?|<[A-Za-z_ -]{2,40}>|%s"
        r"|\[[A-Z_ ]{2,40}\])",
        ("://",),
        # API documentation templates its URLs (``?id={user_id}``): a placeholder counts
        # when it names what the agent knows.
        accept=lambda m: (
            _data_placeholder(m.group(0)[m.group(0).find("?") :]) and not _shown_as_example(m)
        ),
    ),
)


# A mailing's own links to unsubscribe or set preferences carry the reader's token.
_SUBSCRIPTION_PAGE = re.compile(
    r"/(?:unsubscribe|preferences|email-preferences|manage-subscriptions?|opt-?out)/?$", re.I
)
_TOKEN_PARAMS = frozenset({"token", "id", "u", "e", "list"})


def _manages_subscription(url: str) -> bool:
    parts = urlsplit(url)  # carries_data has parsed it already
    names = {n.lower() for n, _v in parse_qsl(parts.query, keep_blank_values=True)}
    return bool(_SUBSCRIPTION_PAGE.search(parts.path)) and names <= _TOKEN_PARAMS


# "Attackers may ask an assistant to render an image like ![x](https://…?d=<secret>)": a
# templated URL given as an example in talk about attacks.
_EXAMPLE_BEFORE = re.compile(
    r"(?:\b(?:like|such as|for (?:example|instance)|example)\b|\be\.g\.)[^.!?\n]{0,40}\W*"
    r"(?:!?\[[^\]\n]{0,40}\]\(\s*)?$",
    re.I,
)


def _shown_as_example(m: re.Match[str]) -> bool:
    text, start = m.string, m.start()
    return bool(_EXAMPLE_BEFORE.search(text, max(0, start - 60), start)) and discusses_attacks(
        text, max(0, start - 240), start
    )

"""Personal data in message text, replaced by keyed hashes before it is stored.

A project whose content policy is ``redacted`` keeps the messages of its
spans with every e-mail address, phone number, card number, IBAN and IP
address replaced by ``<kind:hash>``: the hash is keyed with the workspace's
salt, so the same address always gives the same token (conversations stay
comparable) but nobody without the salt can confirm a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["keyed_hash", "redact"]

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("card", re.compile(r"\b(?:\d[ -]?){13,19}\b")),
    ("ip", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
    ("phone", re.compile(r"(?<![\w+])\+?\d[\d ()./-]{7,}\d\b")),
)


def keyed_hash(text: str, key: bytes) -> str:
    """Keyed SHA-256 of ``text``, 16 hex digits: stable per workspace, unguessable without its key.

    Examples
    --------
    >>> keyed_hash("alice", b"k") == keyed_hash("alice", b"k") != keyed_hash("alice", b"j")
    True
    """
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:16]


def redact(text: str, key: bytes) -> str:
    """``text`` with personal-data patterns replaced by ``<kind:keyed hash>``.

    Examples
    --------
    >>> redact("mail bob@example.org or call +44 20 7946 0958", b"k")  # doctest: +ELLIPSIS
    'mail <email:...> or call <phone:...>'
    """
    for kind, pattern in _PATTERNS:

        def token(match: re.Match[str], kind: str = kind) -> str:
            return f"<{kind}:{keyed_hash(match.group(0), key)}>"

        text = pattern.sub(token, text)
    return text

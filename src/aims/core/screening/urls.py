"""URLs: known-bad hosts, a domain allow-list, and hosts that hide where they lead.

Every ``http(s)``, ``ws(s)`` or ``ftp`` URL of a text is parsed, and its host
checked against:

* the *blocked* list: :data:`KNOWN_BAD_DOMAINS` (request catchers and tunnels
  that exist to receive data from a machine one does not own) plus the
  policy's own ``blocked_domains``; a domain blocks its subdomains too;
* the policy's *allow-list*, when it has one: any other host is a finding;
* shapes that mislead a reader: a punycode (``xn--``) label, a user part
  before the host (``https://bank.example@evil.example/``), and a public IP
  address instead of a name where it serves a file to run or an image (logs
  and documentation are full of addresses like ``http://203.0.113.9/health``;
  a script or a tracking pixel on a bare address is what attacks use), a
  whole domain in front of the one that owns the host
  (``bank.com.verify-login.net``), and a program dressed as a document
  (``invoice.pdf.exe``).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from urllib.parse import SplitResult, unquote_plus, urlsplit

from aims.core.screening.confusables import CONFUSABLES
from aims.core.screening.exfiltration import carries_data

KNOWN_BAD_DOMAINS: frozenset[str] = frozenset(
    {
        "webhook.site",
        "requestbin.com",
        "requestbin.net",
        "requestcatcher.com",
        "pipedream.net",
        "hookbin.com",
        "beeceptor.com",
        "mockbin.org",
        "postb.in",
        "ptsv2.com",
        "ngrok.io",
        "ngrok-free.app",
        "ngrok.app",
        "trycloudflare.com",
        "loca.lt",
        "localtunnel.me",
        "serveo.net",
        "burpcollaborator.net",
        "oastify.com",
        "interact.sh",
        "oast.fun",
        "oast.pro",
        "oast.live",
        "oast.site",
        "dnslog.cn",
        "canarytokens.com",
        "transfer.sh",
        "file.io",
    }
)
"""Hosts that collect requests for whoever set them up; blocked by default."""

URL_RULES = (
    "known-bad-domain",
    "domain-not-allowed",
    "ip-address-host",
    "punycode-host",
    "userinfo-host",
    "nested-domain-host",
    "disguised-executable",
)
"""The names of the URL rules (a policy may disable them by name)."""

_URL = re.compile(r"\b(?:https?|wss?|ftp)://[^\s<>\"'`)\]}|\\^]+", re.IGNORECASE)


def domain_matches(host: str, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (``*.x`` means ``x``).

    >>> domain_matches("hooks.webhook.site", ["webhook.site"])
    True
    >>> domain_matches("notwebhook.site", ["webhook.site"])
    False
    """
    host = host.lower().rstrip(".")
    for d in domains:
        d = d.lower().removeprefix("*.").rstrip(".")
        if host == d or host.endswith("." + d):
            return True
    return False


def _public_ip(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_global


_SERVED_FILE = re.compile(
    r"\.(?:sh|bash|ps1|bat|cmd|exe|msi|dll|bin|elf|apk|dmg|pkg|deb|rpm|jar|py|pl|js|vbs|hta|"
    r"zip|tar|gz|tgz|7z|rar|png|gif|jpe?g|webp|svg|bmp|ico)$",
    re.IGNORECASE,
)


def _serves_something(url: str, path: str) -> bool:
    """A path ending in an executable, archive or image, or a query carrying data: what an
    address that hides its owner is used for."""
    return _SERVED_FILE.search(path) is not None or carries_data(url)


def _disguised_label(label: str) -> bool:
    """A punycode label that spells Latin letters with look-alikes (``аpple`` with a
    Cyrillic а) or marks over Latin letters, or that does not decode; an ordinary name in another alphabet or with
    accents (``münchen``, ``президент``) is not a disguise."""
    try:
        name = label.encode("ascii").decode("idna")
    except (UnicodeError, ValueError):
        return True
    # Every non-ASCII character a look-alike or a combining mark over a Latin letter
    # (``gogl̴e``): the name reads as Latin to a person.
    others = [c for c in name if not c.isascii()]
    return bool(others) and all(c in CONFUSABLES or unicodedata.combining(c) for c in others)


# A DSN (``SENTRY_DSN=https://key@host/1``) carries its key as the URL's user by design.
_DSN_KEY = re.compile(r"dsn\W{0,4}$", re.IGNORECASE)


def _is_dsn(text: str, start: int) -> bool:
    return _DSN_KEY.search(text, max(0, start - 12), start) is not None


# File drops that take an upload at their home page.
_TAKE_UPLOADS = frozenset({"transfer.sh", "file.io"})


def _names_a_service(host: str, parts: SplitResult) -> bool:
    """Whether the URL is a request collector's bare home page (``https://webhook.site``):
    named in a text about the service, it takes nothing; a collecting URL has a bin in its
    path, query or subdomain."""
    return (
        host in KNOWN_BAD_DOMAINS
        and host not in _TAKE_UPLOADS
        and not parts.path.strip("/")
        and not parts.query
        and not parts.fragment
    )


def url_findings(
    text: str, blocked: frozenset[str], allowed: frozenset[str] | None
) -> Iterator[tuple[str, int, int]]:
    """``(rule, start, end)`` for each URL of ``text`` that a URL rule flags."""
    for m in _URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?*")
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            continue
        start, end = m.start(), m.start() + len(url)
        if (
            "@" in parts.netloc
            and not parts.password
            and not _is_dsn(text, start)
            and not _warned_of(text, start, end)
        ):
            yield "userinfo-host", start, end
        if domain_matches(host, blocked) and not _names_a_service(host, parts):
            yield "known-bad-domain", start, end
        elif allowed is not None and not domain_matches(host, allowed):
            yield "domain-not-allowed", start, end
        if _public_ip(host) and _serves_something(url, parts.path):
            yield "ip-address-host", start, end
        if any(_disguised_label(label) for label in host.split(".") if label.startswith("xn--")):
            yield "punycode-host", start, end
        if _nested_domain(host) and not _warned_of(text, start, end):
            yield "nested-domain-host", start, end
        if _DISGUISED.search(parts.path) and not _warned_of(text, start, end):
            yield "disguised-executable", start, end


# Generic top-level domains only: a country's code is an ordinary subdomain of mirrors
# and wikis ("ftp.de.debian.org").
_TLDS = frozenset(["com", "net", "org", "info", "biz", "gov", "edu"])
# A program dressed as a document or a video ("screener.mp4.scr", "invoice.pdf.exe"), or a
# kind of program that nothing but a disguise is shipped as.
_DISGUISED = re.compile(
    r"\.(?:pdf|docx?|xlsx?|pptx?|txt|jpe?g|png|gif|mp4|mov|avi|mp3|wav|zip)\.(?:exe|scr|bat|cmd|"
    r"com|pif|js|jse|vbs|vbe|hta|lnk|msi|ps1|jar|apk|dmg|pkg|sh)$|\.(?:scr|pif|hta|vbe|jse|lnk|crx)$",
    re.IGNORECASE,
)
# Country codes that are no English word ("no", "it", "at" and "me" are left out).
_COUNTRIES = frozenset(
    {
        "de", "fr", "es", "nl", "pl", "jp", "cn", "ru", "uk", "au", "ca", "br", "ch", "se", "dk",
        "fi", "pt", "gr", "cz", "hu", "ro", "sk", "bg", "hr", "tr", "kr", "tw", "hk", "sg", "nz",
        "za", "mx", "ar", "cl", "ie", "io",
    }
)  # fmt: skip
_SERVICE_LABELS = frozenset(
    {
        "www", "ftp", "mirror", "mirrors", "mail", "smtp", "imap", "cdn", "api", "static", "dl",
        "download", "downloads", "archive", "docs", "wiki", "web", "shop", "store", "news", "blog",
        "m",
    }
)  # fmt: skip
# Hosts that put a customer's own domain in front of theirs by design: bucket names, CDN
# and load-balancer targets.
_HOSTING_SUFFIXES = (
    "amazonaws.com", "cloudfront.net", "cloudflare.net", "edgekey.net", "edgesuite.net",
    "akamaiedge.net", "akamaized.net", "azureedge.net", "azurewebsites.net", "fastly.net",
    "googleusercontent.com", "herokudns.com", "herokuapp.com", "github.io", "digitaloceanspaces.com",
    "r2.dev", "pages.dev", "netlify.app", "vercel.app", "windows.net",
)  # fmt: skip


def _nested_domain(host: str) -> bool:
    """Whether the host puts a whole domain in front of the one that owns it
    (``bank.com.verify-login.net``) or glues a top-level domain to its owner's name
    (``bank.com-login.info``): how a look-alike reads as someone else's address."""
    labels = host.lower().rstrip(".").split(".")
    if len(labels) < 3 or domain_matches(host, _HOSTING_SUFFIXES) or _public_ip(host):
        return False
    head = labels[-2].split("-", 1)[0]
    if "-" in labels[-2] and (
        head in _TLDS or (head in _COUNTRIES and labels[-3] not in _SERVICE_LABELS)
    ):
        return True
    # A top-level domain with two or more labels after it ("example.com.au" has one); a
    # country's code counts after a name, not after "www", "ftp" or "mirror".
    return labels[-2] not in _TLDS and any(
        labels[i] in _TLDS or (labels[i] in _COUNTRIES and _named(labels[i - 1]))
        for i in range(1, len(labels) - 2)
    )


def _named(label: str) -> bool:
    return len(label) >= 4 and label not in _SERVICE_LABELS


# A lesson or a warning about look-alike addresses shows the ones it warns of.
_WARNED_OF = re.compile(
    r"(?i:phish\w*|look-?alike|do not (?:visit|click|open)|don't (?:visit|click|open)|"
    r"not ours|real (?:domain|host)|owner is|quiz|which of these|spot the|hameçonnage|suplantación|"
    r"tricks? such as|"
    r"defang\w*)"
)


def _warned_of(text: str, start: int, end: int) -> bool:
    return _WARNED_OF.search(text, max(0, start - 200), min(len(text), end + 200)) is not None


_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
MAX_DECODED_URLS = 16
"""At most this many percent-encoded URLs of one text are decoded."""


def decoded_urls(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded)`` for each URL of ``text`` with percent-escapes: a secret
    put in a query string (``?content=BEGIN%20OPENSSH%20PRIVATE%20KEY...``) is screened
    as the server that receives it will read it."""
    for n, m in enumerate(_URL.finditer(text)):
        if n >= MAX_DECODED_URLS:
            return
        url = m.group(0)
        if _ESCAPE.search(url):
            yield m.start(), m.end(), unquote_plus(url)

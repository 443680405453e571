"""Commands and hosts that deliver or take something: download-and-run, package
installs from elsewhere, look-alike brand hosts, script URLs, disguised IP hosts
and payment cards sent away.

These read the shape of a command or a host rather than a list of known bad
ones, so they also see hosts registered yesterday. Installer one-liners are
everyday documentation (``curl -fsSL https://sh.rustup.rs | sh``), so a
download piped into a shell counts only when its host is itself suspicious.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aims.core.screening.context import is_quoted_mention

_I = re.IGNORECASE

_HOST = re.compile(r"(?:https?|ftp)://(?:[^/\s@?#]*@)?([a-z0-9.\-]+)", _I)
SUSPICIOUS_TLDS = frozenset(
    [
        "xyz",
        "top",
        "ru",
        "su",
        "cc",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "pw",
        "click",
        "zip",
        "mov",
        "icu",
        "buzz",
        "rest",
        "cyou",
    ]
)
# Brands whose names phishing hosts borrow, and the domains that are really theirs.
BRANDS: dict[str, frozenset[str]] = {
    "microsoft": frozenset({"microsoft.com", "microsoftonline.com", "microsoft.net"}),
    "office365": frozenset({"office365.com", "office.com"}),
    "microsoft365": frozenset({"microsoft365.com"}),
    "outlook": frozenset({"outlook.com", "outlook.live.com"}),
    "paypal": frozenset({"paypal.com", "paypal.me", "paypalobjects.com"}),
    "google": frozenset({"google.com", "googleapis.com", "google.de", "google.co.uk"}),
    "apple": frozenset({"apple.com"}),
    "icloud": frozenset({"icloud.com"}),
    "amazon": frozenset({"amazon.com", "amazon.de", "amazon.co.uk", "amazonaws.com"}),
    "github": frozenset({"github.com", "github.io", "githubassets.com", "github.blog"}),
    "githubusercontent": frozenset({"githubusercontent.com"}),
    "pypi": frozenset({"pypi.org", "pypi.python.org"}),
    "npmjs": frozenset({"npmjs.com", "npmjs.org"}),
    "dropbox": frozenset({"dropbox.com"}),
    "netflix": frozenset({"netflix.com"}),
    "facebook": frozenset({"facebook.com"}),
    "linkedin": frozenset({"linkedin.com"}),
    "docker": frozenset({"docker.com", "docker.io"}),
    "okta": frozenset({"okta.com"}),
    "coinbase": frozenset({"coinbase.com"}),
}
_LEET = str.maketrans("0135", "oles")


def registered(host: str) -> str:
    """The registered domain of ``host`` (its last two labels, three under ``co.xx``)."""
    labels = host.lower().rstrip(".").split(".")
    n = 3 if len(labels) > 2 and labels[-2] in ("co", "com", "org", "ac") else 2
    return ".".join(labels[-n:])


def lookalike_brand(host: str) -> str | None:
    """The brand ``host`` borrows (``micros0ft-update.com``, ``pypi.org.mirror.su``), or None."""
    h = host.lower()
    reg = registered(h)
    for label in h.split("."):
        tokens = label.split("-")
        for token in tokens:
            plain = token.translate(_LEET).replace("rn", "m").replace("vv", "w")
            domains = BRANDS.get(plain)
            if domains is None or any(reg == d or h.endswith("." + d) for d in domains):
                continue
            # A brand's own name as a label of another domain is an internal mirror or an
            # enterprise install (pypi.corp.example, github.corp.example); a misspelt one,
            # one with words added, or one followed by its own domain is a disguise.
            if token != plain or len(tokens) > 1 or any(f"{d}." in h for d in domains):
                return plain
    return None


def suspicious_host(host: str) -> bool:
    """A host made to look like someone else, or under a TLD phishing favours, or a bare IP."""
    h = host.lower()
    return (
        h.rsplit(".", 1)[-1] in SUSPICIOUS_TLDS
        or lookalike_brand(h) is not None
        or re.fullmatch(r"[0-9.]+|0x[0-9a-f.x]+", h) is not None
    )


_PIPE_TO_SHELL = re.compile(
    r"\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n|]{0,200}\|\s*"
    r"(?:sudo\s+)?(?:sh|bash|zsh|python3?|iex|invoke-expression)\b|"
    # The same download run by a shell through process or command substitution:
    # "bash <(curl -s URL)", 'sh -c "$(wget -qO- URL)"'.
    r"\b(?:sh|bash|zsh)\s+(?:-c\s+[\"']?\$|<)\(\s*(?:curl|wget)\b[^\n)]{0,200}\)",
    _I,
)
# Paste sites serve whatever anyone pasted last: no installer is fetched from them.
_PASTE_HOSTS = (
    "pastebin.com",
    "paste.ee",
    "hastebin.com",
    "rentry.co",
    "dpaste.org",
    "termbin.com",
)


def _paste_host(host: str) -> bool:
    h = host.lower()
    return any(h == p or h.endswith("." + p) for p in _PASTE_HOSTS)


_LOLBIN = re.compile(
    r"\bcertutil(?:\.exe)?\s+[^\n]{0,20}-urlcache\b|\bbitsadmin\s+/transfer\b|"
    r"\bmshta(?:\.exe)?\s+https?://|\bregsvr32\b[^\n]{0,40}/i:https?://|"
    r"\"?run_after_download\"?\s*[:=]\s*true",
    _I,
)
_DOWNLOAD_RUN = re.compile(
    r"\b(?:download and (?:run|execute|install)|télécharger et exécuter|herunterladen und "
    r"ausführen|descargar y ejecutar|scaricare ed eseguire)\b[^\n]{0,40}?https?://\S+",
    _I,
)
_DOWNLOAD_WORDS = re.compile(
    r"download and|télécharger et|herunterladen und|descargar y|scaricare ed"
)
_INSTALL_FROM = re.compile(
    r"\b(?:pip3?|npm|yarn|pnpm|uv pip|gem|cargo)\s+(?:install|add|i)\b[^\n]{0,200}", _I
)
_SCRIPT_URL = re.compile(
    r"(?:href\s*=\s*[\"']?|\]\(|\"url\"\s*:\s*\")\s*(?:javascript:(?!\s*(?:void\(0\)|;|$))|"
    r"data:text/html)|\bdata:text/html;base64,",
    _I,
)
_OBSCURED_IP = re.compile(
    r"https?://(?:0x[0-9a-f]{1,2}\.){3}0x[0-9a-f]{1,2}\b|https?://0x[0-9a-f]{8}\b|"
    r"https?://\d{8,10}(?:[/:]|$)|https?://(?:0\d{3}\.){3}0\d{3}\b",
    _I,
)
# A protection switched off to let something in: "if the download is blocked, disable
# SmartScreen temporarily". Negated advice ("never disable Defender") is left alone.
_SECURITY_OFF = re.compile(
    r"(?<!not )(?<!never )(?<!n't )\b(?:disable|turn off|deactivate|switch off|pause|bypass)\s+"
    r"(?:your\s+|the\s+)?(?:smartscreen|windows defender|microsoft defender|defender|antivirus|"
    r"anti-virus|gatekeeper|endpoint protection|virus scanner)\b",
    _I,
)
_REDIRECT = re.compile(r"[?&](?:q|url|u|target|redirect|dest|to)=https?(?::|%3A)", _I)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_CARD_CONTEXT = re.compile(r"\bcvv|\bcvc|security code|card_?number|\bexp(?:iry)?\b", _I)
# Cards payment providers publish for testing (Stripe, Braintree, Adyen, Checkout.com).
# Only these numbers are spared: a word such as "sandbox" near a card is not enough, since
# an attacker can write it beside a real one.
_TEST_CARDS = frozenset(
    {
        # Visa
        "4242424242424242",
        "4111111111111111",
        "4012888888881881",
        "4000056655665556",
        "4000000000009995",
        "4000000000000002",
        "4000002500003155",
        "4000000000000077",
        "4000000000000341",
        "4000000000003220",
        "4000002760003184",
        "4000000000000069",
        "4000000000000127",
        "4000000000000119",
        "4005519200000004",
        "4009348888881881",
        "4012000033330026",
        "4012000077777777",
        "4217651111111119",
        "4500600000000061",
        "4111111145551142",
        "4543474002249996",
        # Mastercard
        "5555555555554444",
        "5105105105105100",
        "2223003122003222",
        "5200828282828210",
        "5555341244441115",
        "5436031030606378",
        # American Express, Discover, Diners, JCB, UnionPay
        "378282246310005",
        "371449635398431",
        "370000000000002",
        "6011111111111117",
        "6011000990139424",
        "3056930009020004",
        "36227206271667",
        "3566002020360505",
        "3530111333300000",
        "6200000000000005",
    }
)
_PAYMENT_HOSTS = (
    "stripe.com",
    "paypal.com",
    "adyen.com",
    "braintreegateway.com",
    "squareup.com",
    "checkout.com",
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def command_findings(text: str) -> Iterator[tuple[str, str, int, int]]:
    """``(category, rule, start, end)`` for each command or host signal in ``text``."""
    lower = text.lower()
    hosts = (
        [(m.group(1), m.start(), m.end()) for m in _HOST.finditer(text)] if "://" in text else []
    )
    # Each pattern runs only when a word every match of it holds is in the text: the
    # common text, prose with no command in it, costs a few substring searches.
    if not ("|" in text or "(" in text) or not any(
        w in lower for w in ("curl", "wget", "iwr", "irm", "invoke-")
    ):
        hosts_for_pipe: list[tuple[str, int, int]] = []
    else:
        hosts_for_pipe = hosts
    for m in _PIPE_TO_SHELL.finditer(text) if hosts_for_pipe else ():
        if any(
            suspicious_host(h) or _paste_host(h) or text[s : s + 5].lower() == "http:"
            for h, s, _e in hosts
            if m.start() <= s < m.end()
        ):
            yield "url", "download-and-run", m.start(), m.end()
    for rx, name, anchors in (
        (_LOLBIN, "download-and-run", ("certutil", "bitsadmin", "mshta", "regsvr32", "run_after")),
        (_SCRIPT_URL, "script-url", ("javascript:", "data:text/html")),
        (_OBSCURED_IP, "obscured-ip-host", ("://",) if hosts else ()),
        (
            _SECURITY_OFF,
            "security-control-off",
            ("smartscreen", "defender", "virus", "gatekeeper", "endpoint protection"),
        ),
    ):
        if not any(w in lower for w in anchors):
            continue
        one = rx.search(text)
        if one:
            yield "url", name, one.start(), one.end()
    for m in _DOWNLOAD_RUN.finditer(text) if hosts and _DOWNLOAD_WORDS.search(lower) else ():
        if any(suspicious_host(h) for h, s, _e in hosts if m.start() <= s < m.end()):
            yield "url", "download-and-run", m.start(), m.end()
    for m in _INSTALL_FROM.finditer(text) if hosts or "--trusted-host" in lower else ():
        seg = m.group()
        inner = [h for h, s, _e in hosts if m.start() <= s < m.end()]
        if "--trusted-host" in seg or "http://" in seg or any(suspicious_host(h) for h in inner):
            yield "url", "install-from-elsewhere", m.start(), m.end()
    for host, start, end in hosts:
        if lookalike_brand(host) is not None:
            # A look-alike quoted as an example in a warning about phishing is a lesson.
            if not is_quoted_mention(text, start, end):
                yield "url", "lookalike-host", start, end
        elif host.rsplit(".", 1)[-1].lower() in SUSPICIOUS_TLDS and _REDIRECT.search(
            text, max(0, start - 300), start + 8
        ):
            yield "url", "redirect-to-suspicious-host", start, end
    yield from _cards(text, hosts)


def _cards(text: str, hosts: list[tuple[str, int, int]]) -> Iterator[tuple[str, str, int, int]]:
    """A payment card with its security code, in a text that also names a non-payment host."""
    if not hosts or not any(c.isdigit() for c in text) or not _CARD_CONTEXT.search(text):
        return
    if all(registered(h) in _PAYMENT_HOSTS for h, _s, _e in hosts):
        return
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits not in _TEST_CARDS and _luhn(digits):
            yield "exfiltration", "payment-card", m.start(), m.end()
            return


COMMAND_RULES = (
    "download-and-run",
    "install-from-elsewhere",
    "script-url",
    "obscured-ip-host",
    "lookalike-host",
    "redirect-to-suspicious-host",
    "payment-card",
    "security-control-off",
)
"""The names of the command and host rules (a policy may switch each off)."""

"""Deterministic synthetic texts from word lists, for drift tests (no downloads)."""

from __future__ import annotations

import numpy as np

FILLER = [
    "the",
    "a",
    "my",
    "to",
    "for",
    "is",
    "and",
    "it",
    "please",
    "help",
    "i",
    "need",
    "with",
    "can",
    "you",
    "this",
]
ORDERS = [
    "order",
    "refund",
    "shipping",
    "delivery",
    "package",
    "tracking",
    "return",
    "invoice",
    "payment",
    "card",
    "address",
    "late",
    "damaged",
    "parcel",
    "courier",
    "warehouse",
    "receipt",
    "discount",
]
ACCOUNTS = [
    "password",
    "login",
    "account",
    "reset",
    "email",
    "security",
    "verify",
    "code",
    "locked",
    "device",
    "app",
    "update",
    "username",
    "profile",
    "settings",
    "twofactor",
    "authenticator",
    "session",
]


def texts(topic: list[str], n: int, seed: int) -> list[str]:
    """``n`` texts of 5 to 20 words drawn from ``topic`` and common filler words."""
    rng = np.random.default_rng(seed)
    vocab = topic + FILLER
    return [" ".join(rng.choice(vocab, size=int(rng.integers(5, 21)))) for _ in range(n)]

"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint states, as Certificate Transparency's signed tree heads do, "the
chain had ``events`` events and the newest one hashed to ``head_hash`` at
``time``", signed with Ed25519. Kept somewhere the database's writers cannot
reach (a file, a bucket, a ticket), it lets a verifier prove later that the
chain in the store still *extends* it: every event it covered is still there,
unchanged. A wipe, a truncation, a rollback to a backup or a rewrite — even
one made with the audit key — all fail that test.

Why Ed25519 and not an HMAC: checking a signature needs only the public key,
so an auditor can verify checkpoints without being able to make them, and the
public key can be pinned where the checkpoints are kept.

Both keys come from one secret kept outside the database (``$AIMS_AUDIT_KEY``
or ``.aims/audit.key``): the chain's HMAC key and the checkpoint signing key are
derived from it under different labels, so one never serves as the other.
Pure: the caller passes the secret and the facts read from the store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from aims.core.audit import ChainProblem, canonical_json
from aims.errors import InvalidInput

FORMAT = "aims-audit-checkpoint/1"

__all__ = [
    "FORMAT",
    "Checkpoint",
    "StoreFacts",
    "chain_key",
    "compare",
    "public_key_of",
    "sign",
    "sign_bytes",
    "signature_valid",
    "verify_signature",
]


def chain_key(secret: bytes) -> bytes:
    """The HMAC key of the chain, derived from the audit secret."""
    return hmac.new(secret, b"aims audit chain v1", hashlib.sha256).digest()


def _signing_key(secret: bytes) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    seed = hmac.new(secret, b"aims audit checkpoint signing v1", hashlib.sha256).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def public_key_of(secret: bytes) -> str:
    """The base64 Ed25519 public key that verifies checkpoints signed with ``secret``."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _signing_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _b64(raw)


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement about the chain (``signature`` empty until signed)."""

    events: int
    head_hash: str
    keyed_from: int
    time: str
    public_key: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """What the signature covers: every field but the signature, canonically."""
        body = asdict(self)
        body.pop("signature")
        return canonical_json({"format": FORMAT, **body}).encode("utf-8")

    def to_text(self) -> str:
        """One line of JSON, short enough to paste into a ticket."""
        return canonical_json({"format": FORMAT, **asdict(self)}) + "\n"

    @classmethod
    def parse(cls, text: str, source: str = "checkpoint") -> Checkpoint:
        """Read a checkpoint written by :meth:`to_text`; malformed input names what is wrong."""
        hint = "pass the text 'aims audit checkpoint' wrote, unchanged"
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{source} is not JSON ({exc.msg}); {hint}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidInput(f"{source} is not an aims audit checkpoint ({FORMAT}); {hint}")
        want = {"events": int, "head_hash": str, "keyed_from": int, "time": str}
        want |= {"public_key": str, "signature": str}
        for name, kind in want.items():
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidInput(f"{source}: field {name!r} is missing or not {kind.__name__}")
        if data["events"] < 0 or data["keyed_from"] < 1:
            raise InvalidInput(f"{source}: 'events' or 'keyed_from' is out of range")
        return cls(**{name: data[name] for name in want})


def sign(checkpoint: Checkpoint, secret: bytes) -> Checkpoint:
    """``checkpoint`` with its public key and an Ed25519 signature made from ``secret``."""
    cp = replace(checkpoint, public_key=public_key_of(secret), signature="")
    return replace(cp, signature=_b64(_signing_key(secret).sign(cp.signed_bytes())))


def sign_bytes(data: bytes, secret: bytes) -> str:
    """A base64 Ed25519 signature of ``data`` with the checkpoint key of ``secret`` (used to
    seal evidence packs with the same key that signs the checkpoint inside them)."""
    return _b64(_signing_key(secret).sign(data))


def signature_valid(data: bytes, signature: str, public_key: str) -> bool:
    """Whether ``signature`` (base64) is ``public_key``'s Ed25519 signature of ``data``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signature(checkpoint: Checkpoint, trusted_public_key: str) -> ChainProblem | None:
    """``None`` when ``trusted_public_key`` signed ``checkpoint``; else what is wrong.

    The key written inside the checkpoint is never trusted by itself: anyone
    can sign a statement with a key of their own.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(trusted_public_key))
        public.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return ChainProblem(
            "bad-signature",
            checkpoint.events,
            "the checkpoint's signature does not verify with the workspace's audit public key "
            f"({trusted_public_key[:12]}...): it was altered, or signed with another key",
        )
    return None


@dataclass(frozen=True)
class StoreFacts:
    """What the store says now, as far as a checkpoint comparison needs it."""

    n_events: int
    head_seq: int
    last_seq: int
    hash_at_checkpoint: str | None  # hash of the event at the checkpoint's position
    keyed_from: int


def compare(checkpoint: Checkpoint, now: StoreFacts) -> ChainProblem | None:
    """``None`` when the stored chain still extends ``checkpoint``; else the case, named.

    >>> cp = Checkpoint(3, "ab" * 32, 1, "2026-01-01T00:00:00+00:00", "")
    >>> compare(cp, StoreFacts(0, 0, 0, None, 1)).kind
    'wiped'
    >>> compare(cp, StoreFacts(5, 5, 5, "ab" * 32, 1)) is None
    True
    """
    n = checkpoint.events
    said = f"the checkpoint of {checkpoint.time} saw {n} event(s)"
    if n == 0:
        return None
    if now.n_events == 0:
        return ChainProblem("wiped", 1, f"{said}; the store holds none: the audit log was wiped")
    if now.hash_at_checkpoint is None:
        if now.head_seq >= n:
            return ChainProblem(
                "truncated",
                min(now.last_seq + 1, n),
                f"{said}; the store's events end at #{now.last_seq} although its head row "
                f"still names #{now.head_seq}: events at the end were deleted (truncation)",
            )
        return ChainProblem(
            "rolled-back",
            now.head_seq + 1,
            f"{said}; the store's chain ends at #{now.head_seq}: the head was rolled back "
            f"(events #{now.head_seq + 1}-#{n} deleted, or an older backup restored)",
        )
    if now.hash_at_checkpoint != checkpoint.head_hash:
        return ChainProblem(
            "rewritten",
            n,
            f"{said}; event #{n} now has another hash: the chain up to #{n} was rewritten "
            "(an event edited and the chain re-hashed, or a rollback followed by new events)",
        )
    if now.keyed_from != checkpoint.keyed_from:
        return ChainProblem(
            "rewritten",
            min(now.keyed_from, checkpoint.keyed_from),
            f"{said} keyed from #{checkpoint.keyed_from}; the store now says keyed from "
            f"#{now.keyed_from}: the switch to keyed hashes was moved",
        )
    return None

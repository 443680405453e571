"""Compact, exact serialisation of profiles: JSON for people, msgpack for storage.

Both formats round-trip exactly: integers stay integers and floats are written
with enough digits (JSON) or as IEEE doubles (msgpack) to come back bit for
bit. Core histogram counts are stored without their leading and trailing
empty bins.
"""

from __future__ import annotations

import json
from typing import Literal

import msgpack

from aims.core.profile.frame import FrameProfile
from aims.errors import InvalidInput

__all__ = ["Encoding", "dumps", "loads"]

Encoding = Literal["json", "msgpack"]


def dumps(profile: FrameProfile, encoding: Encoding = "msgpack") -> bytes:
    """Serialise ``profile`` to bytes.

    Examples
    --------
    >>> import polars as pl
    >>> from aims.core.profile import profile
    >>> p = profile(pl.DataFrame({"x": [0.5, 1.5]}))
    >>> loads(dumps(p)).to_dict() == p.to_dict()
    True
    """
    data = profile.to_dict()
    if encoding == "json":
        return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
    if encoding == "msgpack":
        packed: bytes = msgpack.packb(data, use_bin_type=True)
        return packed
    raise InvalidInput(f"unknown profile encoding {encoding!r}; use 'json' or 'msgpack'")


def loads(data: bytes) -> FrameProfile:
    """Read a profile written by :func:`dumps` (the encoding is detected)."""
    if not data:
        raise InvalidInput("empty profile data")
    try:
        if data[:1] in (b"{", b" ", b"\n"):
            obj = json.loads(data)
        else:
            obj = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.exceptions.ExtraData) as exc:
        raise InvalidInput(f"cannot read profile data: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidInput("profile data is not a mapping")
    return FrameProfile.from_dict(obj)

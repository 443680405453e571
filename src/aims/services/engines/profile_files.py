"""Profile files: a profile written to a local path or an fsspec URL, and read back.

The content is the profile format of :mod:`aims.core.profile.codec`
(``"aims_profile": 1``; documented in docs/scale.md): JSON when the name ends
in ``.json``, msgpack otherwise. A path is taken for a profile file when its
suffix is not one of the data formats aims reads.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from aims.core import frames
from aims.core.profile import FrameProfile, dumps, loads
from aims.core.profile.codec import Encoding
from aims.errors import InvalidInput, NotFound

__all__ = ["PROFILE_SUFFIXES", "is_profile_path", "read_profile", "write_profile"]

PROFILE_SUFFIXES = frozenset({".profile", ".json", ".msgpack"})
"""The suffixes profile files are written with (docs/scale.md); any other file that is not
data is told it has an unsupported type."""


def is_profile_path(path: str) -> bool:
    """Whether ``path`` names a profile file rather than data (by its suffix)."""
    suffix = PurePosixPath(path.rstrip("/")).suffix.lower()
    return bool(suffix) and suffix not in frames.SUFFIXES


def read_profile(path: str) -> FrameProfile:
    """The profile stored at ``path`` (local or fsspec URL)."""
    import fsspec

    try:
        with fsspec.open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise NotFound(f"{path}: no such profile file") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a profile file") from None
    try:
        return loads(data)
    except InvalidInput as exc:
        suffix = PurePosixPath(path.rstrip("/")).suffix.lower()
        if suffix not in PROFILE_SUFFIXES:
            # Most likely a data file of a kind aims does not read, not a broken profile.
            raise InvalidInput(
                f"{path}: unsupported file type {suffix!r}; use one of "
                f"{', '.join(sorted(frames.SUFFIXES))}, or a profile file written by "
                "aims profile DATA --out FILE.profile"
            ) from None
        raise InvalidInput(
            f"{path}: not an aims profile file ({exc}); write one with aims profile DATA --out FILE"
        ) from None


def write_profile(profile: FrameProfile, path: str) -> int:
    """Write ``profile`` to ``path`` (JSON for ``*.json``, else msgpack); return the bytes written."""
    import fsspec

    encoding: Encoding = "json" if path.lower().endswith(".json") else "msgpack"
    data = dumps(profile, encoding)
    with fsspec.open(path, "wb") as fh:
        fh.write(data)
    return len(data)

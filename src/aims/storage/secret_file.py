"""Secrets kept in files of the workspace's state folder, readable by their owner only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from aims.errors import ConfigError

__all__ = ["secret_file"]


def secret_file(path: Path, nbytes: int) -> str:
    """The secret stored in ``path``, created (mode 0600, never overwritten) when missing.

    A file other users can read is refused rather than used: a secret they
    could copy protects nothing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by other users (mode {oct(mode & 0o777)}); "
                f"run 'chmod 600 {path}'"
            ) from None
        text = path.read_text(encoding="ascii").strip()
        if not text:
            raise ConfigError(f"{path} is empty; delete it to have a new secret made") from None
        return text
    text = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text + "\n")
    return text

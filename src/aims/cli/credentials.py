"""The credentials ``aims login`` saves: the server's URL and an API key, in a file only
its owner can read.

The file is ``$XDG_CONFIG_HOME/aims/credentials.json`` (``~/.config/aims/`` when
the variable is unset), written with mode 0600 in a folder of mode 0700. An API
key is a password: a file that other users can read is refused rather than
used, so a key that leaked through a careless ``chmod`` stops working for the
CLI until its owner notices.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aims.errors import ConfigError

__all__ = ["Credentials", "credentials_path", "forget", "load", "save"]

FILE_NAME = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    """Where the CLI acts in remote mode, and with which key."""

    url: str
    """The server's base URL, e.g. ``https://aims.example.org``."""
    api_key: str
    """An API key of the principal who acts (exchanged for short-lived tokens)."""
    source: str
    """Where these came from, for messages: ``AIMS_URL`` or the credentials file's path."""
    oidc: dict[str, Any] | None = None
    """What a single-sign-on login saved instead of a key (its tokens come from the
    identity provider, see :func:`aims.cli.remote.Remote.session`); None for a key."""


def credentials_path() -> Path:
    """The credentials file: under ``$XDG_CONFIG_HOME``, else ``~/.config``."""
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "aims" / FILE_NAME


def _check_private(path: Path) -> None:
    """Refuse a credentials file that its group or other users can read or write."""
    if os.name == "nt":  # POSIX modes mean nothing there; the profile folder is private
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} can be read by other users (mode {mode:04o}) and holds an API key; "
            f"make it private with chmod 600 {path} (and replace the key if others could "
            "have read it), or run aims login again"
        )


def load() -> Credentials | None:
    """The saved credentials, or None when ``aims login`` has not saved any."""
    path = credentials_path()
    if not path.is_file():
        return None
    _check_private(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        url, key, oidc = doc["url"], doc.get("api_key") or "", doc.get("oidc")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"{path} is not a credentials file aims can read; run aims login URL again "
            "(or aims logout to remove it)"
        ) from None
    if not isinstance(url, str) or not url or not isinstance(key, str) or not (key or oidc):
        raise ConfigError(f"{path} lacks a URL or a key; run aims login URL again")
    return Credentials(url, key, str(path), oidc if isinstance(oidc, dict) else None)


def save(url: str, api_key: str = "", *, oidc: dict[str, Any] | None = None) -> Path:
    """Write ``url`` and ``api_key`` (or a single-sign-on login's ``oidc`` state) to the
    credentials file (mode 0600); returns its path.

    The file is written beside its final place and renamed over it, so a
    crash never leaves half a file, and it never exists with a wider mode.
    """
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            doc: dict[str, Any] = {"url": url, "api_key": api_key}
            if oidc is not None:
                doc["oidc"] = oidc
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.chmod(temp, 0o600)  # O_CREAT's mode is narrowed by umask, never widened; be sure
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def forget() -> Path | None:
    """Remove the credentials file; returns its path, or None when there was none."""
    path = credentials_path()
    if not path.exists():
        return None
    path.unlink()
    return path

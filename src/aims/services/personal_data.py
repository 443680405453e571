"""The salt that hashes personal data before it is stored.

The server hashes personal-data fields (and hashed business keys) with it
before logging a prediction, and the label service hashes the keys of late
labels with the same salt so that they still meet their predictions. It lives
here, below both interfaces, because the HTTP server and the command line
both need it.
"""

from __future__ import annotations

import os

from aims.storage.secret_file import secret_file
from aims.workspace import Workspace

__all__ = ["SALT_ENV", "pii_salt"]

SALT_ENV = "AIMS_PII_SALT"


def pii_salt(ws: Workspace) -> str:
    """The salt that hashes personal data: ``$AIMS_PII_SALT``, else ``.aims/pii.salt`` (0600)."""
    env = os.environ.get(SALT_ENV, "")
    if env:
        return env
    ws.settings.state_dir.mkdir(parents=True, exist_ok=True)
    return secret_file(ws.settings.state_dir / "pii.salt", 24)

from __future__ import annotations

import os
import stat

import pytest

from aims.errors import ConfigError
from aims.server.config import ServerConfig, pii_salt, token_secret


def test_defaults_and_overrides() -> None:
    assert ServerConfig.from_mapping(None).token_ttl_seconds == 900
    cfg = ServerConfig.from_mapping({"max_records": 50, "flush_interval": 0.25})
    assert (cfg.max_records, cfg.flush_interval) == (50, 0.25)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_recrods": 5}, "unknown key"),
        ({"max_records": 2.5}, "positive integer"),
        ({"flush_interval": 0}, "positive number"),
        ({"rate_limit": "fast"}, "positive number"),
        ({"rate_limit": True}, "positive number"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_settings_are_named(section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig.from_mapping(section)


def test_secrets_are_created_private_and_kept(workspace, monkeypatch) -> None:
    monkeypatch.delenv("AIMS_SERVER_SECRET", raising=False)
    monkeypatch.delenv("AIMS_PII_SALT", raising=False)
    first = token_secret(workspace)
    assert len(first) >= 32 and token_secret(workspace) == first
    path = workspace.settings.state_dir / "server.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pii_salt(workspace) != first.decode()
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        token_secret(workspace)
    monkeypatch.setenv("AIMS_SERVER_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        token_secret(workspace)
    monkeypatch.setenv("AIMS_SERVER_SECRET", "x" * 40)
    assert token_secret(workspace) == b"x" * 40

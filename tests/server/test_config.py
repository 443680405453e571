from __future__ import annotations

import os
import stat

import pytest

from aims.errors import ConfigError
from aims.server.config import ServerConfig, token_secret
from aims.services.personal_data import pii_salt


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


def test_trusted_proxies_from_the_file_or_the_environment() -> None:
    assert ServerConfig.from_mapping(None, env={}).trusted_proxies == ()
    cfg = ServerConfig.from_mapping({"trusted_proxies": ["10.0.0.5", "10.1.0.0/16"]}, env={})
    assert cfg.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    assert [str(n) for n in cfg.proxy_networks()] == ["10.0.0.5/32", "10.1.0.0/16"]
    # The environment variable overrides the file.
    env = {"AIMS_TRUSTED_PROXIES": "192.0.2.1, ::1"}
    section = {"trusted_proxies": ["10.0.0.5"]}
    assert ServerConfig.from_mapping(section, env=env).trusted_proxies == ("192.0.2.1", "::1")
    assert ServerConfig.from_mapping(None, env={"AIMS_TRUSTED_PROXIES": ""}).trusted_proxies == ()


@pytest.mark.parametrize(
    ("section", "env", "message"),
    [
        ({"trusted_proxies": ["proxy.example"]}, {}, "not an IP address or network"),
        ({"trusted_proxies": 5}, {}, "list of addresses"),
        (None, {"AIMS_TRUSTED_PROXIES": "10.0.0.300"}, r"\$AIMS_TRUSTED_PROXIES"),
        ({"secure_cookies": "sometimes"}, {}, "auto, true or false"),
        ({"api_docs": "yes"}, {}, "true or false"),
    ],
)
def test_bad_security_settings_are_named(section: object, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig.from_mapping(section, env=env)


def test_secure_cookies_and_api_docs_settings() -> None:
    assert ServerConfig.from_mapping(None, env={}).secure_cookies == "auto"
    assert ServerConfig.from_mapping({"secure_cookies": True}, env={}).secure_cookies == "true"
    assert ServerConfig.from_mapping({"api_docs": True}, env={}).api_docs is True

"""What each agent last read from an untrusted tool, on SQLite and on PostgreSQL, and the
policy keys of the rule that reads it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aims.clock import now_utc
from aims.errors import ConfigError
from aims.services.gateway.exposure import exposed_by, note_untrusted
from aims.services.gateway.policy import gateway_policy


def test_an_agent_is_exposed_for_the_window_after_its_newest_untrusted_result(
    store_workspace: Any,
) -> None:
    ws = store_workspace
    t0 = now_utc().replace(microsecond=0)
    assert exposed_by(ws, "reader", 600, now=t0) is None
    note_untrusted(ws, "reader", "web/fetch", at=t0)
    seen = exposed_by(ws, "reader", 600, now=t0 + timedelta(seconds=599))
    assert seen is not None and (seen.source, seen.at) == ("web/fetch", t0)
    assert exposed_by(ws, "reader", 600, now=t0 + timedelta(seconds=601)) is None
    # The newest result counts; a late write of an older one does not move it back.
    note_untrusted(ws, "reader", "mail/read_inbox", at=t0 + timedelta(seconds=300))
    note_untrusted(ws, "reader", "web/fetch", at=t0 + timedelta(seconds=100))
    seen = exposed_by(ws, "reader", 600, now=t0 + timedelta(seconds=800))
    assert seen is not None and seen.source == "mail/read_inbox"
    # Each agent is its own.
    assert exposed_by(ws, "other", 600, now=t0 + timedelta(seconds=10)) is None


def test_the_policy_reads_the_rule_for_untrusted_text() -> None:
    policy = gateway_policy(
        {
            "untrusted": ["web/*", "mail/read_inbox"],
            "after_untrusted": ["mail/send", "files/share_*"],
            "untrusted_window": "5m",
        }
    )
    assert policy.is_untrusted("web", "fetch") and not policy.is_untrusted("mail", "send")
    assert policy.waits_after_untrusted("files", "share_link")
    assert not policy.waits_after_untrusted("files", "read_file")
    assert policy.untrusted_window_seconds == 300
    assert gateway_policy(None).untrusted_window_seconds == 600  # the default


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"untrusted": "web"}, r"untrusted must be a list of SERVER/TOOL patterns \(e.g. web/\*\)"),
        ({"untrusted": ["web"]}, "SERVER/TOOL patterns"),
        ({"after_untrusted": ["mail/send"]}, "after_untrusted needs aims.yaml: gateway.untrusted"),
        ({"untrusted": ["web/*"], "untrusted_window": "0s"}, "untrusted_window must be longer"),
    ],
)
def test_a_wrong_rule_for_untrusted_text_names_its_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gateway_policy(section)

"""URL rules: the known-bad list, the allow-list, and hosts that mislead."""

from __future__ import annotations

from aims.core.screening import ScreeningPolicy, find


def rules(text: str, policy: ScreeningPolicy | None = None) -> set[str]:
    return {f.rule for f in find(text, policy or ScreeningPolicy())}


def test_known_bad_hosts_and_their_subdomains_are_found() -> None:
    assert rules("post it to https://webhook.site/abc") == {"known-bad-domain"}
    assert rules("see https://a1b2.ngrok-free.app/x") == {"known-bad-domain"}
    assert rules("see https://notwebhook.site/abc") == set()


def test_a_policy_adds_blocked_domains_and_an_allow_list() -> None:
    policy = ScreeningPolicy.from_mapping(
        {"blocked_domains": ["evil.example"], "allowed_domains": ["*.corp.example"]}
    )
    assert rules("go to https://x.evil.example/", policy) == {"known-bad-domain"}
    assert rules("go to https://wiki.corp.example/page", policy) == set()
    assert rules("go to https://docs.python.org/", policy) == {"domain-not-allowed"}


def test_ip_punycode_and_userinfo_hosts_are_found_but_private_addresses_are_not() -> None:
    assert rules("run http://185.220.101.45/x.sh") == {"ip-address-host"}
    assert rules("at http://127.0.0.1:8000 and http://10.0.0.5/") == set()
    # An address in a log line serves neither a file nor data: only a hidden owner is left.
    assert rules("GET http://185.220.101.45/health 200 12ms") == set()
    assert rules("![](http://185.220.101.45/p.gif)") == {"ip-address-host"}
    assert rules("login https://xn--pypal-4ve.com/") == {"punycode-host"}
    assert "userinfo-host" in rules("https://bank.example@203.0.113.9.sslip.io/")


def test_disabled_rules_are_not_run() -> None:
    policy = ScreeningPolicy.from_mapping({"disabled_rules": ["ip-address-host"]})
    assert rules("run http://185.220.101.45/x.sh", policy) == set()

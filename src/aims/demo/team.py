"""The demo's team: who plays which part, and the files they write before the first release."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aims.demo.agents_upstream import configure_gateway
from aims.demo.traffic import GRACE_SECONDS, WINDOW_SECONDS

SCIENTIST = "ana@example.org"
ENGINEER = "raj@example.org"
APPROVER = "bo@example.org"
RISK_OFFICER = "risk@example.org"
MONITORING = "ml-oncall@example.org"


def configure(root: Path) -> None:
    """Edit aims.yaml as the demo team would: people's roles, and one policy choice."""
    import yaml

    config = root / "aims.yaml"
    data = yaml.safe_load(config.read_text())
    data["people"] = {APPROVER: ["approver"], RISK_OFFICER: ["approver"], ENGINEER: ["operator"]}
    configure_gateway(data)  # the agent chapter's rule for calls after untrusted text
    # Flight data holds no protected attribute, so the fairness gate cannot be
    # measured; the team records that choice in the policy instead of skipping it.
    for gate in data["policy"]["tiers"]["high"]["gates"]:
        if gate["metric"].startswith("fairness."):
            gate["required"] = False
        if gate["metric"] == "accuracy" and "no_worse_than_production" in gate:
            gate["no_worse_than_production"] = 0.005  # a retrain may trade half a point
    # Short windows so a month of 2013 traffic passes in one window of real time.
    data["monitor"] = {
        "window": f"{WINDOW_SECONDS}s",
        "grace": f"{GRACE_SECONDS}s",
        "lookback": "1d",
    }
    data["policy"]["monitoring"] = {
        "triggers": [
            {
                "name": "seasonal_drift",
                "when": "psi > 0.04 on >= 1 features for 2 consecutive windows",
                "severity": "high",
                "actions": ["retrain"],
            }
        ],
        "retrain": {"entry_point": "aims.demo.traffic:retrain"},
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def write_risk(folder: Path) -> Path:
    import datetime as dt

    import yaml

    today = dt.date.today()
    doc = {
        "intended_use": "Warn the operations desk, at departure, which flights will arrive "
        "more than 15 minutes late, so connections and gates can be re-planned.",
        "out_of_scope": ["decisions about individual passengers", "airports outside New York"],
        "risk_tier": "high",
        "tier_rationale": "Errors reach thousands of passengers' connections each day.",
        "failure_modes": [
            {
                "name": "seasonal drift",
                "description": "summer storms change delay patterns",
                "likelihood": "likely",
                "impact": "moderate",
            },
            {
                "name": "upstream feed outage",
                "description": "departure delays arrive empty",
                "likelihood": "possible",
                "impact": "major",
            },
        ],
        "data_dependencies": ["nycflights13 departures feed (dep_delay, schedule)"],
        "downstream_impact": "Missed re-planning: passengers miss connections; crews time out.",
        "mitigations": ["hourly drift and data-health monitoring", "automatic rollback"],
        "residual_risk": "medium",
        "reviewer": RISK_OFFICER,
        "assessed_on": today.isoformat(),
        "next_review": (today + dt.timedelta(days=90)).isoformat(),
    }
    path = folder / "risk.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Run a block as ``actor`` (what ``AIMS_USER`` would set for a real person)."""
    old = os.environ.get("AIMS_USER")
    os.environ["AIMS_USER"] = actor
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AIMS_USER", None)
        else:
            os.environ["AIMS_USER"] = old

"""The commands that make up ``aims``, each imported only when it is needed."""

from __future__ import annotations

import importlib

import typer

COMMANDS: list[tuple[str, str, str]] = [
    ("init", "registry", "init"),
    ("login", "login", "login"),
    ("logout", "login", "logout"),
    ("whoami", "login", "whoami"),
    ("dataset", "registry", "dataset_app"),
    ("model", "registry", "model_app"),
    ("lineage", "registry", "lineage"),
    ("evaluate", "governance", "evaluate"),
    ("risk", "governance", "risk_app"),
    ("approve", "governance", "approve"),
    ("gates", "governance", "gates"),
    ("card", "governance", "card"),
    ("promote", "lifecycle", "promote"),
    ("rollback", "lifecycle", "rollback"),
    ("history", "lifecycle", "history"),
    ("promotion-requests", "promotion_requests", "promotion_requests_app"),
    ("import", "imports", "import_app"),
    ("serve", "serve", "serve"),
    ("keys", "keys", "app"),
    ("principals", "principals", "principals_app"),
    ("grant", "principals", "grant"),
    ("revoke-grant", "principals", "revoke_grant"),
    ("team", "principals", "team_app"),
    ("elevate", "elevation", "elevate"),
    ("elevation", "elevation", "elevation_app"),
    ("access", "access", "access_app"),
    ("log", "predlog", "log_app"),
    ("labels", "predlog", "labels_app"),
    ("traces", "traces", "traces_app"),
    ("monitor", "monitor", "monitor_app"),
    ("incidents", "monitor", "incidents_app"),
    ("audit", "audit", "app"),
    ("report", "report", "report_app"),
    ("evidence", "evidence", "evidence_app"),
    ("soa", "applicability", "soa_app"),
    ("review", "evidence", "review_app"),
    ("drift", "drift", "drift"),
    ("profile", "profile", "profile"),
    ("contract", "contract", "app"),
    ("gateway", "gateway", "gateway_app"),
    ("demo", "demo", "demo"),
]
"""Every top-level command or group: its name, its module under ``aims.cli`` and the
function or Typer group there. The order is ``aims --help``'s."""

NAMES = frozenset(name for name, _, _ in COMMANDS)


def _attach(app: typer.Typer, name: str, module: str, attribute: str) -> None:
    found = getattr(importlib.import_module(f"aims.cli.{module}"), attribute)
    if isinstance(found, typer.Typer):
        if name == "report":
            # the evidence pack's commands live beside the report's (their own module)
            importlib.import_module("aims.cli.report_pack").register(found)
        app.add_typer(found, name=name)
    else:
        app.command(name)(found)


def register(app: typer.Typer, only: str | None = None, done: set[str] | None = None) -> None:
    """Attach the commands to ``app`` (just ``only``, when it names one), skipping those in
    ``done``, and add what was attached to ``done``.

    A run of one command imports that command's module alone: the modules of all of
    them (and Typer's reading of their signatures) cost about 0.1 s per run.
    """
    done = set() if done is None else done
    for name, module, attribute in COMMANDS:
        if name not in done and (only is None or name == only):
            _attach(app, name, module, attribute)
            done.add(name)

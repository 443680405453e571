"""The commands that make up ``aims``, each imported only when it is needed."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

import typer


def _m(name: str) -> ModuleType:
    return importlib.import_module(f"aims.cli.{name}")


def _report(app: typer.Typer) -> None:
    report = _m("report")
    _m("report_pack").register(report.report_app)
    app.add_typer(report.report_app, name="report")


COMMANDS: list[tuple[str, Callable[[typer.Typer], None]]] = [
    ("init", lambda app: app.command("init")(_m("registry").init)),
    ("login", lambda app: app.command("login")(_m("login").login)),
    ("logout", lambda app: app.command("logout")(_m("login").logout)),
    ("whoami", lambda app: app.command("whoami")(_m("login").whoami)),
    ("dataset", lambda app: app.add_typer(_m("registry").dataset_app, name="dataset")),
    ("model", lambda app: app.add_typer(_m("registry").model_app, name="model")),
    ("lineage", lambda app: app.command("lineage")(_m("registry").lineage)),
    ("evaluate", lambda app: app.command("evaluate")(_m("governance").evaluate)),
    ("risk", lambda app: app.add_typer(_m("governance").risk_app, name="risk")),
    ("approve", lambda app: app.command("approve")(_m("governance").approve)),
    ("gates", lambda app: app.command("gates")(_m("governance").gates)),
    ("card", lambda app: app.command("card")(_m("governance").card)),
    ("promote", lambda app: app.command("promote")(_m("lifecycle").promote)),
    ("rollback", lambda app: app.command("rollback")(_m("lifecycle").rollback)),
    ("history", lambda app: app.command("history")(_m("lifecycle").history)),
    (
        "promotion-requests",
        lambda app: app.add_typer(
            _m("promotion_requests").promotion_requests_app, name="promotion-requests"
        ),
    ),
    ("import", lambda app: app.add_typer(_m("imports").import_app, name="import")),
    ("serve", lambda app: app.command("serve")(_m("serve").serve)),
    ("keys", lambda app: app.add_typer(_m("keys").app, name="keys")),
    ("principals", lambda app: app.add_typer(_m("principals").principals_app, name="principals")),
    ("grant", lambda app: app.command("grant")(_m("principals").grant)),
    ("revoke-grant", lambda app: app.command("revoke-grant")(_m("principals").revoke_grant)),
    ("team", lambda app: app.add_typer(_m("principals").team_app, name="team")),
    ("elevate", lambda app: app.command("elevate")(_m("elevation").elevate)),
    ("elevation", lambda app: app.add_typer(_m("elevation").elevation_app, name="elevation")),
    ("access", lambda app: app.add_typer(_m("access").access_app, name="access")),
    ("log", lambda app: app.add_typer(_m("predlog").log_app, name="log")),
    ("labels", lambda app: app.add_typer(_m("predlog").labels_app, name="labels")),
    ("traces", lambda app: app.add_typer(_m("traces").traces_app, name="traces")),
    ("monitor", lambda app: app.add_typer(_m("monitor").monitor_app, name="monitor")),
    ("incidents", lambda app: app.add_typer(_m("monitor").incidents_app, name="incidents")),
    ("audit", lambda app: app.add_typer(_m("audit").app, name="audit")),
    ("report", _report),
    ("evidence", lambda app: app.add_typer(_m("evidence").evidence_app, name="evidence")),
    ("soa", lambda app: app.add_typer(_m("applicability").soa_app, name="soa")),
    ("review", lambda app: app.add_typer(_m("evidence").review_app, name="review")),
    ("drift", lambda app: app.command("drift")(_m("drift").drift)),
    ("profile", lambda app: app.command("profile")(_m("profile").profile)),
    ("contract", lambda app: app.add_typer(_m("contract").app, name="contract")),
    ("gateway", lambda app: app.add_typer(_m("gateway").gateway_app, name="gateway")),
    ("demo", lambda app: app.command("demo")(_m("demo").demo)),
]
"""Every top-level command or group and how to attach it; the order is ``aims --help``'s."""

NAMES = frozenset(name for name, _ in COMMANDS)


def register(app: typer.Typer, only: str | None = None, done: set[str] | None = None) -> None:
    """Attach the commands to ``app`` (just ``only``, when it names one), skipping those in
    ``done``, and add what was attached to ``done``.

    A run of one command imports that command's module alone: the modules of all of
    them (and Typer's reading of their signatures) cost about 0.1 s per run.
    """
    done = set() if done is None else done
    for name, attach in COMMANDS:
        if name not in done and (only is None or name == only):
            attach(app)
            done.add(name)

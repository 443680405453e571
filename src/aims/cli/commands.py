"""The list of command modules that make up ``aims``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach every command group and command to ``app``; order is ``aims --help`` order."""
    from aims.cli import (
        access,
        applicability,
        audit,
        contract,
        demo,
        drift,
        elevation,
        evidence,
        gateway,
        governance,
        imports,
        keys,
        lifecycle,
        login,
        monitor,
        predlog,
        principals,
        profile,
        promotion_requests,
        registry,
        report,
        report_pack,
        serve,
        traces,
    )

    app.command("init")(registry.init)
    app.command("login")(login.login)
    app.command("logout")(login.logout)
    app.command("whoami")(login.whoami)
    app.add_typer(registry.dataset_app, name="dataset")
    app.add_typer(registry.model_app, name="model")
    app.command("lineage")(registry.lineage)
    app.command("evaluate")(governance.evaluate)
    app.add_typer(governance.risk_app, name="risk")
    app.command("approve")(governance.approve)
    app.command("gates")(governance.gates)
    app.command("card")(governance.card)
    app.command("promote")(lifecycle.promote)
    app.command("rollback")(lifecycle.rollback)
    app.command("history")(lifecycle.history)
    app.add_typer(promotion_requests.promotion_requests_app, name="promotion-requests")
    app.add_typer(imports.import_app, name="import")
    app.command("serve")(serve.serve)
    app.add_typer(keys.app, name="keys")
    app.add_typer(principals.principals_app, name="principals")
    app.command("grant")(principals.grant)
    app.command("revoke-grant")(principals.revoke_grant)
    app.add_typer(principals.team_app, name="team")
    app.command("elevate")(elevation.elevate)
    app.add_typer(elevation.elevation_app, name="elevation")
    app.add_typer(access.access_app, name="access")
    app.add_typer(predlog.log_app, name="log")
    app.add_typer(predlog.labels_app, name="labels")
    app.add_typer(traces.traces_app, name="traces")
    app.add_typer(monitor.monitor_app, name="monitor")
    app.add_typer(monitor.incidents_app, name="incidents")
    app.add_typer(audit.app, name="audit")
    report_pack.register(report.report_app)
    app.add_typer(report.report_app, name="report")
    app.add_typer(evidence.evidence_app, name="evidence")
    app.add_typer(applicability.soa_app, name="soa")
    app.add_typer(evidence.review_app, name="review")
    app.command("drift")(drift.drift)
    app.command("profile")(profile.profile)
    app.add_typer(contract.app, name="contract")
    app.add_typer(gateway.gateway_app, name="gateway")
    app.command("demo")(demo.demo)

"""The demo's story from the first dataset to the evidence report, told step by step."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from aims.demo import data as demo_data
from aims.demo.agents import agents_chapter
from aims.demo.llm import llm_chapter
from aims.demo.production import production_phase
from aims.demo.team import (
    APPROVER,
    ENGINEER,
    MONITORING,
    RISK_OFFICER,
    SCIENTIST,
    acting_as,
    configure,
    write_risk,
)
from aims.demo.team_api import team_act
from aims.demo.traffic import MODEL


def run(
    folder: Path | None = None, console: Console | None = None, keep_serving: bool = False
) -> dict:
    """Run the demo in ``folder`` (a new temporary folder by default); return a summary."""
    from skops.io import dump

    from aims.errors import GateFailed, PermissionDenied
    from aims.services import audit, governance, lifecycle, registry
    from aims.services.card import write_card
    from aims.workspace import Workspace, init_workspace

    out = console or Console()
    started = time.perf_counter()
    root = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="aims-demo-"))
    init_workspace(root)
    ws = Workspace.open(root)
    out.rule("[bold]aims demo")
    out.print(f"workspace: {root}")

    data = demo_data.flights()
    files = root / "data"
    files.mkdir()
    train1 = demo_data.months(data, 1, 2)
    train2 = demo_data.months(data, 1, 4)
    train1.write_parquet(files / "flights_jan_feb.parquet")
    train2.write_parquet(files / "flights_jan_apr.parquet")
    steps: list[str] = []

    def step(text: str) -> None:
        steps.append(text)
        out.print(f"[green]✓[/green] {escape(text)}")

    with acting_as(SCIENTIST):
        d1, _ = registry.register_dataset(
            ws, files / "flights_jan_feb.parquet", "flights", actor=SCIENTIST
        )
        again, created = registry.register_dataset(
            ws, files / "flights_jan_feb.parquet", "flights", actor=SCIENTIST
        )
        step(
            f"registered dataset flights@{d1['version']} ({d1['row_count']:,} flights, Jan-Feb 2013);"
            f" registering it again gives flights@{again['version']} (created={created})"
        )
        d2, _ = registry.register_dataset(
            ws, files / "flights_jan_apr.parquet", "flights", actor=SCIENTIST
        )
        step(f"registered dataset flights@{d2['version']} ({d2['row_count']:,} flights, Jan-Apr)")

        models = root / "models"
        models.mkdir()
        dump(demo_data.train(train1), models / "delay_v1.skops")
        v1 = registry.register_model(
            ws,
            models / "delay_v1.skops",
            "flight-delay",
            actor=SCIENTIST,
            datasets=[f"flights@{d1['version']}"],
            owners={"development": SCIENTIST, "business": "ops-lead@example.org"},
        )
        step(
            f"registered model flight-delay@{v1['version']} ({v1['flavour']}, trained on flights@1)"
        )
        dump(demo_data.train(train2, seed=1), models / "delay_v2.skops")
        v2 = registry.register_model(
            ws,
            models / "delay_v2.skops",
            "flight-delay",
            actor=SCIENTIST,
            datasets=[f"flights@{d2['version']}"],
            tags={"retrained_from": "1"},
        )
        step(f"registered model flight-delay@{v2['version']} (retrained on flights@2)")

    configure(root)
    ws.close()
    ws = Workspace.open(root)  # settings are read once per open
    holdout = files / "flights_may.parquet"
    demo_data.months(data, 5, 5).write_parquet(holdout)
    risk_file = write_risk(files)

    with acting_as(ENGINEER):
        try:
            lifecycle.promote(ws, "flight-delay@1", "production", actor=ENGINEER)
        except GateFailed as exc:  # the demo shows the refusal, then meets each rule
            step(
                f"promotion refused by policy, {len(exc.rules)} unmet rules: {', '.join(exc.rules)}"
            )
        registry.set_owners(
            ws, "flight-delay", {"deployment": ENGINEER, "monitoring": MONITORING}, actor=ENGINEER
        )
        step("set deployment and monitoring owners")
    with acting_as(RISK_OFFICER):
        risk = governance.assess_risk(ws, "flight-delay", risk_file, actor=RISK_OFFICER)
        step(f"risk assessed: tier {risk['tier']}, next review {risk['next_review']}")
    with acting_as(SCIENTIST):
        ev1 = governance.evaluate(
            ws,
            "flight-delay@1",
            holdout,
            actor=SCIENTIST,
            label=demo_data.LABEL,
        )["evaluation"]["metrics"]
        step(
            f"evaluated flight-delay@1 on May: accuracy {ev1['accuracy']:.3f}, "
            f"ROC AUC {ev1['roc_auc']:.3f}, ECE {ev1['ece']:.3f}"
        )
        try:
            governance.approve(ws, "flight-delay@1", actor=SCIENTIST)
        except PermissionDenied:
            step("self-approval refused (four-eyes rule) and audited")
    for approver in (APPROVER, RISK_OFFICER):
        with acting_as(approver):
            governance.approve(ws, "flight-delay@1", actor=approver, note="reviewed evaluation")
    step(f"approved by {APPROVER} and {RISK_OFFICER}")
    with acting_as(ENGINEER):
        lifecycle.promote(
            ws, "flight-delay@1", "production", actor=ENGINEER, reason="first release"
        )
        step("promoted flight-delay@1 to production through the gates")
    with acting_as(SCIENTIST):
        second = governance.evaluate(
            ws,
            "flight-delay@2",
            holdout,
            actor=SCIENTIST,
            label=demo_data.LABEL,
        )
        ev2 = second["evaluation"]["metrics"]
        step(
            f"evaluated flight-delay@2 beside production v1 on the same data: accuracy "
            f"{ev2['accuracy']:.3f} vs {ev1['accuracy']:.3f}"
        )
    for approver in (APPROVER, RISK_OFFICER):
        with acting_as(approver):
            governance.approve(ws, "flight-delay@2", actor=approver, note="better on May")
    with acting_as(ENGINEER):
        lifecycle.promote(
            ws, "flight-delay@2", "production", actor=ENGINEER, reason="retrained on Jan-Apr"
        )
        step("promoted flight-delay@2 to production (v1 archived)")
        rolled = lifecycle.rollback(ws, "flight-delay", actor=ENGINEER, reason="demo rollback")
        step(f"rolled back: flight-delay@{rolled['version']} is in production again")
    card_files = write_card(ws, "flight-delay@1", root / "reports" / "flight-delay-v1.md")
    step(f"model card written to {card_files[0]}")

    production = production_phase(ws, root, data, step, out)
    # The same governance for an LLM application, traced into the same server.
    llm = llm_chapter(root, production["server"].url, step, out)
    # The laptop project becomes a team's: from here people and an agent act over HTTP.
    ws, server, team = team_act(ws, root, production.pop("server"), data, step, out)
    production["dashboard"] = f"{server.url}/ui/"
    agents = agents_chapter(ws, server.url, step, out, model=MODEL, version=team["version"])

    loaded = registry.load_version(ws, registry.show_version(ws, "flight-delay@production"))
    sample = demo_data.months(data, 5, 5).head(5)
    preds = loaded.predict(sample.select(demo_data.FEATURES))
    step(
        f"loaded the production model (sha256 verified) and predicted 5 May flights: {[int(p) for p in preds]}"
    )

    report = audit.verify(ws.db)
    step(f"audit chain verified: {report.n_events} events, intact={report.ok}")
    # The two things to open next come last.
    step(f"evidence report (ISO/IEC 42001 Annex A) written to {production['report']}")
    step(
        f"dashboard: {production['dashboard']} — log in with the approver key "
        f"{production['keys']['approver']} or the viewer key {production['keys']['viewer']}"
    )
    if keep_serving:
        out.print(f"[bold]dashboard:[/bold] {production['dashboard']} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    server.stop()
    ws.close()
    elapsed = time.perf_counter() - started
    out.rule(f"done in {elapsed:.1f} s")
    return {
        "workspace": str(root),
        "steps": steps,
        "audit_ok": report.ok,
        "windows": production["windows"],
        "dashboard": production["dashboard"],
        "compliance_report": production["report"],
        "keys": production["keys"],
        "team": team,
        "llm": llm,
        "agents": agents,
        "audit_events": report.n_events,
        "seconds": round(elapsed, 2),
    }

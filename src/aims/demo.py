"""``aims demo``: the whole lifecycle, end to end, in a fresh temporary workspace.

Each step calls the same services the CLI uses; nothing here is special-cased.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from aims import demo_data
from aims.demo_traffic import GRACE_SECONDS, WINDOW_SECONDS

SCIENTIST = "ana@example.org"
ENGINEER = "raj@example.org"
APPROVER = "bo@example.org"
RISK_OFFICER = "risk@example.org"
MONITORING = "ml-oncall@example.org"


def _configure(root: Path) -> None:
    """Edit aims.yaml as the demo team would: people's roles, and one policy choice."""
    import yaml

    config = root / "aims.yaml"
    data = yaml.safe_load(config.read_text())
    data["people"] = {APPROVER: ["approver"], RISK_OFFICER: ["approver"], ENGINEER: ["operator"]}
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
        "retrain": {"entry_point": "aims.demo_traffic:retrain"},
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def _write_risk(folder: Path) -> Path:
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

    _configure(root)
    ws.close()
    ws = Workspace.open(root)  # settings are read once per open
    holdout = files / "flights_may.parquet"
    demo_data.months(data, 5, 5).write_parquet(holdout)
    risk_file = _write_risk(files)

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

    production = _production_phase(ws, root, data, step, out)

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
    server = production.pop("server")
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
        "audit_events": report.n_events,
        "seconds": round(elapsed, 2),
    }


def _production_phase(ws, root: Path, data, step, out: Console) -> dict:  # type: ignore[no-untyped-def]
    """Serve v1, replay March to September as traffic, monitor window by window, act."""
    import httpx
    from rich.table import Table

    from aims import demo_traffic as traffic
    from aims.services import governance, keys, lifecycle
    from aims.services.evidence import compliance_report
    from aims.services.evidence_render import write_report
    from aims.services.monitor import run_once
    from aims.services.monitor.incidents import ack_incident, resolve_incident

    _, predictor_key = keys.create_key(
        ws, project="default", role="predictor", actor=ENGINEER, name="demo traffic"
    )
    _, viewer_key = keys.create_key(
        ws, project="default", role="viewer", actor=ENGINEER, name="dashboard viewer"
    )
    _, approver_key = keys.create_key(
        ws, project="default", role="approver", actor=ENGINEER, name="dashboard approver"
    )
    server = traffic.start_server(ws)
    step(f"serving at {server.url} (API keys created for traffic, a viewer and an approver)")
    client = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {traffic.token(server.url, predictor_key)}"},
        timeout=30,
    )
    table = Table(
        title=f"production traffic, one {traffic.WINDOW_SECONDS} s window per month of 2013"
    )
    for col in ("month", "rows", "version", "max PSI", "drifted", "accuracy", "events"):
        table.add_column(col)
    windows: list[dict] = []
    challenger = None
    opened: list[int] = []
    months = list(range(3, 10))
    first = traffic.next_window_start()
    sent_windows: list = []

    def report(prev, summary) -> None:  # type: ignore[no-untyped-def]
        nonlocal challenger
        events = []
        for i in summary.incidents_opened:
            # The model's monitoring owner takes the incident at once.
            with acting_as(MONITORING):
                ack_incident(ws, i, actor=MONITORING, note="on it: looking at the drifted features")
            opened.append(i)
            events.append(f"incident #{i} opened, acked by {MONITORING}")
        for action in summary.actions:
            new = action.get("new_version")
            if action.get("type") == "retrain" and new and challenger is None:
                challenger = new["version"] if isinstance(new, dict) else new
                events.append(f"retrained → v{challenger}")
        row = traffic.window_row(ws, prev.start) or {}
        results = row.get("results") or {}
        values = results.get("values") or {}
        acc = ((results.get("performance") or {}).get("values") or {}).get("accuracy")
        windows.append(
            {
                "month": prev.month,
                "rows": prev.rows,
                "version": row.get("version"),
                "max_psi": values.get("max_psi"),
                "n_drifted": values.get("n_drifted"),
                "accuracy": acc,
                "events": events,
            }
        )
        retrained = challenger is not None and any(e.startswith("retrained") for e in events)
        if retrained and _shadow_challenger(ws, challenger, summary, step):
            events.append(f"v{challenger} in shadow")
        table.add_row(
            f"2013-{prev.month:02d}",
            str(prev.rows),
            f"v{row.get('version')}" if row else "-",
            f"{values['max_psi']:.3f}" if values.get("max_psi") is not None else "-",
            f"{int(values.get('n_drifted') or 0)}",
            f"{acc:.3f}" if acc is not None else "-",
            "; ".join(events),
        )

    # Windows are back to back: month k is sent in window k while the monitor
    # closes window k-1, whose labels have just arrived (a window late).
    for k, month in enumerate(months):
        sent_windows.append(
            traffic.send_month(
                client, data, month, seed=month, start=first + k * traffic.WINDOW_SECONDS
            )
        )
        if k >= 1:
            traffic.send_labels(client, sent_windows[k - 1])
            traffic.sleep_until(first + k * traffic.WINDOW_SECONDS + traffic.GRACE_SECONDS + 0.2)
            report(sent_windows[k - 1], run_once(ws))
    last = sent_windows[-1]
    traffic.sleep_until(last.start + traffic.WINDOW_SECONDS + traffic.GRACE_SECONDS + 0.2)
    traffic.send_labels(client, last)
    report(last, run_once(ws))
    out.print(table)

    if challenger is not None:
        september = root / "data" / "flights_sep.parquet"
        demo_data.months(data, 9, 9).write_parquet(september)
        with acting_as(SCIENTIST):
            ev = governance.evaluate(
                ws, f"flight-delay@{challenger}", september, actor=SCIENTIST, label=demo_data.LABEL
            )
        new, old = ev["evaluation"]["metrics"], ev["champion"]["evaluation"]["metrics"]
        step(
            f"evaluated v{challenger} on September beside production: "
            + ", ".join(
                f"{name} {new[name]:.3f} vs {old[name]:.3f}"
                for name in ("accuracy", "roc_auc", "ece")
                if name in new and name in old
            )
        )
        with acting_as(ENGINEER):
            try:
                lifecycle.promote(
                    ws,
                    f"flight-delay@{challenger}",
                    "production",
                    actor=ENGINEER,
                    reason="retrained after the seasonal-drift incident",
                )
                step(f"promoted the retrained v{challenger} to production through the gates")
                for i in opened:
                    with acting_as(MONITORING):
                        resolve_incident(
                            ws,
                            i,
                            actor=MONITORING,
                            note=(
                                "root cause: the flights of summer 2013 differ from the spring "
                                "the model was trained on (seasonal drift); corrective action: "
                                f"retrained on the drifted months as v{challenger}, evaluated, "
                                "approved, shadowed and promoted through the gates"
                            ),
                        )
                    step(f"incident #{i} resolved by {MONITORING} with its root cause")
            except Exception as exc:  # a refusal is a result the demo reports
                step(f"v{challenger} not promoted: {str(exc).splitlines()[0]}")
    client.close()
    report_path = root / "reports" / "compliance.html"
    write_report(compliance_report(ws, "iso42001"), report_path)
    dashboard = f"{server.url}/ui/"
    return {
        "windows": windows,
        "dashboard": dashboard,
        "report": str(report_path),
        "server": server,
        "keys": {"approver": approver_key, "viewer": viewer_key},
    }


def _shadow_challenger(ws, version: int, summary, step) -> bool:  # type: ignore[no-untyped-def]
    """Evaluate the retrained version on its incident's data, approve it, and shadow it."""
    from aims.services import governance, lifecycle

    data_path = next(
        (
            (a.get("result") or {}).get("data") or a.get("data")
            for a in summary.actions
            if a.get("type") == "retrain"
        ),
        None,
    )
    if data_path is None:
        return False
    import polars as pl

    from aims.demo_traffic import labelled_inputs

    eval_path = Path(data_path).with_name("labelled.parquet")
    labelled_inputs(pl.read_parquet(data_path)).write_parquet(eval_path)
    ref = f"flight-delay@{version}"
    with acting_as(SCIENTIST):
        governance.evaluate(ws, ref, eval_path, actor=SCIENTIST, label=demo_data.LABEL)
    for approver in (APPROVER, RISK_OFFICER):
        with acting_as(approver):
            governance.approve(ws, ref, actor=approver, note="retrained on the drifted months")
    try:
        with acting_as(ENGINEER):
            lifecycle.promote(
                ws, ref, "shadow", actor=ENGINEER, reason="shadow the retrained model"
            )
    except Exception as exc:
        step(f"{ref} not shadowed: {str(exc).splitlines()[0]}")
        return False
    step(f"{ref} evaluated on the incident's labelled traffic, approved, and put in shadow")
    return True

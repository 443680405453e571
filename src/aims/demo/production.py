"""The demo's production phase: serve, replay later months as traffic, monitor, retrain, shadow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from aims.demo import data as demo_data
from aims.demo.team import APPROVER, ENGINEER, MONITORING, RISK_OFFICER, SCIENTIST, acting_as

if TYPE_CHECKING:
    import polars as pl

    from aims.demo.traffic import Window
    from aims.services.monitor.context import RunSummary
    from aims.workspace import Workspace


def production_phase(
    ws: Workspace, root: Path, data: pl.DataFrame, step: Callable[[str], None], out: Console
) -> dict[str, Any]:
    """Serve v1, replay March to September as traffic, monitor window by window, act."""
    import httpx
    from rich.table import Table

    from aims.demo import traffic
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
    sent_windows: list[Window] = []

    def report(prev: Window, summary: RunSummary) -> None:
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
        retrained = any(e.startswith("retrained") for e in events)
        if (
            challenger is not None
            and retrained
            and shadow_challenger(ws, challenger, summary, step)
        ):
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
    from aims.demo.statement import record_statement
    from aims.services.evidence_pack import build_pack

    record_statement(ws, root, opened, step)
    report_path = root / "reports" / "compliance.html"
    write_report(compliance_report(ws, "iso42001"), report_path)
    pack = build_pack(ws, root / "reports" / "evidence-pack.zip")
    step(f"evidence pack written to {pack['written']} (check it: aims report verify-pack)")
    dashboard = f"{server.url}/ui/"
    return {
        "windows": windows,
        "dashboard": dashboard,
        "report": str(report_path),
        "server": server,
        "keys": {"approver": approver_key, "viewer": viewer_key},
    }


def shadow_challenger(
    ws: Workspace, version: int, summary: RunSummary, step: Callable[[str], None]
) -> bool:
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

    from aims.demo.traffic import labelled_inputs

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

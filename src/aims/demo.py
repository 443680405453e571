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

from aims import demo_data

SCIENTIST = "ana@example.org"
ENGINEER = "raj@example.org"
MONITORING = "ml-oncall@example.org"


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


def run(folder: Path | None = None, console: Console | None = None) -> dict:
    """Run the demo in ``folder`` (a new temporary folder by default); return a summary."""
    from skops.io import dump

    from aims.services import audit, lifecycle, registry
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
        out.print(f"[green]✓[/green] {text}")

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

    with acting_as(ENGINEER):
        try:
            lifecycle.promote(ws, "flight-delay@1", "production", actor=ENGINEER)
        except Exception as exc:  # the demo shows the refusal, then fixes its cause
            first = str(exc).splitlines()[0]
            step(f"promotion refused as expected: {first}")
        registry.set_owners(
            ws,
            "flight-delay",
            {"deployment": ENGINEER, "monitoring": MONITORING},
            actor=ENGINEER,
        )
        step("set deployment and monitoring owners")
        lifecycle.promote(
            ws, "flight-delay@1", "production", actor=ENGINEER, reason="first release"
        )
        step("promoted flight-delay@1 to production")
        lifecycle.promote(
            ws, "flight-delay@2", "production", actor=ENGINEER, reason="retrained on Mar-Apr"
        )
        step("promoted flight-delay@2 to production (v1 archived)")
        rolled = lifecycle.rollback(ws, "flight-delay", actor=ENGINEER, reason="demo rollback")
        step(f"rolled back: flight-delay@{rolled['version']} is in production again")

    loaded = registry.load_version(ws, registry.show_version(ws, "flight-delay@production"))
    sample = demo_data.months(data, 5, 5).head(5)
    preds = loaded.predict(sample.select(demo_data.FEATURES))
    step(
        f"loaded the production model (sha256 verified) and predicted 5 May flights: {list(preds)}"
    )

    report = audit.verify(ws.db)
    step(f"audit chain verified: {report.n_events} events, intact={report.ok}")
    ws.close()
    elapsed = time.perf_counter() - started
    out.rule(f"done in {elapsed:.1f} s")
    return {
        "workspace": str(root),
        "steps": steps,
        "audit_ok": report.ok,
        "audit_events": report.n_events,
        "seconds": round(elapsed, 2),
    }

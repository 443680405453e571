"""``aims demo --agents``: the agent chapter alone, in a small workspace of its own.

The chapter needs a model to read and to propose; here it is a tiny classifier
of ticket urgency, in two versions, trained in a moment on made-up numbers, so
the chapter runs in seconds without the flight data.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markup import escape

from aims.demo.agents import agents_chapter
from aims.demo.agents_upstream import configure_gateway
from aims.demo.team import ENGINEER, SCIENTIST, acting_as

MODEL = "ticket-urgency"


def run_agents(folder: Path | None = None, console: Console | None = None) -> dict[str, Any]:
    """Run the agent chapter in ``folder`` (a new temporary folder by default); return a summary."""
    from aims.demo.traffic import start_server
    from aims.services import audit, keys, registry
    from aims.workspace import Workspace, init_workspace

    out = console or Console()
    started = time.perf_counter()
    root = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="aims-demo-agents-"))
    init_workspace(root)
    config = yaml.safe_load((root / "aims.yaml").read_text())
    configure_gateway(config)
    (root / "aims.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    ws = Workspace.open(root)
    steps: list[str] = []

    def step(text: str) -> None:
        steps.append(text)
        out.print(f"[green]✓[/green] {escape(text)}")

    out.rule("[bold]aims demo: agents under control")
    out.print(f"workspace: {root}")
    with acting_as(SCIENTIST):
        for version in (1, 2):
            data, artifact = _tiny_model(root, version)
            registry.register_dataset(ws, data, "tickets", actor=SCIENTIST)
            registry.register_model(
                ws,
                artifact,
                MODEL,
                actor=SCIENTIST,
                datasets=[f"tickets@{version}"],
                owners={"development": SCIENTIST},
            )
    # A server refuses to start with no key at all; the chapter's own keys come later.
    keys.create_key(ws, project="default", role="viewer", actor=ENGINEER, name="dashboard viewer")
    step(f"registered {MODEL}@1 and @2 (a small classifier of ticket urgency)")
    server = start_server(ws)
    step(f"serving at {server.url}: /mcp (aims' own MCP server) and /gateway/mcp (the gateway)")
    try:
        summary = agents_chapter(ws, server.url, step, out, model=MODEL, version=2)
        summary["audit_ok"] = audit.verify(ws.db).ok
        step(f"audit chain verified: intact={summary['audit_ok']}")
    finally:
        server.stop()
        ws.close()
    elapsed = time.perf_counter() - started
    out.rule(f"done in {elapsed:.1f} s")
    return {**summary, "workspace": str(root), "steps": steps, "seconds": round(elapsed, 2)}


def _tiny_model(root: Path, version: int) -> tuple[Path, Path]:
    """A small data file and a logistic regression trained on it, for ``version``."""
    import numpy as np
    import polars as pl
    from sklearn.linear_model import LogisticRegression
    from skops.io import dump

    rng = np.random.default_rng(version)
    frame = pl.DataFrame(
        {
            "words": rng.integers(5, 400, 300),
            "customers": rng.integers(1, 50, 300),
            "hour": rng.integers(0, 24, 300),
        }
    )
    label = ((frame["customers"] > 20) | (frame["hour"] < 6)).cast(pl.Int8).to_numpy()
    folder = root / "data"
    folder.mkdir(exist_ok=True)
    data = folder / f"tickets_{version}.parquet"
    frame.with_columns(pl.Series("urgent", label)).write_parquet(data)
    artifact = folder / f"ticket_urgency_{version}.skops"
    dump(LogisticRegression(max_iter=500).fit(frame.to_pandas(), label), artifact)
    return data, artifact

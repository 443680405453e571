"""The example notebook of docs/python.md runs from top to bottom in a real kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs_and_renders_the_drift_report(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure

    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) == 1, "exactly one cell (the drift report) renders as HTML"
    # The report page is embedded whole (escaped into the iframe's srcdoc), with its charts.
    assert html[0].startswith("<iframe")
    assert "mean_radius" in html[0] and "&lt;svg" in html[0]
    # The notebook promoted its model and wrote both exports into its own folder.
    texts = [o.get("data", {}).get("text/plain", "") for o in outputs]
    assert "'production'" in texts
    assert (tmp_path / "drift.html").read_text().startswith("<!DOCTYPE html>")
    assert '"dataset_drift"' in (tmp_path / "drift.json").read_text()
    assert (tmp_path / "quickstart-ws" / "aims.yaml").is_file()

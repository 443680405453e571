"""The Python API of aims: the lifecycle and drift reports from a notebook or a script.

::

    import aims

    ws = aims.Workspace.init("ml", policy="minimal")     # or aims.Workspace("ml")
    ws.register_dataset(train_df, "flights")
    ws.register_model(fitted_pipeline, "delay", dataset="flights@1",
                      owners={"development": "ana@example.org"})
    ws.evaluate("delay@1", holdout_df, label="late")
    ws.act_as("raj@example.org").approve("delay@1")
    ws.gates("delay@1")
    ws.promote("delay@1", stage="production")
    aims.drift(reference_df, current_df)                # renders inline in Jupyter

The same services, errors and audit events as the ``aims`` command; see
docs/python.md.
"""

from __future__ import annotations

from aims.api._drift import DriftResult, drift
from aims.api._workspace import Workspace

__all__ = ["DriftResult", "Workspace", "drift"]

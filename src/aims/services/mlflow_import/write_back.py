"""Writing aims' decisions back to MLflow as version tags, so MLflow users see them.

For every version aims imported from the server, two tags on MLflow's version:

- ``aims.stage``: the stage the version is in, in aims (``registered``,
  ``staging``, ``production``, ``archived``...);
- ``aims.gates``: ``passed`` or ``failed``, the outcome of the policy's rules
  for promoting it to production (``aims gates NAME@VERSION``).

Only tags whose value changed are written, so running it again sends nothing.
Only a tracking server can be written to: a database or an ``mlruns`` folder is
read, never changed.
"""

from __future__ import annotations

from typing import Any

from aims.errors import InvalidInput
from aims.services.mlflow_import.records import MlflowSource, ModelRecord
from aims.workspace import Workspace

__all__ = ["write_back"]


def write_back(
    ws: Workspace, source: MlflowSource, models: list[ModelRecord]
) -> list[dict[str, Any]]:
    """Set ``aims.stage`` and ``aims.gates`` on every imported version of ``models`` that changed.

    Returns the tags written, as ``{"model", "version", "key", "value"}``.
    """
    from aims.errors import NotFound
    from aims.services.gates import gates
    from aims.services.registry import show_version

    setter = getattr(source, "set_version_tag", None)
    if setter is None:
        raise InvalidInput(
            f"--write-back writes tags through MLflow's REST API; {source.description} is "
            "not a tracking server: import through the server's URL"
        )
    written = []
    for m in models:
        for v in m.versions:
            ref = f"{m.name}@{v.version}"
            try:
                held = show_version(ws, ref)
            except NotFound:
                continue
            tags = held.get("tags") or {}
            if (tags.get("mlflow.model"), tags.get("mlflow.version")) != (m.name, str(v.version)):
                continue  # not imported from this MLflow version
            passed = gates(ws, ref, "production")["passed"]
            wanted = {"aims.stage": held["stage"], "aims.gates": "passed" if passed else "failed"}
            for key, value in wanted.items():
                if v.tags.get(key) != value:
                    setter(m.name, v.version, key, value)
                    written.append(
                        {"model": m.name, "version": v.version, "key": key, "value": value}
                    )
    return written

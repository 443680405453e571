"""The ``aims:read`` tools: models, versions and lineage, gates, monitoring, incidents, evidence.

Each reads through the same services as the governance API and shows the
caller what the API would: a model of a project it holds no grant on answers
as unregistered (:meth:`aims.services.mcp_tools.Caller.check`), and lists
leave such models out. Results are plain data, kept small: an agent reads
them into a context window.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aims.services.mcp_toolkit import Caller, tool
from aims.workspace import Workspace

READ = "aims:read"

ModelName = Field(
    min_length=1,
    max_length=200,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    description="A registered model's name.",
)
Version = Field(ge=1, le=1_000_000, description="A version number of the model.")


class StrictArgs(BaseModel):
    # Strict: no unknown fields, no "1" for 1; an agent's mistake gets a clear refusal.
    model_config = ConfigDict(extra="forbid", strict=True)


class NoArgs(StrictArgs):
    pass


class ModelArgs(StrictArgs):
    model: str = ModelName


class VersionArgs(StrictArgs):
    model: str = ModelName
    version: int = Version


class GateArgs(StrictArgs):
    model: str = ModelName
    version: int = Version
    stage: Literal["staging", "production"] = Field(
        "production", description="The stage whose promotion rules are checked."
    )


class MonitoringArgs(StrictArgs):
    model: str = ModelName
    role: Literal["production", "canary", "shadow"] = Field(
        "production", description="Which serving role's newest window to summarise."
    )


class IncidentArgs(StrictArgs):
    model: str | None = Field(
        None, min_length=1, max_length=200, description="Only this model's incidents."
    )
    status: Literal["open", "acked", "resolved", "active", "all"] = Field(
        "active", description="active: not resolved yet."
    )
    limit: int = Field(20, ge=1, le=200, description="Newest N incidents.")


def _hidden(name: str) -> str:
    return f"model {name!r} is not registered"


def checked_project(ws: Workspace, caller: Caller, name: str, role: str = "viewer") -> str:
    """The project of model ``name``, once ``caller`` may see it with ``role``."""
    from aims.errors import NotFound
    from aims.services.registry import get_model

    try:
        with ws.db.session() as s:
            project = str(get_model(s, name).project)
    except NotFound:
        raise NotFound(_hidden(name)) from None
    caller.check(project, role, _hidden(name))
    return project


@tool("list_models", title="List models", scope=READ, role="viewer", args=NoArgs)
def list_models(ws: Workspace, caller: Caller, args: NoArgs) -> Any:
    """The registered models the caller may see: name, project, number of versions, the
    version in production, owners by role."""
    from aims.services.registry import list_models as run

    return [m for m in run(ws) if caller.sees(m["project"]) and caller.role_on(m["project"])]


@tool("describe_model", title="Describe a model", scope=READ, role="viewer", args=ModelArgs)
def describe_model(ws: Workspace, caller: Caller, args: ModelArgs) -> Any:
    """A model: its project, owners by role, every version with its stage, and the stage
    history (who moved which version where, when and why)."""
    from aims.services.lifecycle import history
    from aims.services.registry import describe

    checked_project(ws, caller, args.model)
    out = describe(ws, args.model)
    out["versions"] = [
        {
            k: v[k]
            for k in ("version", "stage", "traffic", "flavour", "created_by", "created_at")
            if k in v
        }
        for v in out["versions"]
    ]
    out["stage_history"] = history(ws, args.model)[-50:]
    return out


@tool(
    "describe_version",
    title="Describe a model version",
    scope=READ,
    role="viewer",
    args=VersionArgs,
)
def describe_version(ws: Workspace, caller: Caller, args: VersionArgs) -> Any:
    """One model version: stage, flavour, artifact hash, features, and its lineage (the
    datasets and code it was made from, the versions retrained from it)."""
    from aims.services.lineage import lineage
    from aims.services.registry import show_version

    checked_project(ws, caller, args.model)
    ref = f"{args.model}@{args.version}"
    out = dict(show_version(ws, ref))
    out["lineage"] = lineage(ws, ref)
    return out


@tool("gate_results", title="Gate results", scope=READ, role="viewer", args=GateArgs)
def gate_results(ws: Workspace, caller: Caller, args: GateArgs) -> Any:
    """Every rule the policy applies to promoting a version to a stage, each with its
    outcome, and whether all pass (read only: nothing is promoted)."""
    from aims.services.gates import gates

    checked_project(ws, caller, args.model)
    return gates(ws, f"{args.model}@{args.version}", args.stage)


@tool(
    "monitoring_summary",
    title="Health and drift summary",
    scope=READ,
    role="viewer",
    args=MonitoringArgs,
)
def monitoring_summary(ws: Workspace, caller: Caller, args: MonitoringArgs) -> Any:
    """The newest monitoring window of the version serving a role: predictions counted,
    features that drifted, whether a trigger fired, performance when labels arrived, and
    the number of incidents not yet resolved."""
    from aims.services.monitor.incidents import list_incidents
    from aims.services.monitor.window_store.views import latest_production_window
    from aims.services.registry import get_model
    from aims.services.window_drift import WindowDrift

    checked_project(ws, caller, args.model)
    with ws.db.session() as s:
        model = get_model(s, args.model)
        window = latest_production_window(s, model.id, args.role)
        summary: dict[str, Any] = {"model": args.model, "role": args.role, "window": None}
        if window is not None:
            results = dict(window.results or {})
            drift = WindowDrift.of_results(results)
            summary["window"] = {
                "version": window.version,
                "start": window.window_start,
                "seconds": window.window_seconds,
                "predictions": window.n_predictions,
                "drifted_features": [
                    n for n, d in zip(drift.names, drift.drifted, strict=True) if d
                ],
                "features_tested": sum(d is not None for d in drift.drifted),
                "fired": drift.fired,
                "provisional": drift.provisional,
                "performance": drift.performance,
            }
    summary["active_incidents"] = len(list_incidents(ws, status="active", model=args.model))
    return summary


@tool("list_incidents", title="List incidents", scope=READ, role="viewer", args=IncidentArgs)
def list_incidents(ws: Workspace, caller: Caller, args: IncidentArgs) -> Any:
    """Incidents of the projects the caller may see, newest first: what they are about (a
    model, an MCP server, an agent), what fired, severity, status, owner and resolution."""
    from aims.services.monitor.incidents import list_incidents as run

    if args.model is not None:
        checked_project(ws, caller, args.model)
    rows = [
        r
        for r in run(ws, status=args.status, model=args.model)
        if caller.sees(r["project"]) and caller.role_on(r["project"])
    ]
    keep = (
        "id",
        "project",
        "subject_kind",
        "subject",
        "model",
        "version",
        "trigger",
        "kind",
        "severity",
        "status",
        "owner",
        "summary",
    )
    more = ("opened_at", "acked_by", "resolved_at", "resolved_by", "resolution")
    return [{k: r.get(k) for k in keep + more} for r in rows[: args.limit]]


@tool("evidence_summary", title="Evidence summary", scope=READ, role="viewer", args=ModelArgs)
def evidence_summary(ws: Workspace, caller: Caller, args: ModelArgs) -> Any:
    """What an auditor would look at for a model: its risk tier, the gate results of the
    version in production (else the newest), its stage changes, its incidents, and the
    project's evidence kept outside aims with what is overdue."""
    from aims.services.external_evidence import list_evidence
    from aims.services.gates import gates
    from aims.services.lifecycle import history
    from aims.services.monitor.incidents import list_incidents as incidents
    from aims.services.registry import describe

    project = checked_project(ws, caller, args.model)
    model = describe(ws, args.model)
    versions = model["versions"]
    chosen = next((v for v in versions if v["stage"] == "production"), None)
    chosen = chosen or (max(versions, key=lambda v: v["version"]) if versions else None)
    out: dict[str, Any] = {"model": args.model, "project": project, "owners": model["owners"]}
    if chosen is not None:
        g = gates(ws, f"{args.model}@{chosen['version']}", "production")
        out["version"] = chosen["version"]
        out["stage"] = chosen["stage"]
        out["tier"] = g["tier"]
        out["gates_pass"] = g["passed"]
        out["unmet_rules"] = [r.get("rule") for r in g["rules"] if not r.get("passed")]
    out["stage_changes"] = len(history(ws, args.model))
    every = incidents(ws, status="all", model=args.model)
    out["incidents"] = {
        "total": len(every),
        "active": sum(i["status"] != "resolved" for i in every),
    }
    pieces = list_evidence(ws, project)
    out["external_evidence"] = {
        "pieces": len(pieces),
        "overdue": [p.get("control") for p in pieces if p.get("overdue")],
    }
    return out

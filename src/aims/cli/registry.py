"""``aims init``, ``aims dataset …``, ``aims model …`` and ``aims lineage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from aims.cli._output import Format, console, emit, print_table
from aims.cli._state import open_workspace
from aims.cli.remote import file_sha256, local_file, remote, segment, version_path
from aims.starter import PolicyPreset
from aims.workspace import current_actor

dataset_app = typer.Typer(help="Register and list datasets.", no_args_is_help=True)
model_app = typer.Typer(help="Register, list and describe models.", no_args_is_help=True)

FORMAT = typer.Option(Format.table, "--format", "-f", help="Output format.")


def init(
    folder: Path = typer.Argument(
        Path("."), help="Folder to make a workspace (created if missing)."
    ),
    project: str = typer.Option("default", help="Project (tenant) that new models belong to."),
    policy: PolicyPreset = typer.Option(
        PolicyPreset.strict,
        "--policy",
        help="Policy preset: minimal (to learn: one approval by another person), standard "
        "(risk assessment, one approval) or strict (two approvers, four owners, gates; "
        "for a real workspace).",
    ),
    fmt: Format = FORMAT,
) -> None:
    """Create a workspace and print the next steps.

    Writes a commented aims.yaml (settings, people and their roles, the policy)
    and .aims/ (database, artifacts, logs)."""
    from aims.cli.remote import local_only
    from aims.starter import PRESET_TIER, next_steps, starter_config
    from aims.workspace import Workspace, init_workspace

    local_only("init", "it makes a workspace on this machine")

    preset = policy.value
    root = init_workspace(folder, project, config_text=starter_config(project, preset))
    ws = Workspace.open(root)
    data = {
        "workspace": str(root),
        "database": ws.settings.database_url,
        "tables": len(ws.db.tables()),
        "policy": preset,
        "default_tier": PRESET_TIER[preset],
        "next_steps": next_steps(str(root), preset),
    }
    ws.close()

    def render(d: dict[str, Any]) -> None:
        console.print(f"initialised aims workspace in {d['workspace']}", highlight=False)
        for line in d["next_steps"]:
            console.print(Text(line), highlight=False, soft_wrap=True)

    emit(data, fmt, render)


@dataset_app.command("register")
def dataset_register(
    path: Path = typer.Argument(..., help="Data file (Parquet, CSV, Arrow)."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    contract: Path | None = typer.Option(
        None, "--contract", help="ODCS contract the data must satisfy; refused if it does not."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Register a data file as a dataset version (same content → same version)."""
    from aims.services.registry import register_dataset

    if (r := remote()) is not None:
        files = {"file": local_file(path)}
        if contract is not None:
            files["contract"] = local_file(contract)
        form = {"name": name, "sha256": file_sha256(path)}
        data = r.call("POST", "/v1/datasets", files=files, data=form)
    else:
        ws = open_workspace()
        data, created = register_dataset(
            ws, path, name, actor=current_actor(), contract_path=contract
        )
        data["created"] = created

    def render(d: dict[str, Any]) -> None:
        verb = "registered" if d["created"] else "already registered as"
        console.print(
            f"{verb} dataset {d['name']}@{d['version']} ({d['row_count']} rows, "
            f"sha256 {d['content_hash'][:12]})"
        )

    emit(data, fmt, render)


@dataset_app.command("list")
def dataset_list(fmt: Format = FORMAT) -> None:
    """List dataset versions."""
    from aims.services.registry import list_datasets

    r = remote()
    rows = r.call("GET", "/v1/datasets") if r is not None else list_datasets(open_workspace())
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [
                {**x, "ref": f"{x['name']}@{x['version']}", "sha256": x["content_hash"][:12]}
                for x in r
            ],
            ["ref", "row_count", "sha256", "has_contract", "created_by", "source"],
        ),
    )


@model_app.command("register")
def model_register(
    artifact: Path = typer.Argument(
        ...,
        help="Model file: .skops, .onnx (or .pkl with --trust), or an LLM application's "
        "YAML (kind: llm-application; see docs/llm-applications.md).",
    ),
    name: str = typer.Option(..., "--name", "-n", help="Model name."),
    dataset: list[str] = typer.Option(
        [],
        "--dataset",
        "-d",
        help="Training data as NAME@VERSION (repeatable; required for a model, "
        "optional for an LLM application).",
    ),
    owner: list[str] = typer.Option(
        [],
        "--owner",
        "-o",
        help="ROLE=EMAIL; roles: development, deployment, monitoring, business.",
    ),
    flavour: str | None = typer.Option(None, help="skops | onnx | pickle (default: by suffix)."),
    trust: bool = typer.Option(
        False,
        "--trust",
        help="Allow loading a pickle (runs arbitrary code); recorded in the audit log.",
    ),
    param: list[str] = typer.Option(
        [], "--param", help="KEY=VALUE training parameter (repeatable)."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", help="KEY=NUMBER training metric (repeatable)."
    ),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE tag (repeatable)."),
    commit: str | None = typer.Option(
        None, "--git-commit", help="Code commit (default: git HEAD here)."
    ),
    contract: Path | None = typer.Option(
        None, "--contract", help="Input contract (default: the training data's, else inferred)."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Register a model artifact (or an LLM application's YAML) as the next version of NAME,
    with lineage and owners."""
    from aims.services.registry import git_commit, parse_owners, register_model

    if _register_llm_app(artifact, name, dataset, owner, param, metric, tag, commit, fmt):
        return
    if (r := remote()) is not None:
        # Refused here as locally, before the upload.
        parse_owners(owner)
        _pairs(param, "--param")
        _pairs(tag, "--tag")
        for key, value in _pairs(metric, "--metric").items():
            _number(key, value)
        files = {"artifact": local_file(artifact)}
        if contract is not None:
            files["contract"] = local_file(contract)
        form = {
            "sha256": file_sha256(artifact),
            "dataset": dataset,
            "owner": owner,
            "flavour": flavour,
            "trust": trust,
            "param": param,
            "metric": metric,
            "tag": tag,
            # The code is the one checked out here, not where the server runs.
            "git_commit": commit or git_commit(),
        }
        data = r.call("POST", f"/v1/models/{segment(name)}/versions", files=files, data=form)
        emit(data, fmt, _render_registered)
        return
    ws = open_workspace()
    data = register_model(
        ws,
        artifact,
        name,
        actor=current_actor(),
        datasets=dataset,
        owners=parse_owners(owner),
        flavour=flavour,
        trust=trust,
        params=_pairs(param, "--param"),
        metrics={k: _number(k, v) for k, v in _pairs(metric, "--metric").items()},
        tags=_pairs(tag, "--tag"),
        commit=commit,
        contract_path=contract,
    )
    emit(data, fmt, _render_registered)


def _register_llm_app(
    path: Path,
    name: str,
    datasets: list[str],
    owners: list[str],
    params: list[str],
    metrics: list[str],
    tags: list[str],
    commit: str | None,
    fmt: Format,
) -> bool:
    """Register ``path`` if it is an LLM application's YAML; ``False`` when it is not one."""
    from aims.cli.llm import render_app
    from aims.services.llm_apps import register_app
    from aims.services.registry import git_commit, parse_owners

    # Every YAML file is read as an LLM application, so a mistyped 'kind' is reported
    # with its line rather than as an unknown model format.
    if path.suffix.lower() not in (".yaml", ".yml"):
        return False
    if (r := remote()) is not None:
        from aims.services.llm_apps import self_contained

        # Refused here as locally, before the upload; prompt files are inlined, since the
        # server cannot read files beside the YAML.
        owner_map = parse_owners(owners)
        _pairs(params, "--param")
        _pairs(tags, "--tag")
        for key, value in _pairs(metrics, "--metric").items():
            _number(key, value)
        with self_contained(path) as upload:
            form = {
                "sha256": file_sha256(upload),
                "dataset": datasets,
                "owner": [f"{k}={v}" for k, v in owner_map.items()],
                "param": params,
                "metric": metrics,
                "tag": tags,
                "git_commit": commit or git_commit(path.parent),
            }
            files = {"artifact": local_file(upload)}
            data = r.call("POST", f"/v1/models/{segment(name)}/versions", files=files, data=form)
        emit(data, fmt, render_app)
        return True
    data = register_app(
        open_workspace(),
        path,
        name,
        actor=current_actor(),
        datasets=datasets,
        owners=parse_owners(owners),
        params=_pairs(params, "--param"),
        metrics={k: _number(k, v) for k, v in _pairs(metrics, "--metric").items()},
        tags=_pairs(tags, "--tag"),
        commit=commit,
    )
    emit(data, fmt, render_app)
    return True


def _render_registered(d: dict[str, Any]) -> None:
    console.print(
        f"registered model {d['name']}@{d['version']} ({d['flavour']}, {d['task']}, "
        f"trained on {', '.join(d['datasets'])})"
    )
    if d.get("input_contract_note"):
        console.print(Text(d["input_contract_note"]), highlight=False, soft_wrap=True)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    from aims.errors import InvalidInput

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option} {item!r} does not parse; use KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _number(key: str, value: str) -> float:
    from aims.errors import InvalidInput

    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"--metric {key}={value!r}: the value must be a number") from None


@model_app.command("list")
def model_list(fmt: Format = FORMAT) -> None:
    """List models with their production version and owners."""
    from aims.services.registry import list_models

    r = remote()
    rows = r.call("GET", "/v1/registry/models") if r is not None else list_models(open_workspace())
    emit(
        rows,
        fmt,
        lambda r: print_table(
            [{**x, "owners": ", ".join(f"{k}={v}" for k, v in x["owners"].items())} for x in r],
            ["name", "project", "versions", "production", "owners"],
        ),
    )


@model_app.command("show")
def model_show(
    ref: str = typer.Argument(..., help="NAME or NAME@VERSION."), fmt: Format = FORMAT
) -> None:
    """Describe a model (all versions) or one version."""
    from aims.refs import check_name
    from aims.services import registry

    r = remote()
    if "@" in ref:
        if r is not None:
            data = r.call("GET", version_path(ref))
        else:
            data = registry.show_version(open_workspace(), ref)
        if data.get("flavour") == "llm-app":
            from aims.cli.llm import render_app

            emit(data, fmt, render_app)
            return
        emit(
            data,
            fmt,
            lambda d: print_table([{"key": k, "value": v} for k, v in d.items()], ["key", "value"]),
        )
        return
    if r is not None:
        data = r.call("GET", f"/v1/registry/models/{segment(check_name(ref))}")
    else:
        data = registry.describe(open_workspace(), ref)

    def render(d: dict[str, Any]) -> None:
        console.print(f"[bold]{d['name']}[/bold] (project {d['project']})")
        console.print(
            "owners: " + (", ".join(f"{k}={v}" for k, v in d["owners"].items()) or "none")
        )
        print_table(
            [{**v, "datasets": ", ".join(v["datasets"])} for v in d["versions"]],
            ["version", "stage", "traffic", "flavour", "task", "datasets", "created_by"],
        )

    emit(data, fmt, render)


@model_app.command("describe")
def model_describe(
    ref: str = typer.Argument(..., help="NAME or NAME@VERSION."), fmt: Format = FORMAT
) -> None:
    """The same as 'aims model show': a model (all versions) or one version; for an LLM
    application, its prompt hash, model and tools."""
    model_show(ref, fmt)


@model_app.command("owners")
def model_owners(
    name: str = typer.Argument(..., help="Model name."),
    owner: list[str] = typer.Argument(..., help="ROLE=EMAIL pairs."),
    fmt: Format = FORMAT,
) -> None:
    """Set the owners of a model by role (development, deployment, monitoring, business)."""
    from aims.services.registry import parse_owners, set_owners

    owners = parse_owners(owner)
    if (r := remote()) is not None:
        data = r.call("PUT", f"/v1/models/{segment(name)}/owners", json={"owners": owners})
    else:
        data = set_owners(open_workspace(), name, owners, actor=current_actor())
    emit(data, fmt, lambda d: console.print(", ".join(f"{k}={v}" for k, v in d.items())))


def lineage(
    ref: str = typer.Argument(..., help="NAME@VERSION of a model or a dataset."),
    openlineage: bool = typer.Option(
        False, "--openlineage", help="Print the model's training run as an OpenLineage RunEvent."
    ),
    fmt: Format = FORMAT,
) -> None:
    """Show what a version was made from and what was made from it."""
    from aims.cli._output import print_json
    from aims.services.lineage import lineage as build
    from aims.services.lineage import openlineage_event

    r = remote()
    if openlineage:
        if r is not None:
            print_json(
                r.call("GET", version_path(ref) + "/lineage", params={"format": "openlineage"})
            )
        else:
            print_json(openlineage_event(open_workspace(), ref))
        return
    data = (
        r.call("GET", version_path(ref) + "/lineage")
        if r is not None
        else build(open_workspace(), ref)
    )

    def render(d: dict[str, Any]) -> None:
        from rich.tree import Tree

        tree = Tree(f"[bold]{d['subject']}[/bold]")
        up = tree.add("made from")
        for item in d["made_from"]:
            up.add(f"{item['kind']}: {item['ref']}")
        down = tree.add("made into")
        for item in d["made_into"]:
            down.add(f"{item['kind']}: {item['ref']} ({item.get('stage', '')})")
        console.print(tree)

    emit(data, fmt, render)

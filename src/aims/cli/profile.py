"""``aims profile``: write profiles of data files to profile files, and merge profile files.

Two forms, no workspace needed::

    aims profile PATH... --out FILE [--engine local|dask|spark] [--scheduler ADDRESS]
    aims profile merge A B ... --out FILE

A pipeline step profiles its partition ``--like`` a shared profile, another
merges the partition profiles, and ``aims drift`` compares profile files
(docs/scale.md).
"""

from __future__ import annotations

import time
from enum import Enum
from importlib.util import find_spec
from typing import Any

import typer

from aims.cli._extras import require_extras
from aims.cli._output import console, print_json
from aims.errors import InvalidInput

ENGINE_EXTRAS: dict[str, dict[str, list[str]]] = {
    "dask": {"dask": ["distributed"]},
    "spark": {"spark": ["pyspark"]},
}


class EngineChoice(str, Enum):
    """Where the data is profiled."""

    local = "local"
    dask = "dask"
    spark = "spark"


class SummaryFormat(str, Enum):
    """Output formats of the summary ``aims profile`` prints."""

    table = "table"
    json = "json"


def check_engine(
    command: str, engine: EngineChoice, scheduler: str | None = None, workers: int | None = None
) -> None:
    """Fail early, naming the extra to install, when ``engine`` needs a missing package.

    Also refuses cluster options the engine would ignore.
    """
    if engine is EngineChoice.local and (scheduler or workers):
        raise InvalidInput(
            f"{command}: --scheduler and --workers choose a cluster; add --engine dask or spark"
        )
    if engine is EngineChoice.spark and workers:
        raise InvalidInput(
            f"{command}: --workers is for Dask; give Spark a master URL such as local[4]"
        )
    extras = ENGINE_EXTRAS.get(engine.value)
    # Found is enough here: importing Dask takes half a second, which the engine
    # spends on a thread of its own while this one reads the data. Only a
    # module not found is imported, for require_extras to name its extra.
    if extras and any(find_spec(m) is None for modules in extras.values() for m in modules):
        require_extras(f"{command} --engine {engine.value}", extras)


def _split(values: list[str] | None) -> list[str] | None:
    out = [v.strip() for item in values or [] for v in item.split(",") if v.strip()]
    return out or None


def _kinds(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in _split(values) or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidInput(f"--kind expects NAME=KIND, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _report(summary: dict[str, Any], fmt: SummaryFormat) -> None:
    if fmt is SummaryFormat.json:
        print_json(summary)
        return
    console.print(
        f"wrote {summary['out']}: {summary['rows']:,} rows, {len(summary['columns'])} columns "
        f"({summary['bytes']:,} bytes, {summary['engine']}, {summary['seconds']:.2f} s)",
        highlight=False,
    )


def _merge(inputs: list[str], out: str) -> dict[str, Any]:
    from aims.core.profile import merge
    from aims.services.engines.profile_files import read_profile, write_profile

    if len(inputs) < 1:
        raise InvalidInput("aims profile merge needs at least one profile file")
    profiles = [read_profile(p) for p in inputs]
    try:
        merged = merge(*profiles)
    except InvalidInput as exc:
        raise InvalidInput(
            f"cannot merge these profiles: {exc}. Profile every part with "
            "aims profile PART --like SHARED_PROFILE so they share layouts"
        ) from None
    size = write_profile(merged, out)
    return {"out": out, "rows": merged.rows, "columns": list(merged.columns), "bytes": size}


def profile(
    paths: list[str] = typer.Argument(
        ...,
        help="Data files, folders (hive-partitioned or not) or fsspec URLs; or 'merge' "
        "followed by profile files.",
    ),
    out: str = typer.Option(..., "--out", "-o", help="Profile file to write (.json: JSON)."),
    engine: EngineChoice = typer.Option(
        EngineChoice.local, "--engine", help="Where to profile: local, dask or spark."
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786) or Spark master URL; "
        "default: a local cluster.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Workers of the local Dask cluster (default: one per core)."
    ),
    like: str | None = typer.Option(
        None,
        "--like",
        help="Profile on the layouts of this profile file, so the result merges or compares "
        "with it.",
    ),
    columns: list[str] | None = typer.Option(
        None, "--columns", "-c", help="Columns to profile (comma-separated or repeated)."
    ),
    kind: list[str] | None = typer.Option(
        None, "--kind", help="Force a column's kind: NAME=numeric|categorical|boolean|datetime."
    ),
    fmt: SummaryFormat = typer.Option(
        SummaryFormat.table, "--format", "-f", help="Format of the summary printed."
    ),
) -> None:
    """Profile PATH... into a profile file, or merge profile files (aims profile merge A B ...)."""
    started = time.perf_counter()
    if paths[0] == "merge":
        summary = _merge(paths[1:], out)
        summary["engine"] = "merge"
    else:
        check_engine("aims profile", engine, scheduler, workers)
        from aims.services.engines.profile_files import read_profile, write_profile
        from aims.services.engines.profiling import profile_sources

        if like is not None and kind:
            raise InvalidInput("--kind cannot be combined with --like: the profile fixes the kinds")
        result = profile_sources(
            paths,
            engine=engine.value,
            scheduler=scheduler,
            workers=workers,
            like=read_profile(like) if like is not None else None,
            kinds=_kinds(kind),
            columns=_split(columns),
        )
        size = write_profile(result, out)
        summary = {"out": out, "rows": result.rows, "columns": list(result.columns), "bytes": size}
        summary["engine"] = engine.value
    summary["seconds"] = time.perf_counter() - started
    _report(summary, fmt)

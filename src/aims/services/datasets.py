"""Datasets: registering a data file as a version of a named dataset, and looking versions up.

A dataset version is its content (sha256 of the file) and the contract it was
checked against; neither changes once registered. Registration stores the
file as an artifact and a reference profile whose bin edges and category sets
every monitoring window of models trained on it reuses. Every write runs in one
transaction together with its audit event.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aims.core.profile import FrameProfile, dumps
from aims.errors import Conflict, ContractViolation, InvalidInput, NotFound
from aims.refs import Ref, check_name
from aims.services import audit
from aims.storage.schema import Dataset, DatasetVersion
from aims.workspace import Workspace

__all__ = [
    "dataset_file",
    "file_sha256",
    "get_dataset_version",
    "list_datasets",
    "register_dataset",
    "source_filename",
]


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in bounded chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def source_filename(source: str) -> str:
    """The file name a version's recorded ``source`` ends in; its suffix tells the format.

    Examples
    --------
    >>> source_filename("upload:train.parquet"), source_filename("/data/x/train.csv")
    ('train.parquet', 'train.csv')
    """
    original = source.removeprefix("upload:").replace("\\", "/")
    name = PurePosixPath(original).name
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).lstrip(".") or "data"


@contextlib.contextmanager
def dataset_file(
    ws: Workspace, source: str | None, artifact_sha256: str | None
) -> Iterator[Path | None]:
    """A local file holding a dataset version's content while the block runs, or None.

    The version's copy in the artifact store is preferred and verified against
    its hash, so a file registered by upload (whose ``source`` is only the
    name the client sent) is readable like a local one, and a local file
    changed since registration is never read in its place. The copy is reached
    under the original file name, whose suffix tells its format. Without a
    stored copy (an import that kept none, or a store restored without it) the
    recorded source is read if it is still a file; None when there is nothing
    to read.

    Raises
    ------
    IntegrityError
        The stored copy no longer matches its hash.
    """
    stored: Path | None = None
    if artifact_sha256:
        with contextlib.suppress(NotFound):
            stored = ws.artifacts.local_path(artifact_sha256)
    if stored is None:
        yield Path(source) if source and Path(source).is_file() else None
        return
    folder = Path(tempfile.mkdtemp(prefix="aims-dataset-"))
    try:
        named = folder / source_filename(source or "data")
        try:
            # The store keeps objects by hash only: a link gives the object its name.
            named.symlink_to(stored)
        except OSError:
            shutil.copyfile(stored, named)
        yield named
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def get_dataset_version(s: Session, ref: Ref) -> DatasetVersion:
    """The dataset version ``ref`` names (a number, or ``latest``)."""
    ds = s.scalar(select(Dataset).where(Dataset.name == ref.name))
    if ds is None:
        raise NotFound(f"dataset {ref.name!r} is not registered; see 'aims dataset list'")
    if ref.version is None:
        if ref.alias != "latest" or not ds.versions:
            raise InvalidInput(f"dataset reference {ref}: give a version number, e.g. {ref.name}@1")
        return ds.versions[-1]
    dv = s.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == ds.id, DatasetVersion.version == ref.version
        )
    )
    if dv is None:
        known = ", ".join(str(v.version) for v in ds.versions) or "none"
        raise NotFound(f"dataset {ref.name!r} has no version {ref.version} (versions: {known})")
    return dv


def _dataset_payload(dv: DatasetVersion) -> dict[str, Any]:
    return {
        "name": dv.dataset.name,
        "version": dv.version,
        "content_hash": dv.content_hash,
        "source": dv.source,
        "row_count": dv.row_count,
        "schema": dv.schema,
        "has_contract": dv.contract is not None,
        "created_by": dv.created_by,
        "created_at": dv.created_at,
    }


def register_dataset(
    ws: Workspace,
    path: Path,
    name: str,
    *,
    actor: str,
    contract_path: Path | None = None,
    source: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Register the data file ``path`` as a version of dataset ``name``.

    Returns the version's description and whether it is new: the same content
    registered again with the same contract (or without one) yields the
    existing version; with a different contract it is refused (``Conflict``).
    With a contract, data that breaks it is refused (and the refusal is audited).
    ``source`` is what the version records as where the data came from (default:
    the file's absolute path; an upload names the file the client sent).
    """
    from aims.core import frames

    check_name(name, "dataset name")
    path = Path(path)
    given = _given_profile(path, contract_path)
    schema: dict[str, Any] = (
        frames.schema_of(path)  # raises on a missing or unreadable file
        if given is None
        else {n: c.dtype for n, c in given.columns.items()}
    )
    digest = file_sha256(path)
    contract_text = None
    if contract_path is not None:
        contract_text = _check_dataset_contract(ws, path, name, contract_path, actor)
    with ws.db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is not None:
            same = s.scalar(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == ds.id, DatasetVersion.content_hash == digest
                )
            )
            if same is not None:
                _check_same_contract(same, contract_text, contract_path)
                return _dataset_payload(same), False
    frame_rows = _count_rows(path) if given is None else given.rows
    profile = _reference_profile(path) if given is None else dumps(given)
    ref = ws.artifacts.put_file(path)
    now = audit.now_utc()
    with ws.db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.name == name))
        if ds is None:
            ds = Dataset(name=name, project=ws.settings.project, created_by=actor, created_at=now)
            s.add(ds)
            s.flush()
        same = s.scalar(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == ds.id, DatasetVersion.content_hash == digest
            )
        )
        if same is not None:  # registered concurrently
            return _dataset_payload(same), False
        version = (ds.versions[-1].version if ds.versions else 0) + 1
        dv = DatasetVersion(
            dataset=ds,
            version=version,
            content_hash=digest,
            source=source or str(path.resolve()),
            schema={k: str(v) for k, v in schema.items()},
            row_count=frame_rows,
            contract=contract_text,
            profile=profile,
            artifact_sha256=ref.sha256,
            created_by=actor,
            created_at=now,
        )
        s.add(dv)
        s.flush()
        payload = _dataset_payload(dv)
        audit.record(
            s,
            actor=actor,
            action="dataset.register",
            subject=f"dataset:{name}@{version}",
            payload={k: v for k, v in payload.items() if k not in ("created_at", "schema")},
        )
    return payload, True


def _check_same_contract(
    dv: DatasetVersion, contract_text: str | None, contract_path: Path | None
) -> None:
    """Refuse to pass off a registration with another contract as the existing version.

    A dataset version is its content and the contract it was checked against,
    and neither changes once registered (models, evaluations and audit events
    refer to it). The same file under a new contract is refused with the ways
    forward, rather than answered ``already registered`` with the contract ignored.
    """
    if contract_text is None or contract_text == dv.contract:
        return
    had = "another contract" if dv.contract else "no contract"
    raise Conflict(
        f"{dv.dataset.name}@{dv.version} already holds this file, registered with {had}; "
        "a version's contract never changes. To serve a model under the new contract, pass "
        f"it when registering the model (aims model register ... --contract {contract_path}); "
        "to keep the data under it, register the file under a new dataset name (--name)"
    )


def _count_rows(path: Path) -> int:
    import polars as pl

    from aims.core import frames

    return int(frames.collect(frames.scan(path).select(pl.len()), str(path)).item())


def _given_profile(path: Path, contract_path: Path | None) -> FrameProfile | None:
    """The profile in ``path`` when it is a profile file (``aims profile --out``), else None.

    A dataset too large to read on one machine is registered by its profile,
    merged on a cluster: models trained on it get it as their monitoring
    reference, and aims never reads the rows.
    """
    from aims.services.engines.profile_files import is_profile_path, read_profile

    if not is_profile_path(str(path)):
        return None
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    if contract_path is not None:
        raise InvalidInput(
            f"{path} is a profile, and a contract is checked against rows; check the data "
            "with aims contract check CONTRACT DATA, then register its profile without --contract"
        )
    return read_profile(str(path))


def _reference_profile(path: Path) -> bytes:
    """The dataset's serialised reference profile; it fixes the bin edges and
    category sets that every monitoring window of models trained on it reuses."""
    from aims.core.profile import dumps, profile

    return dumps(profile(path))


def _check_dataset_contract(
    ws: Workspace, path: Path, name: str, contract_path: Path, actor: str
) -> str:
    from aims.core.contract import check_contract, dump_contract, load_contract

    contract = load_contract(contract_path)
    report = check_contract(contract, path)
    if not report.passed:
        failed = [r for r in report.to_dict()["rules"] if not r["passed"]]
        with ws.db.session() as s:
            audit.record(
                s,
                actor=actor,
                action="dataset.register.refused",
                subject=f"dataset:{name}",
                payload={
                    "source": str(path),
                    "contract": str(contract_path),
                    "failed_rules": failed,
                },
            )
        summary = "; ".join(
            f"{r['rule']}"
            + (f" on {r['column']}" if r.get("column") else "")
            + (f" ({r['failing_rows']} rows)" if r.get("failing_rows") else "")
            for r in failed[:5]
        )
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise ContractViolation(
            f"{path} breaks contract {contract_path}: {summary}{more}; "
            f"run 'aims contract check {contract_path} {path}' for details",
            failures=failed,
        )
    return dump_contract(contract)


def list_datasets(ws: Workspace) -> list[dict[str, Any]]:
    """Every registered dataset version, oldest first."""
    with ws.db.session() as s:
        rows = s.scalars(select(DatasetVersion).order_by(DatasetVersion.id)).all()
        return [_dataset_payload(dv) for dv in rows]

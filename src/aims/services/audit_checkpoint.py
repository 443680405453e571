"""Checkpoints of the audit chain written outside the store, and verification against them.

``aims audit checkpoint`` (and, when ``audit.checkpoint_url`` is set, the
server every ``audit.checkpoint_interval`` seconds) writes a signed statement
of the chain's size and head to a file, any fsspec URL, or stdout.
``aims audit verify --checkpoint`` then proves the store's chain still extends
it, and lists governance rows no audit event vouches for.

A URL that ends in ``/`` is a folder: each checkpoint gets a file of its own
there (named by size and time, so names sort oldest first), and verifying
against the folder uses the newest one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import func, select

from aims.core.audit import ChainProblem
from aims.core.audit_checkpoint import Checkpoint, StoreFacts, compare, public_key_of, sign
from aims.core.audit_checkpoint import verify_signature as signature_problem
from aims.errors import ConfigError, IntegrityError, InvalidInput, NotFound
from aims.services import anchors, audit
from aims.storage.db import Database
from aims.storage.schema import AuditEvent, AuditHead
from aims.workspace import Workspace

__all__ = [
    "CheckpointSettings",
    "make_checkpoint",
    "public_key",
    "read_checkpoint",
    "report",
    "save_checkpoint",
    "start_checkpoints",
    "write_checkpoint",
]

DEFAULT_INTERVAL = 3600.0
log = logging.getLogger(__name__)


def public_key(db: Database) -> str:
    """The base64 Ed25519 key that verifies this workspace's checkpoints (safe to publish)."""
    return public_key_of(audit.audit_secret(db))


def make_checkpoint(db: Database) -> Checkpoint:
    """A signed checkpoint of the chain as it is now; refused when the chain is broken.

    Signing a broken chain would vouch for the damage.
    """
    chain = audit.verify(db)
    if chain.problem is not None:
        raise IntegrityError(
            f"no checkpoint written: the audit chain is broken ({chain.problem.message}); "
            "investigate with 'aims audit verify'"
        )
    head, keyed_from = audit.head_of(db)
    seq, digest = head if head is not None else (0, "0" * 64)
    cp = Checkpoint(seq, digest, keyed_from, audit.now_utc().isoformat(timespec="seconds"), "")
    return sign(cp, audit.audit_secret(db))


def _is_folder(url: str) -> bool:
    return url.endswith("/")


def write_checkpoint(db: Database, url: str | None) -> tuple[Checkpoint, str | None]:
    """Write a new checkpoint to ``url`` (``None``: only return it); returns it and where."""
    cp = make_checkpoint(db)
    if url is None:
        return cp, None
    return cp, save_checkpoint(cp, url)


def save_checkpoint(cp: Checkpoint, url: str) -> str:
    """Write ``cp`` to ``url`` (a folder URL ending in ``/`` gets a new file); returns where."""
    import fsspec

    target = url
    if _is_folder(url):
        stamp = cp.time.replace(":", "").replace("-", "").replace("+0000", "Z")
        target = f"{url}checkpoint-{cp.events:012d}-{stamp}.json"
    try:
        fs, path = fsspec.core.url_to_fs(target)
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "w", encoding="utf-8") as f:
            f.write(cp.to_text())
    except (OSError, ValueError, ImportError) as exc:
        raise ConfigError(f"cannot write the checkpoint to {target}: {exc}") from None
    return target


def read_checkpoint(url: str) -> tuple[Checkpoint, str]:
    """The checkpoint at ``url`` (the newest one when ``url`` is a folder ending in ``/``)."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if _is_folder(url) or fs.isdir(path):
            names = sorted(
                p for p in fs.ls(path, detail=False) if p.rsplit("/", 1)[-1].endswith(".json")
            )
            if not names:
                raise NotFound(f"no checkpoint files (*.json) in {url}")
            path = names[-1]
        with fs.open(path, "r", encoding="utf-8") as f:
            text = f.read(1 << 16)
    except FileNotFoundError:
        raise NotFound(
            f"checkpoint {url} does not exist; pass the file 'aims audit checkpoint --out' wrote"
        ) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read checkpoint {url}: {exc}") from None
    return Checkpoint.parse(text, source=f"checkpoint {url}"), path


def _store_facts(db: Database, position: int) -> StoreFacts:
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(AuditEvent)) or 0
        last = s.scalar(select(func.max(AuditEvent.seq))) or 0
        head = s.get(AuditHead, 1)
        at = s.scalar(select(AuditEvent.hash).where(AuditEvent.seq == position))
        return StoreFacts(
            n_events=n,
            head_seq=head.seq if head is not None else 0,
            last_seq=last,
            hash_at_checkpoint=at,
            keyed_from=head.keyed_from if head is not None else 1,
        )


def _problem(p: ChainProblem, source: str) -> dict[str, Any]:
    return {"kind": p.kind, "seq": p.seq, "message": p.message, "found_by": source}


def report(
    db: Database, checkpoint: Checkpoint | None = None, trusted_key: str | None = None
) -> dict[str, Any]:
    """Everything ``aims audit verify`` checks, as one report.

    The chain itself (hashes, links, head row, keyed hashes), the chain
    against ``checkpoint`` (signature checked with ``trusted_key``, by default
    this workspace's own public key), and every governance row against its
    audit event. ``ok`` is true only when nothing was found.
    """
    chain = audit.verify(db)
    problems = []
    if chain.problem is not None:
        problems.append(_problem(chain.problem, "chain"))
    out: dict[str, Any] = {"n_events": chain.n_events, "head_seq": chain.head_seq}
    if checkpoint is not None:
        key = trusted_key or public_key(db)
        found = signature_problem(checkpoint, key) or compare(
            checkpoint, _store_facts(db, checkpoint.events)
        )
        if found is not None:
            problems.append(_problem(found, "checkpoint"))
        out["checkpoint"] = {
            "events": checkpoint.events,
            "time": checkpoint.time,
            "extended": found is None,
        }
    for row in anchors.unanchored(db, audit.chain_key_of(db, create=False)):
        problems.append({**row, "seq": row["audit_seq"], "found_by": "governance"})
    out["ok"] = not problems
    out["problems"] = problems
    if problems:
        out["problem"] = problems[0]
    return out


def missing_store(ws_settings: Any) -> ChainProblem | None:
    """The ``missing-store`` case: a SQLite file that no longer exists (checked before opening,
    which would create an empty one)."""
    from sqlalchemy.engine import make_url

    url = make_url(ws_settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    from pathlib import Path

    if Path(url.database).exists():
        return None
    return ChainProblem(
        "missing-store",
        0,
        f"the metadata store {url.database} does not exist: it was deleted or moved "
        "(the audit log went with it)",
    )


class CheckpointSettings:
    """``audit:`` in ``aims.yaml``: ``checkpoint_url`` and ``checkpoint_interval`` (seconds).

    ``$AIMS_AUDIT_CHECKPOINT_URL`` overrides the URL. No URL: no scheduled
    checkpoints.
    """

    def __init__(self, ws: Workspace) -> None:
        import os

        section = ws.settings.raw.get("audit") or {}
        if not isinstance(section, dict):
            raise ConfigError("aims.yaml: 'audit' must be a mapping (checkpoint_url, ...)")
        unknown = sorted(set(section) - {"checkpoint_url", "checkpoint_interval"})
        if unknown:
            raise ConfigError(
                f"aims.yaml: audit: unknown key(s) {', '.join(unknown)}; known keys are "
                "checkpoint_interval, checkpoint_url"
            )
        self.url: str | None = os.environ.get("AIMS_AUDIT_CHECKPOINT_URL") or section.get(
            "checkpoint_url"
        )
        interval = section.get("checkpoint_interval", DEFAULT_INTERVAL)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ConfigError(
                f"aims.yaml: audit.checkpoint_interval must be a positive number of seconds, "
                f"got {interval!r}"
            )
        if self.url is not None and not isinstance(self.url, str):
            raise ConfigError("aims.yaml: audit.checkpoint_url must be a file path or URL")
        self.interval = float(interval)


class CheckpointWriter:
    """Writes a checkpoint every ``interval`` seconds in a daemon thread until closed."""

    def __init__(self, db: Database, url: str, interval: float) -> None:
        self.db, self.url, self.interval = db, url, interval
        self.stop = threading.Event()
        self.written = 0
        self.wrote = threading.Event()  # set after each successful write
        self.last_error: str | None = None
        self.thread = threading.Thread(target=self._run, name="aims-audit-checkpoint", daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                write_checkpoint(self.db, self.url)
                self.written += 1
                self.last_error = None
                self.wrote.set()
            except Exception as exc:
                # Kept for /readyz-style checks and logged; the next tick tries again.
                self.last_error = str(exc)
                log.warning("audit checkpoint to %s failed: %s", self.url, exc)
            self.stop.wait(self.interval)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the schedule and wait for a write in progress."""
        self.stop.set()
        self.thread.join(timeout)


def start_checkpoints(ws: Workspace) -> CheckpointWriter | None:
    """Start scheduled checkpoints when ``audit.checkpoint_url`` is set (one at start)."""
    settings = CheckpointSettings(ws)
    if not settings.url:
        return None
    writer = CheckpointWriter(ws.db, settings.url, settings.interval)
    writer.thread.start()
    return writer

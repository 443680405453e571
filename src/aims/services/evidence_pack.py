"""A sealed evidence pack: everything an auditor reads, in one signed zip file.

``aims report pack --standard iso42001 --out pack.zip`` writes:

=============================  ===========================================================
``report.html``                the evidence report; its links are relative, into the pack
``report.json``, ``report.md`` the same report as data and as Markdown
``cards/<model>.html``         the model card of each model in scope
``statement-of-applicability.json``  every Annex A control's entry, pending ones, history
``external/<hash>-<name>``     each document kept outside aims (from the artifact store)
``external-evidence.json``     every piece of evidence kept outside aims (links included)
``reviews.json``               internal audits and management reviews, with findings
``artifacts.json``             the sha256 of every artifact the report refers to
``checkpoint.json``            a signed audit checkpoint made when the pack was
``manifest.json``              the SHA-256 and size of every file above
``manifest.sig``               the manifest's Ed25519 signature (the checkpoint key)
=============================  ===========================================================

:func:`verify_pack` checks a pack with nothing but the pack (and, best, the
workspace's public key obtained separately: the key written inside the pack
proves only that the pack is whole, not who made it).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

from aims.core.audit_checkpoint import Checkpoint, sign_bytes, signature_valid
from aims.core.audit_checkpoint import verify_signature as checkpoint_problem
from aims.core.standards.facts import ReportScope
from aims.errors import InvalidInput, NotFound
from aims.workspace import Workspace

__all__ = ["FORMAT", "build_pack", "check_out", "pack_summary", "verify_pack"]

FORMAT = "aims-evidence-pack/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
# Fixed zip timestamps: the same files give the same archive bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n").encode("utf-8")


def _cards(ws: Workspace, models: list[Any]) -> dict[str, bytes]:
    from aims.services import card
    from aims.services.evidence_render import card_path

    out = {}
    for m in models:
        version = next(iter(m.reviewed), None)
        if version is None:
            continue
        html = card.render_html(card.card_data(ws, f"{m.name}@{version.version}"))
        out[card_path(m.name)] = html.encode("utf-8")
    return out


def _artifacts(report: Any) -> list[dict[str, Any]]:
    rows = []
    for m in report.facts.in_scope:
        for v in m.reviewed:
            rows.append(
                {
                    "kind": "model",
                    "ref": f"{m.name}@{v.version}",
                    "sha256": v.artifact_sha256,
                }
            )
            rows.extend(
                {"kind": "dataset", "ref": d.ref, "used_by": f"{m.name}@{v.version}",
                 "sha256": d.content_hash}
                for d in v.datasets
            )  # fmt: skip
    rows.extend(
        {"kind": f"external {p.kind}", "ref": p.name, "control": p.control, "sha256": p.sha256}
        for p in getattr(report, "pieces", ())
    )
    return rows


def check_out(out: Path) -> Path:
    """``out`` as the path of a pack, refused unless it names a ``.zip`` file."""
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InvalidInput(f"{out}: an evidence pack is a zip file; give --out NAME.zip")
    return out


def pack_summary(path: Path) -> dict[str, Any]:
    """The summary :func:`build_pack` returns, read back from the manifest of the pack at
    ``path`` (a pack made elsewhere, e.g. downloaded from a server). Not a check of the
    pack: :func:`verify_pack` is."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
            files = len(zf.namelist())
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput(f"{path} is not an aims evidence pack ({exc})") from None
    return {
        "written": str(path),
        "files": files,
        "summary": manifest.get("summary"),
        "public_key": manifest.get("public_key"),
        "checkpoint_events": (manifest.get("checkpoint") or {}).get("events"),
    }


def build_pack(
    ws: Workspace,
    out: Path,
    *,
    standard: str = "iso42001",
    project: str | None = None,
    scope: ReportScope = "deployed",
) -> dict[str, Any]:
    """Write the evidence pack of ``standard`` to ``out`` (a ``.zip``); returns its summary."""
    from aims.services import (
        applicability,
        audit,
        audit_checkpoint,
        evidence,
        evidence_render,
        external_evidence,
        management_review,
    )

    out = check_out(out)
    report = evidence.compliance_report(ws, standard, scope=scope, project=project)
    today = report.facts.today
    files: dict[str, bytes] = {
        "report.html": evidence_render.render_html(report, links="pack").encode("utf-8"),
        "report.json": evidence_render.render_json(report).encode("utf-8"),
        "report.md": evidence_render.render_markdown(report).encode("utf-8"),
    }
    files.update(_cards(ws, list(report.facts.in_scope)))
    files["statement-of-applicability.json"] = _json(applicability.statement(ws, project))
    pieces = external_evidence.pieces(ws, project)
    for p in pieces:
        if p.kind == "file":
            files[f"external/{p.file_name}"] = ws.artifacts.get_bytes(p.sha256)
    files["external-evidence.json"] = _json(
        [
            {**p.to_dict(today), "in_pack": f"external/{p.file_name}" if p.kind == "file" else None}
            for p in pieces
        ]
    )
    files["reviews.json"] = _json(management_review.list_reviews(ws, project, today))
    files["artifacts.json"] = _json(_artifacts(report))
    # The checkpoint is made after everything above was read, so it covers every event the
    # report cites.
    checkpoint = audit_checkpoint.make_checkpoint(ws.db)
    files["checkpoint.json"] = checkpoint.to_text().encode("utf-8")
    manifest = {
        "format": FORMAT,
        "standard": report.standard.key,
        "project": report.facts.project,
        "generated_at": report.facts.now.isoformat(timespec="seconds"),
        "public_key": checkpoint.public_key,
        "checkpoint": {"events": checkpoint.events, "head_hash": checkpoint.head_hash},
        "summary": report.summary,
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        },
    }
    manifest_bytes = _json(manifest)
    signature = sign_bytes(manifest_bytes, audit.audit_secret(ws.db))
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [*sorted(files.items()), (MANIFEST, manifest_bytes)]:
            zf.writestr(zipfile.ZipInfo(name, _EPOCH), data, zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo(SIGNATURE, _EPOCH), signature + "\n")
    return {
        "written": str(out),
        "files": len(files) + 2,
        "summary": report.summary,
        "public_key": checkpoint.public_key,
        "checkpoint_events": checkpoint.events,
    }


def _problem(file: str, message: str) -> dict[str, str]:
    return {"file": file, "message": message}


def verify_pack(path: Path, *, trusted_key: str | None = None) -> dict[str, Any]:
    """Check a pack offline: the manifest's signature, every file's SHA-256, no file added or
    missing, and the audit checkpoint's signature. ``ok`` is true only when nothing was found;
    each problem names its file."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path} does not exist; give the zip 'aims report pack' wrote")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{path} is not a zip file ({exc}); give the pack itself") from None
    problems: list[dict[str, str]] = []
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names or SIGNATURE not in names:
            raise InvalidInput(
                f"{path} has no {MANIFEST} or {SIGNATURE}: it is not an aims evidence pack"
            )

        def read(name: str) -> bytes | None:
            try:
                return zf.read(name)
            except (zipfile.BadZipFile, OSError, zlib.error) as exc:
                problems.append(_problem(name, f"cannot be read from the zip ({exc})"))
                return None

        manifest_bytes = read(MANIFEST) or b""
        signature = (read(SIGNATURE) or b"").decode("ascii", "replace").strip()
        try:
            manifest = json.loads(manifest_bytes)
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError(f"not {FORMAT}")
        except ValueError as exc:
            problems.append(_problem(MANIFEST, f"is not a readable manifest ({exc})"))
            return {"ok": False, "pack": str(path), "problems": problems}
        key = str(manifest.get("public_key", ""))
        if trusted_key is not None and trusted_key.strip() != key:
            problems.append(
                _problem(
                    MANIFEST,
                    f"is signed with key {key[:12]}..., not the trusted key "
                    f"{trusted_key.strip()[:12]}...: the pack was made by another workspace",
                )
            )
        if not signature_valid(manifest_bytes, signature, key):
            problems.append(
                _problem(MANIFEST, "its signature (manifest.sig) does not verify: it was altered")
            )
        listed: dict[str, Any] = manifest.get("files") or {}
        for name in sorted(listed):
            want = listed[name]
            if name not in names:
                problems.append(_problem(name, "is listed in the manifest but missing"))
                continue
            data = read(name)
            if data is None:
                continue
            got = hashlib.sha256(data).hexdigest()
            if got != want.get("sha256"):
                problems.append(
                    _problem(
                        name,
                        f"was changed: its SHA-256 is {got}, the manifest says "
                        f"{want.get('sha256')}",
                    )
                )
        for name in sorted(names - set(listed) - {MANIFEST, SIGNATURE}):
            problems.append(_problem(name, "is in the pack but not in the manifest (added)"))
        cp_info: dict[str, Any] | None = None
        if "checkpoint.json" in names and "checkpoint.json" in listed:
            raw = read("checkpoint.json")
            try:
                cp = Checkpoint.parse((raw or b"").decode("utf-8"), source="checkpoint.json")
                found = checkpoint_problem(cp, key)
                if found is not None:
                    problems.append(_problem("checkpoint.json", found.message))
                cp_info = {"events": cp.events, "time": cp.time, "head_hash": cp.head_hash}
            except (InvalidInput, UnicodeDecodeError) as exc:
                problems.append(_problem("checkpoint.json", str(exc)))
    return {
        "ok": not problems,
        "pack": str(path),
        "files": len(listed),
        "standard": manifest.get("standard"),
        "generated_at": manifest.get("generated_at"),
        "public_key": key,
        "key_trusted": trusted_key is not None and trusted_key.strip() == key,
        "checkpoint": cp_info,
        "summary": manifest.get("summary"),
        "problems": problems,
    }

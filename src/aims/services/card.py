"""Model cards: Markdown with YAML front matter (and HTML), generated from the store.

:func:`card_data` reads the facts; :mod:`aims.services.card_view` makes them
the typed view model both formats draw, and :mod:`aims.services.card_render`
renders it from templates.

Nothing in a card is typed by hand: every line comes from the registry, the
latest evaluation, the risk assessment, approvals, the stage history and the
audit log (overrides).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aims.refs import parse_ref
from aims.services import card_render, lifecycle
from aims.services.card_llm import application_facts
from aims.services.card_view import card_view
from aims.services.governance import approvals_of, latest_evaluation, latest_risk
from aims.services.registry import get_model_version, owners_by_role, version_payload
from aims.storage.schema import AuditEvent
from aims.workspace import Workspace


def card_data(ws: Workspace, text: str) -> dict[str, Any]:
    """Everything a card shows, read from the store."""
    ref = parse_ref(text)
    with ws.db.session() as s:
        mv = get_model_version(s, ref)
        version = version_payload(mv)
        risk = latest_risk(s, mv.model_id)
        evaluation = latest_evaluation(s, mv.id)
        approvals = [
            {"actor": a.actor, "roles": a.role, "note": a.note, "at": a.created_at}
            for a in approvals_of(s, mv.id)
        ]
        subject = f"model:{mv.model.name}@{mv.version}"
        overrides = [
            {"at": e.ts, "actor": e.actor, **json.loads(e.payload)}
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject == subject, AuditEvent.action == "model.promote.override")
                .order_by(AuditEvent.seq)
            ).all()
        ]
        datasets = [
            {
                "ref": f"{d.dataset.name}@{d.version}",
                "rows": d.row_count,
                "sha256": d.content_hash,
                "columns": d.schema,
            }
            for d in mv.inputs
        ]
        owners = owners_by_role(mv.model)
        contract = mv.input_contract
    history = [h for h in lifecycle.history(ws, ref.name) if h["version"] == version["version"]]
    return {
        "model": version["name"],
        "version": version["version"],
        "stage": version["stage"],
        "flavour": version["flavour"],
        "task": version["task"],
        "features": version["features"] or [],
        "classes": version["classes"],
        "artifact_sha256": version["artifact_sha256"],
        "git_commit": version["git_commit"],
        "registered_by": version["created_by"],
        "registered_at": version["created_at"],
        "owners": owners,
        "datasets": datasets,
        "has_contract": contract is not None,
        "application": application_facts(version),
        "risk": None
        if risk is None
        else {"version": risk.version, "tier": risk.tier, **risk.document},
        "evaluation": evaluation,
        "approvals": approvals,
        "overrides": overrides,
        "history": history,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def render_markdown(d: dict[str, Any], svg_name: str | None = None) -> str:
    """The card as Markdown with YAML front matter (``d`` from :func:`card_data`)."""
    return card_render.markdown(card_view(d), svg_name)


def render_html(d: dict[str, Any]) -> str:
    """The card as a standalone HTML page, the reliability diagram inline."""
    return card_render.html(card_view(d), reliability_svg(d))


def reliability_svg(d: dict[str, Any]) -> str | None:
    """The reliability diagram of the latest evaluation, as SVG (``None`` without one)."""
    stored = d["evaluation"]
    cal = stored and stored["evaluation"].get("calibration")
    if not cal:
        return None
    from aims.core.calibration import Calibration
    from aims.core.plots import reliability_svg as draw

    return draw(Calibration.from_dict(cal), title=f"{d['model']} v{d['version']}: reliability")


def write_card(ws: Workspace, text: str, out: Path) -> list[Path]:
    """Write the card to ``out`` (``.md`` or ``.html``); returns the files written."""
    return write_card_data(card_data(ws, text), out)


def write_card_data(d: dict[str, Any], out: Path) -> list[Path]:
    """Write the card of ``d`` (from :func:`card_data`, here or on a server) to ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".html", ".htm"):
        out.write_text(render_html(d), encoding="utf-8")
        return [out]
    svg = reliability_svg(d)
    written = []
    svg_name = None
    if svg:
        svg_path = out.with_name(out.stem + "_reliability.svg")
        svg_path.write_text(svg, encoding="utf-8")
        svg_name = svg_path.name
        written.append(svg_path)
    out.write_text(render_markdown(d, svg_name), encoding="utf-8")
    return [out, *written]

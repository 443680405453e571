"""Model cards: Markdown with YAML front matter (and HTML), generated from the store.

Nothing in a card is typed by hand: every line comes from the registry, the
latest evaluation, the risk assessment, approvals, the stage history and the
audit log (overrides).
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from aims.refs import parse_ref
from aims.services import lifecycle
from aims.services.governance import approvals_of, latest_evaluation, latest_risk
from aims.services.registry import get_model_version, version_payload
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
        owners = {o.role: o.owner for o in mv.model.owners}
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
        "risk": None
        if risk is None
        else {"version": risk.version, "tier": risk.tier, **risk.document},
        "evaluation": evaluation,
        "approvals": approvals,
        "overrides": overrides,
        "history": history,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "_none_\n"
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = "".join(
        "| " + " | ".join(_fmt(r.get(c)).replace("|", "\\|") for c in cols) + " |\n" for r in rows
    )
    return head + body


def _front_matter(d: dict[str, Any]) -> dict[str, Any]:
    ev = (d["evaluation"] or {}).get("evaluation") or {}
    return {
        "model": d["model"],
        "version": d["version"],
        "stage": d["stage"],
        "task": d["task"],
        "flavour": d["flavour"],
        "artifact_sha256": d["artifact_sha256"],
        "git_commit": d["git_commit"],
        "owners": d["owners"],
        "training_data": [x["ref"] for x in d["datasets"]],
        "risk_tier": (d["risk"] or {}).get("tier"),
        "approved_by": [a["actor"] for a in d["approvals"]],
        "policy_overrides": len(d["overrides"]),
        "metrics": {k: round(v, 6) for k, v in (ev.get("metrics") or {}).items() if v is not None},
        "generated_at": d["generated_at"],
    }


def render_markdown(d: dict[str, Any], svg_name: str | None = None) -> str:
    """The card as Markdown with YAML front matter."""
    fm = yaml.safe_dump(_front_matter(d), sort_keys=False, allow_unicode=True)
    out = [f"---\n{fm}---\n", f"# Model card: {d['model']} v{d['version']}\n"]
    out.append(
        f"Stage **{d['stage']}** · {d['task']} · flavour {d['flavour']} · "
        f"registered by {d['registered_by']} on {_fmt(d['registered_at'])[:10]}\n"
    )
    risk = d["risk"]
    out.append("\n## Intended use\n\n")
    if risk:
        out.append(f"{risk['intended_use']}\n")
        if risk.get("out_of_scope"):
            out.append("\nOut of scope:\n\n" + "".join(f"- {x}\n" for x in risk["out_of_scope"]))
    else:
        out.append("_No risk assessment recorded: record one with `aims risk assess`._\n")
    out.append("\n## Owners\n\n")
    out.append(_table([{"role": k, "owner": v} for k, v in d["owners"].items()], ["role", "owner"]))
    out.append("\n## Training data\n\n")
    out.append(_table(d["datasets"], ["ref", "rows", "sha256"]))
    out.append(
        f"\nInput features ({len(d['features'])}): {', '.join(d['features'])}. "
        + (
            "An input contract is recorded and enforced when serving.\n"
            if d["has_contract"]
            else "No input contract.\n"
        )
    )
    stored = d["evaluation"]
    out.append("\n## Evaluation\n\n")
    if not stored:
        out.append("_Not evaluated: run `aims evaluate NAME@VERSION --data FILE`._\n")
    else:
        ev = stored["evaluation"]
        champ = (stored.get("champion") or {}).get("evaluation")
        out.append(f"On `{Path(stored['data']).name}` ({ev['n_rows']} rows).\n\n")
        rows = []
        for k, v in ev["metrics"].items():
            row = {"metric": k, "value": v}
            if champ:
                row["production"] = champ["metrics"].get(k)
            rows.append(row)
        out.append(_table(rows, ["metric", "value"] + (["production"] if champ else [])))
        cal = ev.get("calibration")
        if cal:
            out.append("\n### Calibration\n\n")
            out.append(f"Expected calibration error {cal['ece']:.4f} ({cal['n_bins']} bins).\n")
            if svg_name:
                out.append(f"\n![reliability diagram]({svg_name})\n")
        if ev.get("slices"):
            out.append("\n### Slices (worst flagged)\n\n")
            flagged = [s for s in ev["slices"] if s.get("flagged")] or ev["slices"][:5]
            out.append(
                _table(
                    [
                        {"slice": f"{s['column']}={s['value']}", "n": s["n"], **s["metrics"]}
                        for s in flagged
                    ],
                    ["slice", "n", *list(flagged[0]["metrics"])[:4]],
                )
            )
        out.append("\n### Fairness\n\n")
        if not ev.get("fairness"):
            # Saying so is part of the record: an absent section reads as an omission.
            out.append(
                "_Not measured: no sensitive column was named. Evaluate with "
                f"`aims evaluate {d['model']}@{d['version']} --data PATH "
                "--sensitive COLUMN`._\n"
            )
        else:
            for col, fair in ev["fairness"].items():
                stats = fair.get("statistics", fair)
                out.append(f"Sensitive column `{col}`:\n\n")
                out.append(
                    _table(
                        [
                            {"statistic": k, "value": v}
                            for k, v in stats.items()
                            if isinstance(v, int | float)
                        ],
                        ["statistic", "value"],
                    )
                )
        if ev.get("robustness"):
            out.append("\n### Robustness\n\n")
            out.append(
                _table(
                    [
                        {"perturbation": k, **{m: v for m, v in (r.get("delta") or {}).items()}}
                        for k, r in ev["robustness"].items()
                    ],
                    [
                        "perturbation",
                        *list(next(iter(ev["robustness"].values())).get("delta") or {})[:4],
                    ],
                )
            )
        if ev.get("importance"):
            out.append(
                f"\n### Feature importance (permutation, drop in {ev['importance'].get('metric')})\n\n"
            )
            features = ev["importance"].get("features", {})
            imp = sorted(features.items(), key=lambda kv: -kv[1].get("mean", 0))[:10]
            out.append(_table([{"feature": k, **v} for k, v in imp], ["feature", "mean", "std"]))
        if ev.get("shap"):
            sh = ev["shap"]
            out.append(
                f"\n### SHAP (mean |SHAP value| on {sh['rows']} rows, effect on {sh['output']})\n\n"
            )
            ranked = sorted(sh["features"].items(), key=lambda kv: -kv[1])[:10]
            out.append(
                _table(
                    [{"feature": k, "mean |SHAP|": v} for k, v in ranked],
                    ["feature", "mean |SHAP|"],
                )
            )
    out.append("\n## Limitations\n\n")
    lim = []
    if risk:
        lim += [
            f"{fm['name']}: {fm.get('description', '')} (likelihood {fm['likelihood']}, impact {fm['impact']})"
            for fm in risk.get("failure_modes", [])
        ]
    if stored:
        lim += [
            f"weak slice {s['column']}={s['value']} (n={s['n']})"
            for s in stored["evaluation"].get("slices", [])
            if s.get("flagged")
        ]
        lim += stored["evaluation"].get("notes", [])
    out.append("".join(f"- {x}\n" for x in lim) or "_none recorded_\n")
    out.append("\n## Risk assessment\n\n")
    if risk:
        out.append(
            f"Tier **{risk['risk_tier']}** (assessment v{risk['version']}, reviewer {risk['reviewer']}, "
            f"assessed {risk['assessed_on']}, next review {risk['next_review']}). "
            f"Residual risk: {risk['residual_risk']}.\n\n"
            f"Downstream impact of degraded performance: {risk['downstream_impact']}\n"
        )
        if risk.get("mitigations"):
            out.append("\nMitigations:\n\n" + "".join(f"- {m}\n" for m in risk["mitigations"]))
    else:
        out.append("_none_\n")
    out.append("\n## Approvals\n\n")
    out.append(_table(d["approvals"], ["actor", "roles", "note", "at"]))
    if d["overrides"]:
        out.append("\n## Policy overrides\n\n")
        out.append(
            _table(
                [
                    {
                        "at": o["at"],
                        "actor": o["actor"],
                        "reason": o.get("override", {}).get("reason"),
                        "unmet": ", ".join(
                            u["rule"] for u in o.get("override", {}).get("unmet", [])
                        ),
                    }
                    for o in d["overrides"]
                ],
                ["at", "actor", "reason", "unmet"],
            )
        )
    out.append("\n## Stage history\n\n")
    out.append(_table(d["history"], ["at", "from", "to", "actor", "reason"]))
    out.append(f"\n_Generated by aims from the store on {d['generated_at']}._\n")
    return "".join(out)


def reliability_svg(d: dict[str, Any]) -> str | None:
    """The reliability diagram of the latest evaluation, as SVG (``None`` without one)."""
    stored = d["evaluation"]
    cal = stored and stored["evaluation"].get("calibration")
    if not cal:
        return None
    from aims.core.calibration import Calibration, CalibrationBin
    from aims.core.plots import reliability_svg as draw

    c = Calibration(
        kind=cal["kind"],
        n_bins=cal["n_bins"],
        ece=cal["ece"],
        mce=cal["mce"],
        bins=tuple(CalibrationBin(**b) for b in cal["bins"]),
    )
    return draw(c, title=f"{d['model']} v{d['version']}: reliability")


def render_html(d: dict[str, Any]) -> str:
    """The card as a standalone HTML page (the reliability diagram inline)."""
    md = render_markdown(d, svg_name=None)
    body = md.split("---\n", 2)[2]
    svg = reliability_svg(d) or ""
    html_lines = []
    for line in body.splitlines():
        if line.startswith("# "):
            html_lines.append(f"<h1>{escape(line[2:])}</h1>")
        elif line.startswith("## "):
            html_lines.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("### "):
            html_lines.append(f"<h3>{escape(line[4:])}</h3>")
            if line.strip() == "### Calibration" and svg:
                html_lines.append(svg)
        elif line.startswith("|---"):
            continue
        elif line.startswith("| "):
            cells = [escape(c.strip()) for c in line.strip().strip("|").split("|")]
            html_lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        elif line.startswith("- "):
            html_lines.append(f"<li>{escape(line[2:])}</li>")
        elif line.strip():
            html_lines.append(f"<p>{escape(line)}</p>")
    inner = "\n".join(html_lines)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Model card {escape(d['model'])} v{d['version']}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "td{border:1px solid #ccc;padding:2px 6px}tr:first-child td{font-weight:600;background:#f4f4f4}"
        "</style></head><body>\n" + _wrap_tables(inner) + "\n</body></html>\n"
    )


def _wrap_tables(html: str) -> str:
    out, in_table = [], False
    for line in html.splitlines():
        is_row = line.startswith("<tr>")
        if is_row and not in_table:
            out.append("<table>")
            in_table = True
        if not is_row and in_table:
            out.append("</table>")
            in_table = False
        out.append(line)
    if in_table:
        out.append("</table>")
    return "\n".join(out)


def write_card(ws: Workspace, text: str, out: Path) -> list[Path]:
    """Write the card to ``out`` (``.md`` or ``.html``); returns the files written."""
    d = card_data(ws, text)
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

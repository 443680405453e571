"""A self-contained HTML drift report: one card per column, reference and current side by side.

The page needs nothing from the network: styles are inline and every chart is
an inline SVG of the bars :func:`aims.core.drift.bars.distribution` computes
from the two profiles kept on the report (the dashboard draws the same bars). Columns are
sorted by drift score, most drifted first.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape
from typing import Any

from aims.core.drift import bars
from aims.core.drift.result import ColumnDrift, DriftReport
from aims.core.profile import categorical as cat
from aims.core.profile import numeric as num

WIDTH, HEIGHT, PAD = 560, 160, 28
DISPLAY_BINS = 30
TOP_CATEGORIES = 15
REF_COLOUR, CUR_COLOUR = "#4c78a8", "#f58518"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;
max-width:1200px}
h1{font-size:1.4rem}.summary{margin:1rem 0 2rem;font-size:1rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem;
display:flex;gap:1.5rem;align-items:flex-start;flex-wrap:wrap}
.meta{min-width:300px;flex:1}.meta h2{font-size:1.05rem;margin:.1rem 0 .4rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:4px;font-size:.8rem;color:#fff}
.drift{background:#c0392b}.ok{background:#27ae60}
table{border-collapse:collapse;font-size:.85rem}td{padding:.1rem .6rem .1rem 0}
.note{color:#8a6d3b;font-size:.85rem}.legend span{margin-right:1rem;font-size:.8rem}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
"""


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value != 0 and (abs(value) < 10**-digits or abs(value) >= 1e6):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def _axis_label(value: float, kind: str, label: str) -> str:
    if kind == "datetime":
        try:
            stamp = dt.datetime.fromtimestamp(value / 1e6, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return label
        return stamp.strftime("%Y-%m-%d %H:%M")
    return label


def _bars_svg(data: dict[str, Any], kind: str) -> str:
    """Reference and current bars side by side, one slot per bar of ``data``."""
    ref, cur = data.get("reference"), data.get("current")
    labels = data.get("labels") or []
    if not labels or ref is None or cur is None:
        return ""
    top = max(max(ref, default=0.0), max(cur, default=0.0)) or 1.0
    slot = (WIDTH - 2 * PAD) / len(labels)
    bar = slot * 0.4
    sy = (HEIGHT - 2 * PAD - 12) / top
    base = HEIGHT - PAD
    parts = []
    for k in range(len(labels)):
        x = PAD + k * slot + slot * 0.1
        for j, (share, colour) in enumerate(((ref[k], REF_COLOUR), (cur[k], CUR_COLOUR))):
            h = share * sy
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}" fill-opacity="0.8"/>'
            )
    parts += _axis(data, kind, slot)
    return _svg("".join(parts) + _baseline())


def _axis(data: dict[str, Any], kind: str, slot: float) -> list[str]:
    """Tick labels: the numeric ticks of the bars, or each category's name (shortened)."""
    if data["kind"] == "numeric":
        edges = data["edges"]
        span = (edges[-1] - edges[0]) or 1.0
        spots = [
            (PAD + (pos - edges[0]) / span * (WIDTH - 2 * PAD), _axis_label(pos, kind, label))
            for pos, label in data["ticks"]
        ]
        size = 10 if kind != "datetime" else 8
        if kind == "datetime":  # long stamps: only the first and the last
            spots = spots[:1] + spots[-1:] if len(spots) > 1 else spots
    else:
        spots = [(PAD + (k + 0.5) * slot, label) for k, label in enumerate(data["labels"])]
        size = 9
    out = []
    for x, label in spots:
        text = label if len(label) <= 10 else label[:9] + "…"
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="{size}" text-anchor="middle">'
            f"{escape(text)}</text>"
        )
    return out


def _baseline() -> str:
    y = HEIGHT - PAD
    return f'<line x1="{PAD}" y1="{y}" x2="{WIDTH - PAD}" y2="{y}" stroke="#999"/>'


def _svg(body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{body}</svg>'
    )


def _chart(report: DriftReport, row: ColumnDrift) -> str:
    if report.reference is None or report.current is None:
        return ""
    ref = report.reference.columns.get(row.name)
    cur = report.current.columns.get(row.name)
    if not isinstance(ref, num.NumericProfile | cat.CategoricalProfile):
        return ""
    if type(ref) is not type(cur) or ref.layout != getattr(cur, "layout", 0):
        return ""
    data = bars.distribution(ref, cur, max_bars=DISPLAY_BINS, top=TOP_CATEGORIES)
    return "" if data is None else _bars_svg(data, ref.kind)


def _card(report: DriftReport, row: ColumnDrift) -> str:
    badge = (
        '<span class="badge drift">drift</span>'
        if row.drifted
        else ('<span class="badge ok">no drift</span>')
    )
    rows = [
        ("kind", row.kind),
        ("test", row.test),
        ("statistic", _fmt(row.statistic)),
        ("threshold", _fmt(row.threshold, 3)),
        ("p-value", _fmt(row.p_value)),
        ("values (ref / cur)", f"{row.n_reference:,} / {row.n_current:,}"),
        ("missing (ref / cur)", f"{row.missing_reference:.1%} / {row.missing_current:.1%}"),
    ]
    if row.infinite_reference or row.infinite_current:
        rows.append(
            ("infinite (ref / cur)", f"{row.infinite_reference:.1%} / {row.infinite_current:.1%}")
        )
    if row.p_value_adjusted is not None:
        rows.append(("adjusted p-value", _fmt(row.p_value_adjusted)))
    if row.error_bound is not None:
        rows.append(("error bound", _fmt(row.error_bound)))
    table = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    note = f'<p class="note">{escape(row.note)}</p>' if row.note else ""
    return (
        f'<section class="card"><div class="meta"><h2>{escape(row.name)} {badge}</h2>'
        f"<table>{table}</table>{note}</div><div>{_chart(report, row)}</div></section>"
    )


def render(report: DriftReport, *, title: str = "aims drift report") -> str:
    """The report as one HTML page (no external resources).

    Examples
    --------
    >>> import polars as pl
    >>> from aims.core.drift import compare
    >>> page = render(compare(pl.DataFrame({"x": [1.0, 2.0]}), pl.DataFrame({"x": [2.0, 3.0]})))
    >>> page.startswith("<!DOCTYPE html>") and "<svg" in page
    True
    """
    rows = sorted(report.columns, key=lambda r: -r.score if math.isfinite(r.score) else -1e300)
    verdict = "dataset drift" if report.dataset_drift else "no dataset drift"
    summary = (
        f"<p class='summary'><strong>{escape(verdict)}</strong>: {report.n_drifted} of "
        f"{len(report.columns)} columns drifted ({report.share_drifted:.0%}; the dataset drifts at "
        f"{report.drift_share:.0%}). Method: {escape(report.method)}; correction: "
        f"{escape(report.correction)}.</p>"
        f"<p class='legend'><span><i class='sw' style='background:{REF_COLOUR}'></i>reference</span>"
        f"<span><i class='sw' style='background:{CUR_COLOUR}'></i>current</span></p>"
    )
    cards = "".join(_card(report, r) for r in rows)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>{summary}{cards}</body></html>\n"
    )

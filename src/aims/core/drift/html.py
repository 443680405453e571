"""A self-contained HTML drift report: one card per column, reference and current overlaid.

The page needs nothing from the network: styles are inline and every chart is
an inline SVG drawn from the two profiles kept on the report. Columns are
sorted by drift score, most drifted first.
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import numpy as np

from aims.core.drift.result import ColumnDrift, DriftReport
from aims.core.profile import categorical as cat
from aims.core.profile import numeric as num

WIDTH, HEIGHT, PAD = 560, 160, 28
DISPLAY_BINS = 40
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


def _axis_label(value: float, kind: str) -> str:
    if kind == "datetime":
        try:
            stamp = dt.datetime.fromtimestamp(value / 1e6, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return _fmt(value, 3)
        return stamp.strftime("%Y-%m-%d %H:%M")
    return f"{value:.4g}"


def _numeric_svg(ref: num.NumericProfile, cur: num.NumericProfile) -> str:
    edges, rc, cc = num.aligned(ref, cur)
    if rc.size == 0 or edges[-1] <= edges[0]:
        return ""
    both = np.concatenate([[0.0], np.cumsum(rc + cc) / (rc.sum() + cc.sum())])
    lo, hi = np.interp([0.005, 0.995], both, edges)
    if not hi > lo:
        lo, hi = edges[0], edges[-1]
    if not hi > lo:
        return ""
    grid = np.linspace(lo, hi, DISPLAY_BINS + 1)
    series = []
    for counts in (rc, cc):
        cdf = np.concatenate([[0.0], np.cumsum(counts) / max(counts.sum(), 1)])
        series.append(np.diff(np.interp(grid, edges, cdf)))
    top = max(float(s.max()) for s in series) or 1.0
    sx = (WIDTH - 2 * PAD) / (hi - lo)
    sy = (HEIGHT - 2 * PAD) / top
    base = HEIGHT - PAD
    paths = []
    for mass, colour, opacity in ((series[0], REF_COLOUR, 0.35), (series[1], CUR_COLOUR, 0.35)):
        pts = [f"{PAD:.1f},{base:.1f}"]
        for k, m in enumerate(mass):
            x0, x1 = PAD + (grid[k] - lo) * sx, PAD + (grid[k + 1] - lo) * sx
            y = base - m * sy
            pts += [f"{x0:.1f},{y:.1f}", f"{x1:.1f},{y:.1f}"]
        pts.append(f"{WIDTH - PAD:.1f},{base:.1f}")
        paths.append(
            f'<polygon points="{" ".join(pts)}" fill="{colour}" fill-opacity="{opacity}" '
            f'stroke="{colour}" stroke-width="1.2"/>'
        )
    kind = ref.kind
    labels = (
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{escape(_axis_label(lo, kind))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
        f"{escape(_axis_label(hi, kind))}</text>"
    )
    return _svg("".join(paths) + _baseline() + labels)


def _categorical_svg(ref: cat.CategoricalProfile, cur: cat.CategoricalProfile) -> str:
    names, rc, cc = cat.aligned(ref, cur)
    if rc.size == 0:
        return ""
    r = rc / max(rc.sum(), 1)
    c = cc / max(cc.sum(), 1)
    order = np.argsort(-np.maximum(r, c), kind="stable")[:TOP_CATEGORIES]
    top = float(np.maximum(r, c)[order].max()) or 1.0
    slot = (WIDTH - 2 * PAD) / len(order)
    bar = slot * 0.38
    sy = (HEIGHT - 2 * PAD - 12) / top
    base = HEIGHT - PAD
    parts = []
    for k, i in enumerate(order):
        x = PAD + k * slot + slot * 0.1
        for j, (share, colour) in enumerate(((r[i], REF_COLOUR), (c[i], CUR_COLOUR))):
            h = share * sy
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}" fill-opacity="0.8"/>'
            )
        label = "(other)" if names[i] is None else str(names[i])
        if len(label) > 10:
            label = label[:9] + "…"
        parts.append(
            f'<text x="{x + bar:.1f}" y="{HEIGHT - 8}" font-size="9" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return _svg("".join(parts) + _baseline())


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
    same_layout = (
        ref is not None
        and cur is not None
        and getattr(ref, "layout", None) == getattr(cur, "layout", 0)
    )
    if isinstance(ref, num.NumericProfile) and isinstance(cur, num.NumericProfile) and same_layout:
        return _numeric_svg(ref, cur)
    if (
        isinstance(ref, cat.CategoricalProfile)
        and isinstance(cur, cat.CategoricalProfile)
        and same_layout
    ):
        return _categorical_svg(ref, cur)
    return ""


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

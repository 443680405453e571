"""Small self-contained SVG charts for reports and model cards (no plotting library needed).

Examples
--------
>>> from aims.core.calibration import reliability
>>> svg = reliability_svg(reliability([0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8], n_bins=2))
>>> svg.startswith("<svg") and "ECE 0.250" in svg
True
"""

from __future__ import annotations

from html import escape

from aims.core.calibration import Calibration

_MARGIN = 44.0


def reliability_svg(
    cal: Calibration, *, size: int = 360, title: str = "Reliability diagram"
) -> str:
    """A reliability diagram: observed rate against mean predicted probability per bin.

    Bars show the observed rate of each non-empty bin over its probability
    range; a dot marks the bin's mean predicted probability; the diagonal is
    perfect calibration. The bin counts are printed under the axis.

    Parameters
    ----------
    cal
        From :func:`aims.core.calibration.reliability` or ``EvaluationResult.calibration``.
    size
        Width and height in pixels.
    title
        Text above the chart (escaped).
    """
    plot = size - 2 * _MARGIN

    def x(p: float) -> float:
        return _MARGIN + p * plot

    def y(p: float) -> float:
        return size - _MARGIN - p * plot

    what = "positive class" if cal.kind == "positive_class" else "predicted class"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{size / 2:.1f}" y="16" text-anchor="middle" font-size="13">'
        f"{escape(title)} (ECE {cal.ece:.3f})</text>",
        f'<rect x="{_MARGIN}" y="{_MARGIN}" width="{plot:.1f}" height="{plot:.1f}" '
        'fill="none" stroke="#888"/>',
        f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(1):.1f}" y2="{y(1):.1f}" '
        'stroke="#888" stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{size - _MARGIN + 26:.1f}" text-anchor="middle">'
            f"{tick:g}</text>"
        )
        parts.append(
            f'<text x="{_MARGIN - 6:.1f}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
    for b in cal.bins:
        if b.count == 0 or b.observed_rate is None or b.mean_predicted is None:
            continue
        top = y(b.observed_rate)
        parts.append(
            f'<rect x="{x(b.lower) + 1:.1f}" y="{top:.1f}" '
            f'width="{max(x(b.upper) - x(b.lower) - 2, 1):.1f}" '
            f'height="{y(0) - top:.1f}" fill="#4a7ebb" fill-opacity="0.75">'
            f"<title>{b.lower:g}-{b.upper:g}: observed {b.observed_rate:.3f}, "
            f"predicted {b.mean_predicted:.3f}, n={b.count}</title></rect>"
        )
        parts.append(
            f'<circle cx="{x(b.mean_predicted):.1f}" cy="{y(b.observed_rate):.1f}" r="3" '
            'fill="#d9534f"/>'
        )
        parts.append(
            f'<text x="{x((b.lower + b.upper) / 2):.1f}" y="{size - _MARGIN + 12:.1f}" '
            f'text-anchor="middle" font-size="8" fill="#666">{b.count}</text>'
        )
    parts.append(
        f'<text x="{size / 2:.1f}" y="{size - 6:.1f}" text-anchor="middle">'
        f"mean predicted probability ({what})</text>"
    )
    parts.append(
        f'<text x="12" y="{size / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {size / 2:.1f})">observed rate</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["reliability_svg"]

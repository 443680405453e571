from __future__ import annotations

import xml.etree.ElementTree as ET

from aims.core.calibration import reliability
from aims.core.plots import reliability_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_reliability_svg_is_well_formed_with_one_bar_per_non_empty_bin():
    cal = reliability(
        [0, 0, 1, 1, 0, 1, 1, 1], [0.1, 0.15, 0.3, 0.5, 0.55, 0.9, 0.95, 1.0], n_bins=5
    )
    root = ET.fromstring(reliability_svg(cal, title="credit <v2>"))
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 4  # five bins, one empty
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "credit <v2> (ECE 0.144)" in texts
    # A bar's height is its observed rate: the [0.2, 0.4) bin observed 1.0, the first 0.0.
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] == 0.0 and heights[1] == max(heights)

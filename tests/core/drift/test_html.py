"""The HTML report is self-contained and ordered by drift score."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from aims.core.drift import compare
from aims.core.drift.html import render


def test_offline_page_with_one_chart_per_comparable_column() -> None:
    rng = np.random.default_rng(0)
    ref = pl.DataFrame(
        {
            "small": rng.normal(0, 1, 3000),
            "big": rng.normal(0, 1, 3000),
            "c": rng.choice(["a", "<b>"], 3000),
            "gone": np.ones(3000),
        }
    )
    cur = pl.DataFrame(
        {
            "small": rng.normal(0.2, 1, 3000),
            "big": rng.normal(2, 1, 3000),
            "c": rng.choice(["a", "<b>"], 3000),
        }
    )
    page = render(compare(ref, cur))
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script" not in page
    assert page.count("<svg") == 3
    assert "&lt;b&gt;" in page and "<b>" not in page  # category names are escaped
    order = re.findall(r"<h2>(\w+) ", page)
    assert order == ["gone", "big", "small", "c"]

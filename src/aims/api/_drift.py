"""``aims.drift``: compare two tables in a notebook and keep the report.

The report is the one ``aims drift`` computes; this module only gives it the
manners of a notebook object: it renders inline in Jupyter (``_repr_html_``),
exports to HTML and JSON, and answers the usual questions as properties.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aims.core.drift.compare import Correction, Method
    from aims.core.drift.result import DriftReport


class DriftResult:
    """The drift of a current table from a reference table, column by column.

    Made by :func:`aims.drift`. ``to_json()`` gives the same object as
    ``aims drift --format json``; ``to_html()`` the same page as
    ``aims drift --format html``.
    """

    def __init__(self, report: DriftReport, title: str = "aims drift report") -> None:
        self.report = report
        """The underlying :class:`aims.core.drift.result.DriftReport`."""
        self.title = title

    @property
    def dataset_drift(self) -> bool:
        """Whether the share of drifted columns reached the dataset threshold."""
        return self.report.dataset_drift

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the columns that drifted."""
        return self.report.drifted_columns

    @property
    def share_drifted(self) -> float:
        """Share of the compared columns that drifted."""
        return self.report.share_drifted

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (the shape of ``aims drift --format json``)."""
        return self.report.to_dict()

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """The report as JSON text; also written to ``path`` when one is given."""
        text = json.dumps(self.to_dict(), indent=indent) + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        """The report as a self-contained HTML page; also written to ``path`` when given."""
        from aims.core.drift.html import render

        page = render(self.report, title=self.title)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_html_(self) -> str:
        # Jupyter shows this in the output cell. The page is put in a sandboxed
        # iframe so its styles do not leak into the notebook's own.
        import html

        page = self.to_html()
        return (
            '<iframe sandbox="allow-same-origin" style="width:100%;height:640px;border:0" '
            f'title="{html.escape(self.title)}" srcdoc="{html.escape(page, quote=True)}">'
            "</iframe>"
        )

    def __repr__(self) -> str:
        verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
        return (
            f"<DriftResult: {verdict}, {self.report.n_drifted} of "
            f"{len(self.report.columns)} columns drifted>"
        )


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    correction: Correction = "none",
    method: Method = "auto",
    title: str = "aims drift report",
) -> DriftResult:
    """Compare ``current`` with ``reference`` column by column and judge the dataset.

    The same computation as ``aims drift``, on in-memory tables or files, with
    no workspace needed.

    Parameters
    ----------
    reference, current
        pandas, Polars or PyArrow tables, or paths of Parquet, CSV or Arrow files.
    columns
        Columns to compare (default: every column of either side).
    kinds
        Column name -> ``numeric``, ``categorical``, ``boolean`` or ``datetime``.
    tests
        Column name -> test (``psi``, ``ks``, ``wasserstein``, ``jensen_shannon``, ...).
    thresholds
        Column or test name -> threshold.
    drift_share
        Share of drifted columns from which the dataset counts as drifted.
    correction
        ``"bh"`` adjusts p-values for many columns (Benjamini-Hochberg).
    method
        ``"exact"``, ``"profile"`` or ``"auto"`` (see docs/drift.md).

    Examples
    --------
    >>> import polars as pl
    >>> ref = pl.DataFrame({"x": [float(i % 50) for i in range(2000)]})
    >>> cur = pl.DataFrame({"x": [float(i % 50) + 30 for i in range(2000)]})
    >>> drift(ref, cur).drifted_columns
    ['x']
    """
    from aims.core.drift.compare import DriftOptions, compare

    options = DriftOptions(
        tests=dict(tests or {}),
        thresholds=dict(thresholds or {}),
        drift_share=drift_share,
        correction=correction,
    )
    report = compare(
        reference,
        current,
        columns=list(columns) if columns is not None else None,
        kinds=dict(kinds or {}),
        method=method,
        options=options,
    )
    return DriftResult(report, title=title)

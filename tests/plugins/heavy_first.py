"""The heaviest test modules run first, so two workers finish together.

``make test`` spreads whole modules over two xdist workers (``--dist loadfile``)
and hands the next module to whichever worker is free. A module that takes
minutes and starts last keeps one worker busy while the other sits idle: the
run then lasts as long as that module's tail. Starting the long modules first
and ending on the many short ones lets the short ones even out the two
workers. ``make test`` passes ``--no-loadscope-reorder`` so xdist keeps this
order instead of its own (modules with the most tests first).

:data:`HEAVY` lists the modules measured as the slowest (set-up included), the
slowest first; every other module follows, those with the most tests first.
A listed module that no longer exists is simply not found; a new slow module
belongs in the list.
"""

from __future__ import annotations

from collections import Counter

import pytest

HEAVY = (
    "tests/ui/test_dashboard_browser.py",
    "tests/services/test_mlflow_import.py",
    "tests/test_tour.py",
    "tests/test_tour_remote.py",
    "tests/services/monitor/test_scenarios.py",
    "tests/cli/test_serve_cli.py",
    "tests/test_team_deployment.py",
    "tests/cli/test_foundation_cli.py",
    "tests/server/test_workers.py",
    "tests/server/test_fuzz.py",
    "tests/services/test_governance.py",
    "tests/engines/test_spark_engine.py",
    "tests/ui/test_llm_pages.py",
    "tests/ui/test_dashboard_at_size.py",
    "tests/plugins/test_postgres_plugin.py",
    "tests/cli/test_serve_announce.py",
    "tests/services/monitor/test_runner.py",
    "tests/core/test_explain.py",
    "tests/services/test_audit_tamper.py",
    "tests/cli/test_evidence_cli.py",
    "tests/server/test_app.py",
    "tests/api/test_notebook.py",
    "tests/cli/test_elevation_remote.py",
)


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Sort the items by module: the listed heavy modules in their order, then the rest by
    their number of tests (most first); within a module the order is kept."""
    rank = {path: i for i, path in enumerate(HEAVY)}
    sizes = Counter(_module(item) for item in items)
    items.sort(key=lambda item: (rank.get(_module(item), len(HEAVY)), -sizes[_module(item)]))

"""Fixtures shared by the evidence tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def evidence_built(tmp_path_factory: pytest.TempPathFactory, cancer_files) -> Path:
    """Two high-risk models in production with every gate met, built once per session
    (tests copy it before changing anything)."""
    from tests.services.test_evidence import build_workspace

    return build_workspace(tmp_path_factory.mktemp("evidence"), cancer_files)

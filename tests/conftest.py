"""Shared fixtures. Real parts only: a real SQLite file, a real PostgreSQL server, real HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

# shap compiles its kernels with numba once per process (about 10 s with LLVM's full
# optimisation); the tests explain a few dozen rows, where the optimisation passes cost
# far more than they save. Set before numba is imported; processes the tests start inherit it.
os.environ.setdefault("NUMBA_OPT", "0")

pytest_plugins = [
    "tests.plugins.postgres",
    "tests.plugins.browser",
    "tests.plugins.s3",
    "tests.plugins.heavy_first",
    "tests.plugins.llm_demo",
]


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Tests never pick up a developer's own workspace, identity or server login.
    for var in (
        "AIMS_WORKSPACE",
        "AIMS_DATABASE_URL",
        "AIMS_ARTIFACT_URL",
        "AIMS_PREDICTION_LOG_URL",
        "AIMS_IDENTITY",
        "AIMS_URL",
        "AIMS_API_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AIMS_USER", "tester@example.org")
    # No credentials saved by 'aims login' (which would put every command in remote mode).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-login"))


OPEN_POLICY = {
    "default_tier": "minimal",
    "tiers": {"minimal": {}, "limited": {}, "high": {}, "unacceptable": {"prohibited": True}},
}


def use_open_policy(root: Path) -> None:
    """Replace a workspace's policy by one without rules, for tests of the lifecycle itself."""
    import yaml

    config = yaml.safe_load((root / "aims.yaml").read_text())
    config["policy"] = OPEN_POLICY
    (root / "aims.yaml").write_text(yaml.safe_dump(config))


def _open_workspace(root: Path):
    from aims.workspace import Workspace, init_workspace

    init_workspace(root)
    use_open_policy(root)
    return Workspace.open(root)


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh workspace on the embedded defaults (SQLite, local artifact folder)."""
    ws = _open_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_workspace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A fresh workspace on SQLite and, as a second case, on the real PostgreSQL server."""
    if request.param == "postgres":
        monkeypatch.setenv("AIMS_DATABASE_URL", request.getfixturevalue("postgres_url"))
    ws = _open_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def cancer_frame() -> pl.DataFrame:
    """scikit-learn's breast-cancer data as a Polars frame with a ``target`` column."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = pl.from_pandas(bunch.frame)
    return frame.rename({c: c.replace(" ", "_") for c in frame.columns})


@pytest.fixture(scope="session")
def cancer_files(tmp_path_factory: pytest.TempPathFactory, cancer_frame: pl.DataFrame):
    """A Parquet training file and a skops model trained on it (and a second, different model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from skops.io import dump

    folder = tmp_path_factory.mktemp("cancer")
    data = folder / "cancer.parquet"
    cancer_frame.write_parquet(data)
    x = cancer_frame.drop("target").to_pandas()
    y = cancer_frame["target"].to_numpy()
    m1 = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    m2 = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=500)).fit(x, y)
    dump(m1, folder / "model_v1.skops")
    dump(m2, folder / "model_v2.skops")
    rng = np.random.default_rng(0)
    noisy = cancer_frame.with_columns(
        pl.Series("mean_radius", rng.normal(14, 3, cancer_frame.height))
    )
    noisy.write_parquet(folder / "cancer_other.parquet")
    return {
        "data": data,
        "other": folder / "cancer_other.parquet",
        "model": folder / "model_v1.skops",
        "model2": folder / "model_v2.skops",
        "folder": folder,
    }

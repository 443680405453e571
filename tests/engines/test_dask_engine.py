"""The Dask engine on a real local cluster: the same profile as the local engine, bit for bit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from distributed import Client, LocalCluster

from aims.core.profile import dumps
from aims.core.profile.partitioned import finish, profile_part, template
from aims.services.engines import sources
from aims.services.engines.profiling import drift_sources, profile_sources
from tests.engines.equality import assert_same_profile, partitions, write_parts

# one cluster for the module: every test on the same xdist worker
pytestmark = pytest.mark.xdist_group("dask-cluster")


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parts(tmp_path_factory.mktemp("lake"), partitions())


def test_dask_profile_equals_local_bit_for_bit_and_the_whole(client: Client, lake: Path) -> None:
    local = profile_sources([str(lake)], engine="local")
    on_dask = profile_sources([str(lake)], engine="dask", scheduler=client)
    assert dumps(on_dask) == dumps(local)
    # ... and the profile of all rows at once on the same plan
    parts = sources.expand([str(lake)])
    assert len(parts) == 8
    plan = template(sources.first_rows(parts, 250_000))
    whole = finish(profile_part(plan, pl.concat(partitions())))
    assert_same_profile(on_dask, whole)
    assert on_dask["colour"].frequencies()["violet"] == 3


def test_dask_by_scheduler_address_and_like_a_reference(client: Client, lake: Path) -> None:
    reference = profile_sources([str(lake / "part=0")])
    window = profile_sources(
        [str(lake / "part=3"), str(lake / "part=5")],
        engine="dask",
        scheduler=client.scheduler.address,
        like=reference,
    )
    local = profile_sources(
        [str(lake / "part=3"), str(lake / "part=5")], engine="local", like=reference
    )
    assert dumps(window) == dumps(local)
    assert window["x"].layout == reference["x"].layout
    assert window.rows == 900 + 600


def test_dask_drift_gives_the_local_verdict(client: Client, lake: Path, tmp_path: Path) -> None:
    shifted = [p.with_columns(pl.col("y") * 3.0) for p in partitions(seed=8)]
    moved = write_parts(tmp_path / "moved", shifted)
    local = drift_sources(str(lake), str(moved))
    on_dask = drift_sources(str(lake), str(moved), engine="dask", scheduler=client)
    assert on_dask.to_dict()["columns"] == local.to_dict()["columns"]
    assert on_dask.dataset_drift == local.dataset_drift
    assert "y" in on_dask.drifted_columns

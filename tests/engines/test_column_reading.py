"""A cluster task reads a Parquet part a column at a time: the same profile, one column held."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aims.core.profile import dumps
from aims.core.profile.partitioned import profile_columns, template
from aims.errors import InvalidInput
from aims.services.engines import sources
from aims.services.engines.tasks import part_profile


def _frame(rows: int, seed: int) -> pl.DataFrame:
    """Numbers with NaN, infinities and nulls, and strings one file alone has."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[::7] = np.nan
    x[::11] = np.inf
    frame = pl.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 50, rows),
            "city": rng.choice(["Oslo", "Lima", "Pune", f"only-{seed}"], rows),
            "score": rng.uniform(size=rows),
        }
    )
    every_fifth = pl.int_range(pl.len()) % 5 == 0
    return frame.with_columns(pl.when(every_fifth).then(None).otherwise("score").alias("score"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("columns")
    # row groups of 1,000 rows read in batches of 300: four batches a column
    _frame(2_500, 1).write_parquet(root / "a.parquet", row_group_size=1_000)
    # the plan's columns in another order, one missing and one it does not know
    other = _frame(1_200, 2).select("score", "city", "x").with_columns(extra=pl.lit(1))
    other.write_parquet(root / "b.parquet", row_group_size=1_000)
    _frame(0, 3).write_parquet(root / "c.parquet")
    pq.write_table(pa.table({"unrelated": pa.array([1, 2, 3])}), root / "d.parquet")
    return root


def test_a_part_read_a_column_at_a_time_profiles_to_the_same_bytes(folder: Path) -> None:
    parts = sources.expand([str(folder)])
    plan = template(sources.first_rows(parts, 300))
    assert len(parts) == 3 + 2 + 1 + 1  # row groups, and one part for each small file
    for part in parts:
        by_column = part_profile(plan, part, 300, threads=False)
        whole = part_profile(plan, part, 300, threads=True)
        assert dumps(by_column) == dumps(whole), part
        assert list(by_column.columns) == list(whole.columns)
    b_first = next(p for p in parts if p.url.endswith("b.parquet"))
    assert list(part_profile(plan, b_first, 300, threads=False).columns) == ["x", "city", "score"]


def test_each_batch_holds_one_column_cut_where_whole_batches_are(folder: Path) -> None:
    part = sources.expand([str(folder / "a.parquet")])[0]
    columns = ["city", "x"]
    read = [list(batches) for batches in sources.column_batches(part, 300, columns)]
    assert [[f.columns for f in col] for col in read] == [[["city"]] * 4, [["x"]] * 4]
    whole = list(sources.batches(part, 300, columns))
    assert [f.height for f in read[0]] == [f.height for f in read[1]] == [f.height for f in whole]
    for i, frame in enumerate(whole):
        assert read[0][i].equals(frame.select("city")) and read[1][i].equals(frame.select("x"))


def test_a_part_without_rows_or_plan_columns_has_no_column_profile(folder: Path) -> None:
    parts = sources.expand([str(folder)])
    plan = template(sources.first_rows(parts, 300))
    empty = next(p for p in parts if p.url.endswith("c.parquet"))
    unrelated = next(p for p in parts if p.url.endswith("d.parquet"))
    assert profile_columns(plan, sources.column_batches(empty, 300, list(plan.columns))) is None
    assert list(sources.column_batches(unrelated, 300, list(plan.columns))) == []
    assert part_profile(plan, empty, threads=False).rows == 0
    assert part_profile(plan, unrelated, threads=False).rows == part_profile(plan, unrelated).rows


def test_only_parquet_is_read_a_column_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pl.DataFrame({"a": [1, 2]}).write_csv(path)
    [part] = sources.expand([str(path)])
    with pytest.raises(InvalidInput, match="only Parquet"):
        next(sources.column_batches(part))


def test_the_local_engine_profiles_parts_on_threads_to_the_same_bytes(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from aims.services.engines import profiling

    parts = sources.expand([str(folder)])
    plan = template(sources.first_rows(parts, 300))
    one_after_another = part_profile(plan, parts[0], 300)
    for part in parts[1:]:
        one_after_another = one_after_another.merge(part_profile(plan, part, 300))

    seen: list[tuple[str, bool]] = []

    def recorded(plan: object, part: object, batch_rows: int, *, threads: bool = True) -> object:
        seen.append((threading.current_thread().name, threads))
        return part_profile(plan, part, batch_rows, threads=threads)  # type: ignore[arg-type]

    monkeypatch.setattr(profiling, "part_profile", recorded)
    on_threads = profiling.run_parts(plan, parts, batch_rows=300)
    assert dumps(on_threads) == dumps(one_after_another)
    assert len(seen) == len(parts) and not any(threads for _, threads in seen)
    assert all(name.startswith("aims-part") for name, _ in seen)
    # a single part keeps its columns on a thread each
    seen.clear()
    profiling.run_parts(plan, parts[:1], batch_rows=300)
    assert seen == [(threading.current_thread().name, True)]


def test_the_local_engine_hands_its_threads_a_few_parts_at_a_time(folder: Path) -> None:
    from concurrent.futures import Future, ThreadPoolExecutor

    from aims.services.engines import profiling

    parts = sources.expand([str(folder)]) * 4
    plan = template(sources.first_rows(parts, 300))
    submitted: list[int] = []

    class Counting(ThreadPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> Future[object]:
            submitted.append(1)
            return super().submit(*args, **kwargs)  # type: ignore[arg-type]

    with Counting(2) as pool:
        profiles = profiling._in_order(pool, plan, parts, 300, ahead=4)
        first = next(profiles)
        assert len(submitted) == 4  # not every part at once
        rest = list(profiles)
    assert len(submitted) == len(parts) == 1 + len(rest)
    assert dumps(first) == dumps(part_profile(plan, parts[0], 300))

"""The store's time column on a real SQLite file: aware UTC in, aware UTC out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Integer, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from aims.clock import now_utc, utc
from aims.storage.utc_column import UtcDateTime


class _Base(DeclarativeBase):
    pass


class _Stamp(_Base):
    __tablename__ = "stamps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


def _roundtrip(tmp_path: Path, value: datetime | None) -> datetime | None:
    engine = create_engine(f"sqlite:///{tmp_path / 'stamps.db'}")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(_Stamp(id=1, at=value))
        s.commit()
    with Session(engine) as s:
        back = s.scalars(select(_Stamp.at)).one()
    engine.dispose()
    return back


def test_an_aware_time_in_another_zone_comes_back_as_the_same_instant_in_utc(
    tmp_path: Path,
) -> None:
    paris = datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    back = _roundtrip(tmp_path, paris)
    assert back == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert back is not None and back.utcoffset() == timedelta(0)


def test_a_naive_time_is_stored_and_read_as_utc(tmp_path: Path) -> None:
    back = _roundtrip(tmp_path, datetime(2026, 3, 1, 9, 30))
    assert back == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_missing_time_stays_missing(tmp_path: Path) -> None:
    assert _roundtrip(tmp_path, None) is None


def test_a_stored_time_compares_with_a_query_bound_in_another_zone(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'q.db'}")
    _Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(_Stamp(id=1, at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC)))
        s.commit()
        # 10:00 in UTC+1 is 09:00 UTC, before the stored time; read as wall time it would be after.
        bound = datetime(2026, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
        assert s.scalars(select(_Stamp.id).where(_Stamp.at > bound)).all() == [1]
    engine.dispose()


def test_the_helper_reads_naive_as_utc_converts_aware_and_now_is_aware() -> None:
    assert utc(datetime(2026, 1, 1, 0, 0)) == datetime(2026, 1, 1, tzinfo=UTC)
    new_york = datetime(2025, 12, 31, 19, 0, tzinfo=timezone(timedelta(hours=-5)))
    converted = utc(new_york)
    assert converted.tzinfo is UTC and converted.hour == 0
    assert now_utc().tzinfo is UTC

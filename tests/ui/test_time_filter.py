"""Times on the dashboard's pages: one UTC format whatever the store hands back."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from aims.ui.router import duration, utc_time

EPOCH = 1_796_130_321


def _shown(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


@pytest.mark.parametrize(
    "value",
    [
        EPOCH,
        float(EPOCH) + 0.25,
        dt.datetime.fromtimestamp(EPOCH, dt.UTC).replace(tzinfo=None),  # SQLite: naive UTC
        dt.datetime.fromtimestamp(EPOCH, dt.timezone(dt.timedelta(hours=-5))),  # PostgreSQL
        dt.datetime.fromtimestamp(EPOCH, dt.UTC).isoformat(),  # audit events
    ],
)
def test_every_kind_of_time_is_shown_alike(value: object) -> None:
    html = str(utc_time(value))
    date, clock = _shown(EPOCH).split(" ", 1)
    assert f"><span>{date}</span> <span>{clock}</span></time>" in html
    exact = html.split('datetime="', 1)[1].split('"', 1)[0]
    assert dt.datetime.fromisoformat(exact).timestamp() == pytest.approx(float(EPOCH), abs=1)


def test_no_time_and_text_that_is_not_a_time() -> None:
    assert utc_time(None) == "—"
    assert utc_time("") == "—"
    assert utc_time("<soon>") == "<soon>"  # escaped by the template, as any text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, ""),
        (0.4, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (725, "12 min 5 s"),
        (3_600, "1 h"),
        (12_000, "3 h 20 min"),
        (86_400, "1 d"),
        (180_000, "2 d 2 h"),
    ],
)
def test_durations_read_as_people_say_them(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown

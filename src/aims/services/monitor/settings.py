"""Settings of the monitoring loop: the ``monitor:`` section of ``aims.yaml``.

How often and over what windows the monitor runs is an operations choice, so
it lives beside the store settings, not in the policy (which says what to
check and what to do). Every key is optional::

    monitor:
      window: 1h          # window length: 15m, 1h, 1d ... (divides a day or is whole days)
      grace: 5m           # a window is closed once now >= its end + grace (late log flushes)
      interval: 60s       # pause between runs of 'aims monitor run'
      lookback: 7d        # windows older than this are not computed any more
      label_lookback: 30d # performance is recomputed for windows this recent when labels arrive
      batch_rows: 100000  # rows read from the log at a time (bounds memory)
      actor: aims-monitor # who the audit log names for the monitor's own actions
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aims.core import yaml_source
from aims.errors import ConfigError, InvalidInput

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DAY = 86400


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """A duration written ``90s``, ``15m``, ``1h``, ``7d`` or ``1w`` (or a number of seconds).

    Examples
    --------
    >>> parse_duration("1h"), parse_duration("7d").days, parse_duration(90).seconds
    (datetime.timedelta(seconds=3600), 7, 90)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise InvalidInput(f"{value!r} is not a duration; write e.g. 90s, 15m, 1h or 7d")
    if isinstance(value, int | float):
        if value < 0:
            raise InvalidInput(f"a duration cannot be negative, got {value}")
        return timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if match is None:
        raise InvalidInput(f"{value!r} is not a duration; write e.g. 90s, 15m, 1h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def _duration_field(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class MonitorSettings(BaseModel):
    """The resolved ``monitor:`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: timedelta = timedelta(hours=1)
    """Length of a monitoring window; windows are aligned to midnight UTC."""
    grace: timedelta = timedelta(minutes=5)
    """How long after its end a window may still receive late log writes."""
    interval: timedelta = timedelta(seconds=60)
    """Pause between two runs of the loop."""
    lookback: timedelta = timedelta(days=7)
    """Only windows starting within this long before now are computed."""
    label_lookback: timedelta = timedelta(days=30)
    """Windows this recent get their performance recomputed when new labels arrive."""
    batch_rows: int = Field(default=100_000, ge=1000, le=10_000_000)
    """Rows of the log held in memory at a time."""
    actor: str = "aims-monitor"
    """The actor the audit log names for what the monitor does."""

    @field_validator("window", "grace", "interval", "lookback", "label_lookback", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> timedelta:
        return _duration_field(value)

    @field_validator("window")
    @classmethod
    def _window_fits_days(cls, value: timedelta) -> timedelta:
        seconds = int(value.total_seconds())
        if seconds < 1 or value.total_seconds() != seconds:
            raise ValueError("a window is a whole number of seconds, at least 1s")
        # Windows are aligned to midnight UTC, so a day must split into whole
        # windows (or a window must be whole days); otherwise hour 0 of one day
        # would start a different window than hour 0 of the next.
        if (seconds < DAY and DAY % seconds) or (seconds > DAY and seconds % DAY):
            raise ValueError(
                f"a window of {value} does not divide a day; use e.g. 15m, 30m, 1h, 2h, 6h or 1d"
            )
        return value

    @property
    def window_seconds(self) -> int:
        return int(self.window.total_seconds())


def load_monitor_settings(raw: Mapping[str, Any], source: str = "aims.yaml") -> MonitorSettings:
    """Validate the ``monitor:`` section of a parsed ``aims.yaml`` (``raw`` is the whole file).

    Errors name the key, e.g. ``aims.yaml: monitor.window: ...``.

    Examples
    --------
    >>> load_monitor_settings({"monitor": {"window": "30m"}}).window_seconds
    1800
    """
    section = raw.get("monitor") if isinstance(raw, Mapping) else None
    if section is None:
        return MonitorSettings()
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: 'monitor' must be a mapping of settings")
    doc = yaml_source.Document(dict(section), None, source)
    settings: MonitorSettings = yaml_source.validate(MonitorSettings, doc, prefix="monitor")
    return settings


def monitor_settings(ws: Any) -> MonitorSettings:
    """The monitor settings of workspace ``ws``."""
    return load_monitor_settings(ws.settings.raw, str(ws.root / "aims.yaml"))


__all__ = ["MonitorSettings", "load_monitor_settings", "monitor_settings", "parse_duration"]

"""Where span files live: the ``project=/application=/hour=`` folders of the span store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aims.clock import utc
from aims.storage.predlog.layout import Layout
from aims.storage.predlog.schema import HOUR_FORMAT

__all__ = ["SpanPartition", "hour_dir", "list_partitions", "safe_segment"]


@dataclass(frozen=True)
class SpanPartition:
    """One (project, application, hour) folder and its live data files."""

    project: str
    application: str
    hour: datetime
    files: tuple[str, ...]


def safe_segment(value: str) -> str:
    """``value`` as a folder name: no separators, never hidden, never ``..``."""
    text = value.replace("/", "_").replace("\\", "_").replace("=", "_")
    return "_" + text[1:] if text.startswith(".") or not text else text


def hour_dir(layout: Layout, project: str, application: str, hour: str) -> str:
    return (
        f"{layout.base}/project={safe_segment(project)}"
        f"/application={safe_segment(application)}/hour={hour}"
    )


def _values(layout: Layout, folder: str, key: str) -> list[str]:
    prefix = f"{key}="
    return [n[len(prefix) :] for n in layout.names(folder) if n.startswith(prefix)]


def list_partitions(
    layout: Layout,
    *,
    project: str | None = None,
    application: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[SpanPartition]:
    """Partitions that can hold spans of ``project``/``application`` starting in ``[start, end)``.

    Only folder names are read (files are not opened), oldest hour first.
    """
    lo = utc(start).replace(minute=0, second=0, microsecond=0) if start is not None else None
    hi = utc(end) if end is not None else None
    out = []
    projects = [project] if project is not None else _values(layout, layout.base, "project")
    for p in projects:
        p_dir = f"{layout.base}/project={safe_segment(p)}"
        apps = [application] if application is not None else _values(layout, p_dir, "application")
        for a in apps:
            a_dir = f"{p_dir}/application={safe_segment(a)}"
            for h in _values(layout, a_dir, "hour"):
                try:
                    hour = utc(datetime.strptime(h, HOUR_FORMAT))
                except ValueError:
                    continue  # not ours
                if (lo is not None and hour < lo) or (hi is not None and hour >= hi):
                    continue
                files = layout.data_files(f"{a_dir}/hour={h}")
                if files:
                    out.append(SpanPartition(p, a, hour, files))
    return sorted(out, key=lambda part: (part.hour, part.project, part.application))

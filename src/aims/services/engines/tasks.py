"""The work of one part, the same on every engine: read it in batches, profile on the plan.

Engines ship the plan and the profiles as bytes (the profile file format,
msgpack), so nothing of aims is pickled between the driver and the workers.
"""

from __future__ import annotations

from aims.core import frames
from aims.core.profile import FrameProfile, dumps, loads
from aims.core.profile.partitioned import profile_parts
from aims.services.engines.sources import Part, batches

__all__ = ["part_profile", "profile_task"]


def part_profile(
    plan: FrameProfile, part: Part, batch_rows: int = frames.DEFAULT_BATCH_ROWS
) -> FrameProfile:
    """Profile of ``part`` on ``plan``'s layouts (its batches merged in order)."""
    return profile_parts(plan, batches(part, batch_rows, list(plan.columns)))


def profile_task(part: Part, plan: bytes, batch_rows: int = frames.DEFAULT_BATCH_ROWS) -> bytes:
    """:func:`part_profile` with the plan and the result as bytes, for a remote worker."""
    return dumps(part_profile(loads(plan), part, batch_rows))

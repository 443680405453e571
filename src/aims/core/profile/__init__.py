"""Mergeable statistical profiles of tabular data.

Build a reference profile once (it fixes bin edges and category sets), profile
later windows alike, merge window profiles by addition, and serialise them
compactly. See :mod:`aims.core.profile.frame` for the workflow.
"""

from __future__ import annotations

from aims.core.profile.categorical import CategoricalLayout, CategoricalProfile
from aims.core.profile.codec import dumps, loads
from aims.core.profile.frame import (
    ColumnProfile,
    FrameProfile,
    ProfileOptions,
    UnsupportedProfile,
    merge,
    profile,
    profile_frame,
    profile_frame_like,
    profile_like,
)
from aims.core.profile.kinds import Kind, kind_of
from aims.core.profile.numeric import NumericLayout, NumericProfile

__all__ = [
    "CategoricalLayout",
    "CategoricalProfile",
    "ColumnProfile",
    "FrameProfile",
    "Kind",
    "NumericLayout",
    "NumericProfile",
    "ProfileOptions",
    "UnsupportedProfile",
    "dumps",
    "kind_of",
    "loads",
    "merge",
    "profile",
    "profile_frame",
    "profile_frame_like",
    "profile_like",
]

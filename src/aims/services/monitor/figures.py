"""Numbers as the stored window results hold them: finite floats or None, JSON-safe throughout."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when missing, NaN or infinite (JSON has neither)."""
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def share(part: int, whole: int) -> float:
    """``part / whole``, 0 for an empty whole (a window of no rows has no shares to speak of)."""
    return part / whole if whole else 0.0


def clean(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively (JSON-safe)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        return clean(value.item())
    if isinstance(value, datetime):
        return value.isoformat()
    return value


__all__ = ["clean", "finite", "share"]

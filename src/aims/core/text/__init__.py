"""Model-free features of free text: statistics, keyed hashed n-grams, refusals.

Everything here is deterministic and needs no download, so prompts and
responses can be summarised at ingest and compared later without keeping the
text itself.
"""

from __future__ import annotations

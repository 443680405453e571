"""Model-free features of free text: statistics, keyed hashed n-grams, refusals.

Everything here is deterministic and needs no download, so prompts and
responses can be summarised at ingest and compared later without keeping the
text itself. The optional sentence encoder (:mod:`aims.core.text.encoder`,
the ``text`` extra and packaged MiniLM weights) adds embedding drift of stored
content (:mod:`aims.core.text.embedding_drift`).
"""

from __future__ import annotations

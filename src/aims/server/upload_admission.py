"""The admission of uploads: a few at a time per principal, and only with room on disk.

An upload route receives its files with :func:`aims.server.uploads.streamed_form`,
which first enters :func:`admitted`. Before a byte of the body is read:

- **A few at a time.** One principal may send at most
  ``server.max_concurrent_uploads`` uploads at once (default 2): one more is a
  429 with ``Retry-After``. Uploads count against the principal the token acts
  for, else the client's address.
- **Room on disk.** An upload is refused with 507 when the uploads folder's
  filesystem has less free space than its declared ``Content-Length`` (the
  largest body admitted when none is declared), plus the bytes other uploads
  in flight declared, plus ``server.upload_free_margin_bytes``. So no key can
  fill the server's disk.

Both refusals close the connection: the body was not read, so it cannot carry
another request. The slot and the bytes reserved are given back when the
upload ends, however it ends.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from aims.errors import InsufficientStorage, RateLimited

__all__ = ["UPLOAD_RETRY_SECONDS", "admitted"]

UPLOAD_RETRY_SECONDS = 10
"""The ``Retry-After`` of an upload refused because its principal has enough in flight."""


@asynccontextmanager
async def admitted(request: Request, root: Path, ceiling: int) -> AsyncIterator[None]:
    """Admit the upload of ``request`` into ``root`` for the length of the block.

    ``ceiling`` is the largest body the route admits (the size counted when the
    request declares no ``Content-Length``). A 429 or 507 (see the module doc)
    is raised before the block is entered.
    """
    state = request.app.state.aims
    slots = _slots(request)
    who = _uploader(request)
    size = _declared_size(request, ceiling)
    slots.check(who, state.config.max_concurrent_uploads)
    free = (await run_in_threadpool(shutil.disk_usage, root)).free
    # Checked again after the await: the counts are only changed on the event loop.
    slots.check(who, state.config.max_concurrent_uploads)
    margin = state.config.upload_free_margin_bytes
    if free < size + slots.reserved + margin:
        raise InsufficientStorage(
            f"the server's disk has no room for an upload of {size} bytes now (it keeps "
            f"{margin} bytes free: server.upload_free_margin_bytes); nothing was received: "
            "try again later, or ask the server's operator to free space",
            headers={"Connection": "close"},
        )
    slots.take(who, size)
    try:
        yield
    finally:
        slots.give_back(who, size)


class _Slots:
    """Uploads in flight: how many per principal, and the bytes they declared.

    Changed only on the event loop, between awaits, so no lock is needed.
    """

    def __init__(self) -> None:
        self.by_principal: dict[str, int] = {}
        self.reserved = 0

    def check(self, who: str, most: int) -> None:
        held = self.by_principal.get(who, 0)
        if held >= most:
            raise RateLimited(
                f"{who} already has {held} uploads in progress, the most one principal may "
                f"send at once (server.max_concurrent_uploads); retry when one has finished",
                # The body is not read: the connection cannot carry another request.
                headers={"Retry-After": str(UPLOAD_RETRY_SECONDS), "Connection": "close"},
            )

    def take(self, who: str, size: int) -> None:
        self.by_principal[who] = self.by_principal.get(who, 0) + 1
        self.reserved += size

    def give_back(self, who: str, size: int) -> None:
        self.reserved -= size
        left = self.by_principal.get(who, 1) - 1
        if left:
            self.by_principal[who] = left
        else:
            self.by_principal.pop(who, None)


def _slots(request: Request) -> _Slots:
    """The app's uploads in flight, made on the first upload."""
    slots = getattr(request.app.state, "upload_slots", None)
    if slots is None:
        slots = request.app.state.upload_slots = _Slots()
    return slots


def _uploader(request: Request) -> str:
    """Whom an upload counts against: the principal the token acts for (set by
    :func:`aims.server.auth.require`), else the client's address."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return str(principal.actor)
    return f"client {request.client.host if request.client else 'unknown'}"


def _declared_size(request: Request, ceiling: int) -> int:
    """The bytes the body will take on disk at most: its ``Content-Length`` when it
    declares one (never more than ``ceiling``), else ``ceiling``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        return min(int(declared), ceiling)
    return ceiling

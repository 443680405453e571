"""Parts registered with add_lifespan_hook start in order and stop in reverse, even on error."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest
from starlette.datastructures import State

from aims.server.lifespan import add_lifespan_hook, run_hooks


def _app() -> SimpleNamespace:
    return SimpleNamespace(state=State())


def _serve(main):  # type: ignore[no-untyped-def]
    """Run the coroutine function ``main`` in a thread of its own: a browser test's driver may
    keep an event loop running in this thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _hook(name: str, events: list[str]):
    @asynccontextmanager
    async def hook(app):
        events.append(f"start {name}")
        try:
            yield
        finally:
            events.append(f"stop {name}")

    return hook


def test_hooks_enter_in_order_and_leave_in_reverse():
    app, events = _app(), []
    add_lifespan_hook(app, _hook("writer", events))
    add_lifespan_hook(app, _hook("sessions", events))

    async def serve():
        async with run_hooks(app):
            events.append("serving")

    _serve(serve)
    assert events == ["start writer", "start sessions", "serving", "stop sessions", "stop writer"]


def test_hooks_are_left_when_serving_fails():
    app, events = _app(), []
    add_lifespan_hook(app, _hook("writer", events))

    async def serve():
        async with run_hooks(app):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _serve(serve)
    assert events == ["start writer", "stop writer"]


def test_an_app_without_hooks_runs():
    async def serve():
        async with run_hooks(_app()):
            return "ok"

    assert _serve(serve) == "ok"

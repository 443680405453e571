"""The gateway's screening threads: an agent holds at most one, so others are not queued behind it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from aims.server.gateway.lanes import ScreeningLanes


def _blocking(started: list[str], name: str, release: threading.Event) -> str:
    started.append(name)
    if not release.wait(10):
        raise TimeoutError(f"{name} was never released")
    return name


async def _an_agent_with_many_large_values_does_not_hold_both_threads() -> None:
    lanes = ScreeningLanes(2)
    started: list[str] = []
    release = threading.Event()
    try:
        a1 = asyncio.create_task(lanes.run("agent-a", _blocking, started, "a1", release))
        a2 = asyncio.create_task(lanes.run("agent-a", _blocking, started, "a2", release))
        while "a1" not in started:
            await asyncio.sleep(0.005)
        # agent-a's first value holds one thread; its second waits in agent-a's lane, so
        # agent-b's value runs on the other thread at once.
        b = await asyncio.wait_for(lanes.run("agent-b", lambda: "b"), timeout=5)
        assert b == "b"
        assert started == ["a1"]
        assert lanes.active_lanes() == 1
        release.set()
        assert await asyncio.gather(a1, a2) == ["a1", "a2"]
        assert started == ["a1", "a2"]
        assert lanes.active_lanes() == 0
    finally:
        release.set()
        lanes.shutdown()


async def _a_failure_reaches_the_caller_and_frees_the_lane() -> None:
    lanes = ScreeningLanes(2)

    def fails() -> None:
        raise ValueError("nested too deep")

    try:
        with pytest.raises(ValueError, match="nested too deep"):
            await lanes.run("agent-a", fails)
        assert lanes.active_lanes() == 0
        assert await lanes.run("agent-a", lambda: 7) == 7
    finally:
        lanes.shutdown()


async def _values_of_one_agent_run_one_after_another() -> None:
    lanes = ScreeningLanes(2)
    running = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.02)
        with guard:
            running -= 1

    try:
        await asyncio.gather(*(lanes.run("agent-a", work) for _ in range(4)))
        assert most == 1
    finally:
        lanes.shutdown()


async def _a_cancelled_call_holds_its_lane_until_its_thread_is_free() -> None:
    lanes = ScreeningLanes(2)
    started: list[str] = []
    release = threading.Event()
    try:
        first = asyncio.create_task(lanes.run("agent-a", _blocking, started, "a1", release))
        while "a1" not in started:
            await asyncio.sleep(0.005)
        first.cancel()  # the agent hung up; its value is still being screened
        second = asyncio.create_task(lanes.run("agent-a", _blocking, started, "a2", release))
        await asyncio.sleep(0.1)
        assert started == ["a1"]  # not a second thread for the same agent
        assert await asyncio.wait_for(lanes.run("agent-b", lambda: "b"), timeout=5) == "b"
        release.set()
        assert await second == "a2"
        with pytest.raises(asyncio.CancelledError):
            await first
        assert lanes.active_lanes() == 0
    finally:
        release.set()
        lanes.shutdown()


def test_an_agent_with_many_large_values_does_not_hold_both_threads() -> None:
    asyncio.run(_an_agent_with_many_large_values_does_not_hold_both_threads())


def test_a_failure_reaches_the_caller_and_frees_the_lane() -> None:
    asyncio.run(_a_failure_reaches_the_caller_and_frees_the_lane())


def test_values_of_one_agent_run_one_after_another() -> None:
    asyncio.run(_values_of_one_agent_run_one_after_another())


def test_a_cancelled_call_holds_its_lane_until_its_thread_is_free() -> None:
    asyncio.run(_a_cancelled_call_holds_its_lane_until_its_thread_is_free())

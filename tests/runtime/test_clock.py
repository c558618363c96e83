from __future__ import annotations

import asyncio

import pytest

from bidicharge.runtime.clock import AcceleratedClock, ManualClock


def test_manual_clock_moves_only_when_told() -> None:
    c = ManualClock(start_s=100.0)
    assert c.now() == 100.0
    c.advance(5)
    assert c.now() == 105.0
    with pytest.raises(ValueError, match="back"):
        c.set(50)


async def test_manual_clock_wakes_sleepers_when_time_passes() -> None:
    c = ManualClock(start_s=0.0)
    woke: list[float] = []

    async def sleeper() -> None:
        await c.sleep_until(10.0)
        woke.append(c.now())

    async with asyncio.TaskGroup() as tg:
        tg.create_task(sleeper())
        await asyncio.sleep(0)
        c.set(5.0)
        await asyncio.sleep(0)
        assert woke == []
        c.set(12.0)
    assert woke == [12.0]


def test_accelerated_clock_runs_faster_than_wall() -> None:
    with pytest.raises(ValueError):
        AcceleratedClock(start_s=0, factor=0)
    c = AcceleratedClock(start_s=1000.0, factor=3600.0)
    assert c.now() >= 1000.0
    assert c.factor == 3600.0

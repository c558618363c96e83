"""Injected time: the only module of bidicharge that reads the system clock.

Times are float seconds since the Unix epoch (UTC). Protocol cores take `now` as an
argument; components and runners take a `Clock`. Three clocks:

- `WallClock`: real time.
- `AcceleratedClock`: simulated time running `factor` times faster than wall time from a
  given simulated start (live mode compressed: a day in minutes).
- `ManualClock`: time moves only when told (`advance`, `set`) — the study engine and tests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, t: float) -> None: ...


class WallClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, t: float) -> None:
        delay = t - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class AcceleratedClock:
    """Simulated time = start_s + factor × (wall seconds since construction)."""

    def __init__(self, *, start_s: float, factor: float) -> None:
        if factor <= 0:
            raise ValueError(f"acceleration factor must be > 0, got {factor}")
        self._start_s = start_s
        self._factor = factor
        self._wall0 = time.monotonic()

    @property
    def factor(self) -> float:
        return self._factor

    def now(self) -> float:
        return self._start_s + (time.monotonic() - self._wall0) * self._factor

    def rebase(self, start_s: float) -> None:
        """Let simulated time run from `start_s` as of now (after a slow set-up)."""
        self._start_s = start_s
        self._wall0 = time.monotonic()

    async def sleep_until(self, t: float) -> None:
        delay = (t - self.now()) / self._factor
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """Time that moves only when `advance`/`set` is called; sleepers wake when it passes them."""

    def __init__(self, *, start_s: float = 0.0) -> None:
        self._now = start_s
        self._changed: asyncio.Event | None = None

    def now(self) -> float:
        return self._now

    def set(self, t: float) -> None:
        if t < self._now:
            raise ValueError(f"time cannot go back: {t} < {self._now}")
        self._now = t
        if self._changed is not None:
            self._changed.set()

    def advance(self, dt_s: float) -> None:
        self.set(self._now + dt_s)

    async def sleep_until(self, t: float) -> None:
        while self._now < t:
            if self._changed is None:
                self._changed = asyncio.Event()
            event = self._changed
            await event.wait()
            if self._changed is event:
                self._changed = None

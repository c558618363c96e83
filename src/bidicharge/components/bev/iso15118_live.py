"""Live mode of the vehicle's ISO 15118-20 side: the EVCC dials the SECC over TCP.

Each session the car's inlet starts (plug-in, return, retry after a failure) opens one TCP
connection to the wallbox and closes it when the EVCC is done; the EVCC's timers run here, on
the live clock. Where the SECC is: ``iso15118.secc_address`` (``host:port``, e.g. an external
SECC), else the wallbox wired to ``charger_iso15118`` (its listening address; SDP is not used in
live mode, see :mod:`bidicharge.components.evse.iso15118_live`).

Accelerated clocks: a peer answers in wall time, so the message timeouts are multiplied by the
acceleration factor (`timeout_factor_for`); the sequence of the session is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from bidicharge.runtime.clock import AcceleratedClock, Clock, ManualClock

if TYPE_CHECKING:
    from bidicharge.components.bev.iso15118 import BevInlet

log = logging.getLogger(__name__)
POLL_s = 0.005  # wall time between looks at the inlet when nothing arrives
CONNECT_ATTEMPTS = 200


def timeout_factor_for(clock: Clock | None) -> float:
    return clock.factor if isinstance(clock, AcceleratedClock) else 1.0


class BevIso15118Live:
    """Mixin of the bev component: carries its EVCC's bytes over TCP in live mode."""

    inlet: BevInlet | None
    inbound: dict[str, list[Any]]
    context: Any
    cfg: Any
    name: str

    async def serve(self, clock: Clock) -> None:
        live = self.context.clock is not None and not isinstance(self.context.clock, ManualClock)
        if self.inlet is None or not live:
            await super().serve(clock)  # type: ignore[misc]
            return
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().serve(clock))  # type: ignore[misc]
            tasks.create_task(self._evcc_sessions(self.inlet, clock))

    async def _secc_address(self) -> tuple[str, int]:
        configured = self.cfg.iso15118.secc_address
        if configured:
            host, _, port = configured.rpartition(":")
            return host.strip("[]"), int(port)
        wallbox = self.inbound["charger_iso15118"][0].local
        for _ in range(CONNECT_ATTEMPTS):  # until the SECC listens
            address: tuple[str, int] | None = getattr(wallbox, "iso15118_address", None)
            if address is not None:
                return address
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name}: the wallbox {wallbox.name} never listened for ISO 15118-20")

    async def _evcc_sessions(self, inlet: BevInlet, clock: Clock) -> None:
        while True:
            now = clock.now()
            if inlet.evcc is None or inlet.evcc.closed:
                deadline = inlet.next_deadline()  # a retry after a failed session
                if deadline is not None and now >= deadline:
                    inlet.handle_timeout(now)
                await asyncio.sleep(POLL_s)
                continue
            await self._one_session(inlet, clock)

    async def _one_session(self, inlet: BevInlet, clock: Clock) -> None:
        connection = inlet.connection
        host, port = await self._secc_address()
        reader, writer = await _connect(host, port)
        try:
            while inlet.evcc is not None and not inlet.evcc.closed and inlet.connection == connection:
                out = inlet.data_to_send()
                if out:
                    writer.write(out)
                    await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(65536), POLL_s)
                except TimeoutError:
                    data = None
                now = clock.now()
                if data == b"":
                    inlet.connection_lost(now)
                    break
                if data:
                    inlet.receive_data(data, now)
                deadline = inlet.next_deadline()
                if deadline is not None and now >= deadline:
                    inlet.handle_timeout(now)
            out = inlet.data_to_send()  # e.g. nothing; a closed EVCC sends no more
            if out:
                writer.write(out)
        except ConnectionError as exc:
            log.info("%s: ISO 15118 connection ended: %r", self.name, exc)
            inlet.connection_lost(clock.now())
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    for _ in range(CONNECT_ATTEMPTS - 1):
        try:
            return await asyncio.open_connection(host, port)
        except ConnectionRefusedError:
            await asyncio.sleep(0.05)
    return await asyncio.open_connection(host, port)

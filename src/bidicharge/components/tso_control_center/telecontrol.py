"""IEC 60870-5-104 links of the control centres (I-21, I-24, I-51, I-52), study and live.

A control centre holds one :class:`ControllingEnd` per wired link; the peer (aggregator, plant
operator, DSO control centre) holds one :class:`ControlledEnd` per provided port with its
point database. Both ends offer the same synchronous calls to the component's ``step``:

* study mode: the two sans-I/O cores are joined by :class:`~bidicharge.protocols.iec104.MemoryPair`
  on simulated time; the octets really pass between them, so what the trace shows are the
  APDUs a TCP link would carry;
* live mode: the peer serves an :class:`~bidicharge.transports.iec104_tcp.Iec104Server` on a
  free loopback port and the control centre dials it with an ``Iec104Client``; set-points are
  queued by ``step`` and sent by a task of ``serve``.

Every ASDU is traced once, by the controlling end (tx: centre → peer, rx: peer → centre), as
``describe_asdu`` renders it: message ``"C_SE_NC_1 act"``, summary ``"CA=47 2002=49.8"``.
Link faults (sequence errors, unknown types or addresses, t1) are the core's business: it
answers on the wire or closes the link, the live client redials and interrogates again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from bidicharge.components.interfaces.i2x_markets import IEC104
from bidicharge.protocols.iec104 import (
    ActivationConfirmed,
    CommandRequest,
    ControlledStation,
    ControllingStation,
    MemoryPair,
    PointDatabase,
    PointReported,
    RequestRejected,
    TypeId,
    describe_asdu,
)

if TYPE_CHECKING:
    from bidicharge.runtime.ports import Link
    from bidicharge.transports.iec104_tcp import Iec104Client, Iec104Server

log = logging.getLogger(__name__)
_VALUE = re.compile(r"(\d+)=(-?[\d.eE+-]+|True|False)")


def summary_values(summary: str) -> dict[int, float]:
    """``"CA=47 1001=2950.0 1002=1.0"`` → ``{1001: 2950.0, 1002: 1.0}`` (trace analysis)."""
    out: dict[int, float] = {}
    for ioa, value in _VALUE.findall(summary.split(" ", 1)[1] if " " in summary else ""):
        out[int(ioa)] = 1.0 if value == "True" else 0.0 if value == "False" else float(value)
    return out


class ControlledEnd:
    """The controlled station of one provided port (one common address)."""

    def __init__(self, database: PointDatabase, on_command: Callable[[CommandRequest], bool]) -> None:
        self.database = database
        self.on_command = on_command
        self.station: ControlledStation | None = None
        self.pair: MemoryPair | None = None
        self.server: Iec104Server | None = None
        self.ready = asyncio.Event()
        self.port = 0

    @property
    def common_address(self) -> int:
        return self.database.common_address

    def open_memory(self, now: float) -> ControlledStation:
        self.station = ControlledStation([self.database], now=now, on_command=self.on_command)
        return self.station

    def update(self, ioa: int, value: float, *, now: float) -> None:
        """Store a value and report it spontaneously to the connected control centre."""
        if self.server is not None:
            self.server.update(self.common_address, ioa, value)
        elif self.station is not None and self.station.started:
            self.station.update(self.common_address, ioa, value, now=now)
            if self.pair is not None:
                self.pair.pump(now)
        else:
            self.database.set(ioa, value)

    def value(self, ioa: int) -> float:
        point = self.database.monitor(ioa)
        return float(point.value) if point is not None else 0.0

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Live mode: serve this database over TCP until cancelled."""
        from bidicharge.transports.iec104_tcp import Iec104Server

        async with Iec104Server([self.database], host=host, port=port, on_command=self.on_command) as server:
            self.server = server
            self.port = server.port
            self.ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                self.server = None


class ControllingEnd:
    """The control centre's side of one link: set-points out, reported values in."""

    def __init__(self, link: Link, time_s: Callable[[], float]) -> None:
        self.link = link
        self._time_s = time_s
        self.peer_end: ControlledEnd = link.peer.telecontrol_end(link.peer_port.name)  # type: ignore[attr-defined]
        self.values: dict[int, float] = {}
        self.confirmed = 0
        self.refused = 0
        self.reconnects = 0
        self.station: ControllingStation | None = None
        self.pair: MemoryPair | None = None
        self.client: Iec104Client | None = None
        self._outbox: asyncio.Queue[tuple[int, float]] | None = None

    @property
    def common_address(self) -> int:
        return self.peer_end.common_address

    def trace(self, direction: Literal["rx", "tx"], raw: bytes) -> None:
        trace = self.link.local.context.trace
        if not trace.enabled:
            return
        message, summary = describe_asdu(raw)
        local, peer = self.link.local.name, self.link.peer.name
        source, target = (local, peer) if direction == "tx" else (peer, local)
        trace.record(time_s=self._time_s(), interface=self.link.interface, source=source, target=target,
                     protocol=IEC104, message=message, summary=summary)

    # --- study ---------------------------------------------------------------------------

    def open_memory(self, now: float) -> None:
        self.station = ControllingStation(now=now, tracer=self.trace)
        self.pair = MemoryPair(self.station, self.peer_end.open_memory(now), now=now)
        self.peer_end.pair = self.pair
        self._drain()

    def poll(self, now: float) -> None:
        """Run timers, move pending octets, take in what the peer reported. A link the core
        closed (sequence error, t1, malformed APDU) is opened again at once, as the live
        client redials: STARTDT, then a station interrogation rebuilds the values."""
        if self.pair is not None:
            self.pair.advance(now)
            self._drain()
            assert self.station is not None
            if self.station.closed or self.pair.controlled.closed:
                self.reconnects += 1
                self.open_memory(now)

    def send_setpoint(self, ioa: int, value: float, *, now: float) -> bool:
        """Send (study) or queue (live) a C_SE_NC_1; False when the link cannot take it now."""
        if self.station is not None and self.pair is not None:
            if not self.station.started:
                return False
            self.station.send_setpoint(self.common_address, ioa, value, now=now)
            self.pair.pump(now)
            self._drain()
            return True
        if self._outbox is None or self.client is None or self.client.connection is None:
            return False
        try:
            self._outbox.put_nowait((ioa, value))
        except asyncio.QueueFull:
            return False
        return True

    def _drain(self) -> None:
        assert self.station is not None
        for event in self.station.events():
            self._on_event(event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, PointReported):
            self.values[event.ioa] = float(event.value)
        elif isinstance(event, ActivationConfirmed) and not event.deactivation and event.type_id is not TypeId.C_IC_NA_1:
            if event.positive:
                self.confirmed += 1
            else:
                self.refused += 1
        elif isinstance(event, RequestRejected):
            self.refused += 1

    # --- live ----------------------------------------------------------------------------

    async def run_live(self) -> None:
        """Dial the peer's server, keep the link up, send queued set-points; until cancelled."""
        from bidicharge.transports.iec104_tcp import Iec104Client

        await self.peer_end.ready.wait()
        self._outbox = asyncio.Queue(maxsize=64)
        client = self.client = Iec104Client("127.0.0.1", self.peer_end.port, tracer=self.trace,
                                            on_event=self._on_event)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(client.run())
            while True:
                ioa, value = await self._outbox.get()
                try:
                    await client.wait_started()
                    async with asyncio.timeout(5.0):
                        await client.setpoint(self.common_address, ioa, value)
                except (ConnectionError, TimeoutError, RuntimeError) as exc:
                    log.warning("%s: set-point %s=%s not confirmed: %s", self.link, ioa, value, exc)


class ControlCentreLinks:
    """The controlling ends of a control centre, by port; opened in memory on the first study
    step, or dialled over TCP by ``serve`` in live mode."""

    def __init__(self, component: object, ports: tuple[str, ...]) -> None:
        self.component = component
        self.ports = ports
        self.by_port: dict[str, list[ControllingEnd]] | None = None
        self.live = False

    def _time(self) -> float:
        ctx = self.component.context  # type: ignore[attr-defined]
        return ctx.clock.now() if ctx.clock is not None else float(self.component.now)  # type: ignore[attr-defined]

    def _build(self) -> dict[str, list[ControllingEnd]]:
        if self.by_port is None:
            self.by_port = {p: [ControllingEnd(link, self._time) for link in self.component.peers(p)]  # type: ignore[attr-defined]
                            for p in self.ports}
        return self.by_port

    def poll(self, now: float) -> dict[str, list[ControllingEnd]]:
        if self.by_port is None and not self.live:
            for opening in self._build().values():
                for end in opening:
                    end.open_memory(now)
        by_port = self._build()
        if not self.live:
            for group in by_port.values():
                for end in group:
                    end.poll(now)
        return by_port

    async def serve(self) -> None:
        self.live = True
        async with asyncio.TaskGroup() as tg:
            for group in self._build().values():
                for end in group:
                    tg.create_task(end.run_live())

"""Live mode of the wallbox's ISO 15118-20 side: V2GTP over a real TCP socket.

In a study the SECC and the car's EVCC exchange their bytes in memory (:mod:`.iso15118`). In
``bidicharge up`` the wallbox listens on loopback (port chosen free) and each TCP connection the
car's EVCC opens is one SECC session; the V2GTP bytes go through the socket, every protocol
decision stays in the sans-I/O cores. What stays on the simulated cable is what is not data: the
control pilot (IEC 61851-1) and the power (`conduct`) — :class:`SocketInlet` reads those from the
car's inlet and carries only the bytes over TCP.

Discovery: ISO 15118-20 finds the SECC by SDP (UDP, IPv6 link-local multicast). On loopback in
one process the car learns the wallbox's address from the wiring instead (``charger_iso15118`` ↔
``vehicle_iso15118``), or from its ``iso15118.secc_address`` for an external SECC; SDP itself is in
:mod:`bidicharge.transports.iso15118_tcp` and its tests. No TLS in this live mode (plain TCP, as
SDP would announce ``Security = NoTLS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from bidicharge.components.interfaces.i01_vehicle import Iso15118Inlet
from bidicharge.protocols.iec61851 import CpState
from bidicharge.runtime.clock import Clock, ManualClock

if TYPE_CHECKING:
    from bidicharge.components.evse.iso15118 import EvseIso15118

log = logging.getLogger(__name__)
LISTEN_HOST = "127.0.0.1"


class SocketInlet:
    """The car's inlet as the wallbox sees it live: pilot and power from the cable, V2GTP bytes
    from the TCP connection the EVCC opened (the car side drives the EVCC's timers)."""

    def __init__(self, cable: Iso15118Inlet) -> None:
        self.cable = cable
        self._in = bytearray()
        self._writer: asyncio.StreamWriter | None = None
        self._connection = 0

    @property
    def cp_state(self) -> CpState:
        return self.cable.cp_state

    @property
    def connection(self) -> int:
        return self._connection

    def attach(self, writer: asyncio.StreamWriter) -> None:
        self._connection += 1
        self._in.clear()
        self._writer = writer

    def detach(self, writer: asyncio.StreamWriter) -> None:
        if self._writer is writer:
            self._writer = None

    def feed(self, data: bytes) -> None:
        self._in += data

    def data_to_send(self) -> bytes:
        out = bytes(self._in)
        self._in.clear()
        return out

    def receive_data(self, data: bytes, now: float) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    def next_deadline(self) -> float | None:
        return None  # the EVCC's timers run on the car's side of the socket

    def handle_timeout(self, now: float) -> None:
        return None

    def conduct(self, power_W: float, duration_s: float) -> float:
        return self.cable.conduct(power_W, duration_s)


class EvseIso15118Live:
    """Mixin of the evse component: the SECC's TCP server in live mode."""

    iso: EvseIso15118 | None
    context: Any
    name: str
    iso15118_address: tuple[str, int] | None = None  # where the SECC listens, once it does

    def iso15118_live(self) -> bool:
        clock = self.context.clock  # a study steps a ManualClock; `bidicharge up` a wall or accelerated one
        return clock is not None and not isinstance(clock, ManualClock)

    def iso15118_inlet(self, cable: Iso15118Inlet) -> Iso15118Inlet:
        """In live mode the bytes go over TCP; in a study straight through the cable."""
        return SocketInlet(cable) if self.iso15118_live() else cable

    async def serve(self, clock: Clock) -> None:
        iso = self.iso
        if iso is None or not isinstance(iso.inlet, SocketInlet):
            await super().serve(clock)  # type: ignore[misc]
            return
        inlet = iso.inlet

        async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            inlet.attach(writer)
            try:
                while data := await reader.read(65536):
                    inlet.feed(data)
                    iso.poll(clock.now())  # answer at once: the EVCC's message timeouts run
                    await writer.drain()
            except ConnectionError as exc:
                log.info("%s: ISO 15118 connection ended: %r", self.name, exc)
            finally:
                inlet.detach(writer)
                iso.connection_lost(clock.now())
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

        server = await asyncio.start_server(session, LISTEN_HOST, 0)
        host, port = server.sockets[0].getsockname()[:2]
        self.iso15118_address = (host, port)
        log.info("%s: SECC listening on %s:%d", self.name, host, port)
        async with server, asyncio.TaskGroup() as tasks:
            tasks.create_task(super().serve(clock))  # type: ignore[misc]
            tasks.create_task(server.serve_forever())

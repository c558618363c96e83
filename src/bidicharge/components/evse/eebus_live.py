"""Live mode of the wallbox's EEBUS side: a SHIP server (TLS 1.2, trust by SKI) on its node.

The wallbox listens (``eebus_host``/``eebus_port``, loopback by default); its energy manager
dials it. Trusted are the SKIs in ``eebus_trusted_skis`` (energy managers outside the scenario)
and the SKIs of the energy managers wired to its ``eebus`` port (the wiring is the pairing).
An unknown SKI is held in SHIP hello ``pending`` and never gets further. Time on the SHIP
connections and in the SPINE actors is the scenario's clock, so that the LPC/OPEV heartbeat
timeouts are in the same time as the control cycles.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bidicharge.runtime.clock import Clock

if TYPE_CHECKING:
    from bidicharge.components.evse.eebus import EvseEebus
    from bidicharge.runtime.component import RunContext
    from bidicharge.runtime.ports import Link
    from bidicharge.transports.ship_websocket import ShipIdentity, ShipTransport

log = logging.getLogger(__name__)


def make_identity(state_dir: str | None, name: str, now_s: float) -> ShipIdentity:
    """A SHIP identity: kept in ``state_dir`` when given (paired peers know us by its SKI)."""
    from bidicharge.transports.ship_websocket import ShipIdentity

    now = datetime.datetime.fromtimestamp(now_s, datetime.UTC)
    if state_dir is not None:
        return ShipIdentity.load_or_create(Path(state_dir), f"bidicharge-{name}", now=now)
    return ShipIdentity.generate(f"bidicharge-{name}", now=now)


class EvseEebusLive:
    name: str
    config: Any
    context: RunContext
    eebus: EvseEebus | None
    inbound: dict[str, list[Link]]

    _identity: ShipIdentity | None = None
    _ship: ShipTransport | None = None
    eebus_address: tuple[str, int] | None = None

    @property
    def eebus_ready(self) -> asyncio.Event:
        """Set once the SHIP server listens (``eebus_address`` is then known)."""
        event: asyncio.Event | None = self.__dict__.get("_eebus_ready")
        if event is None:
            event = self.__dict__["_eebus_ready"] = asyncio.Event()
        return event

    def eebus_identity(self) -> ShipIdentity:
        if self._identity is None:
            clock = self.context.clock
            self._identity = make_identity(self.config.eebus_state_dir, self.name,
                                           clock.now() if clock is not None else self.context.start_s)
        return self._identity

    def eebus_sent(self) -> None:
        """After the component used its actors: let the transport flush what they queued."""
        if self._ship is not None:
            self._ship.kick()

    async def serve(self, clock: Clock) -> None:
        if self.eebus is None:
            return
        from bidicharge.protocols.spine import EebusStack
        from bidicharge.transports.ship_websocket import ShipTransport, TrustStore

        trust = TrustStore(path=None)
        for ski in self.config.eebus_trusted_skis:
            trust.add(ski)
        for link in self.inbound.get("eebus", []):
            identity = getattr(link.local, "eebus_identity", None)
            if identity is not None:
                trust.add(identity().ski)
        stack = EebusStack(self.eebus.node, local_ship_id=f"bidicharge-{self.name}")
        async with ShipTransport(stack, self.eebus_identity(), trust, clock=clock.now) as ship:
            self._ship = ship
            port = await ship.listen(self.config.eebus_host, self.config.eebus_port)
            self.eebus_address = (self.config.eebus_host, port)
            self.eebus_ready.set()
            log.info("EVSE %s: SHIP on %s:%d, SKI %s", self.name, self.config.eebus_host, port, ship.identity.ski)
            try:
                await asyncio.Event().wait()  # serve until cancelled
            finally:
                self._ship = None

"""Live mode of a component's EEBUS node: a SHIP server (TLS 1.2, trust by SKI) on loopback.

Shared by every component that serves a SPINE node its energy manager dials (the wallbox on
I-03, the mMU's MGCP Grid Connection Point on I-47, the control unit's Energy Guard on I-09):
the component listens (``eebus_host``/``eebus_port``, loopback by default) and trusts the SKIs
in ``eebus_trusted_skis`` (energy managers outside the scenario) and the SKIs of the components
wired to its EEBUS port (the wiring is the pairing). An unknown SKI is held in SHIP hello
``pending`` and never reaches the node. Time on the SHIP connections and in the SPINE actors is
the scenario's clock, so that the heartbeat timeouts (LPC, OPEV) run in the same time as the
control cycles.

This is the serving half of :class:`~.i03_energy_manager.EebusEndpoint`; the HEMS dials.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from bidicharge.runtime.component import ComponentConfig

if TYPE_CHECKING:
    from bidicharge.protocols.spine import SpineNode
    from bidicharge.runtime.clock import Clock
    from bidicharge.runtime.component import RunContext
    from bidicharge.runtime.ports import Link
    from bidicharge.transports.ship_websocket import ShipIdentity, ShipTransport

log = logging.getLogger(__name__)


class ShipServerConfig(ComponentConfig):
    """The live-mode settings of a component's SHIP server."""

    eebus_host: str = Field("127.0.0.1", description="live mode: where the SHIP server listens")
    eebus_port: int = Field(0, ge=0, le=65535, description="live mode: SHIP port (0: any free port)")
    eebus_state_dir: str | None = Field(None, description="live mode: keeps the SHIP identity (our SKI)")
    eebus_trusted_skis: tuple[str, ...] = Field(
        (), description="live mode: SKIs of energy managers outside the scenario that may connect")


def make_identity(state_dir: str | None, name: str, now_s: float) -> ShipIdentity:
    """A SHIP identity: kept in ``state_dir`` when given (paired peers know us by its SKI)."""
    from bidicharge.transports.ship_websocket import ShipIdentity

    now = datetime.datetime.fromtimestamp(now_s, datetime.UTC)
    if state_dir is not None:
        return ShipIdentity.load_or_create(Path(state_dir), f"bidicharge-{name}", now=now)
    return ShipIdentity.generate(f"bidicharge-{name}", now=now)


class ShipServer:
    """Mixin of a component with a SPINE node: serves it over SHIP in live mode.

    The component provides ``eebus_node()`` and says with :meth:`eebus_serving` whether it has
    an EEBUS side at all; ``EEBUS_PORT`` names its provided EEBUS port (whose wired peers are
    trusted). After it changed its actors' data it calls :meth:`eebus_sent`.
    """

    EEBUS_PORT: ClassVar[str] = "eebus"
    name: str
    config: Any
    context: RunContext
    inbound: dict[str, list[Link]]

    _identity: ShipIdentity | None = None
    _ship: ShipTransport | None = None
    eebus_address: tuple[str, int] | None = None

    if TYPE_CHECKING:
        def eebus_node(self) -> SpineNode: ...

    def eebus_serving(self) -> bool:
        return bool(self.inbound.get(self.EEBUS_PORT)) or bool(self.config.eebus_trusted_skis)

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

    async def serve_eebus(self, clock: Clock) -> None:
        if not self.eebus_serving():
            return
        from bidicharge.protocols.spine import EebusStack
        from bidicharge.transports.ship_websocket import ShipTransport, TrustStore

        trust = TrustStore(path=None)
        for ski in self.config.eebus_trusted_skis:
            trust.add(ski)
        for link in self.inbound.get(self.EEBUS_PORT, []):
            identity = getattr(link.local, "eebus_identity", None)
            if identity is not None:
                trust.add(identity().ski)
        stack = EebusStack(self.eebus_node(), local_ship_id=f"bidicharge-{self.name}")
        async with ShipTransport(stack, self.eebus_identity(), trust, clock=clock.now) as ship:
            self._ship = ship
            port = await ship.listen(self.config.eebus_host, self.config.eebus_port)
            self.eebus_address = (self.config.eebus_host, port)
            self.eebus_ready.set()
            log.info("%s: SHIP on %s:%d, SKI %s", self.name, self.config.eebus_host, port, ship.identity.ski)
            try:
                await asyncio.Event().wait()  # serve until cancelled
            finally:
                self._ship = None

"""Live mode of the wallbox's EEBUS side: a SHIP server (TLS 1.2, trust by SKI) on its node.

The wallbox listens (``eebus_host``/``eebus_port``, loopback by default); its energy manager
dials it. Trusted are the SKIs in ``eebus_trusted_skis`` and those of the energy managers wired
to its ``eebus`` port. The server itself is the shared
:class:`~bidicharge.components.interfaces.ship_endpoint.ShipServer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bidicharge.components.interfaces.ship_endpoint import ShipServer, make_identity
from bidicharge.runtime.clock import Clock

if TYPE_CHECKING:
    from bidicharge.components.evse.eebus import EvseEebus

__all__ = ["EvseEebusLive", "make_identity"]


class EvseEebusLive(ShipServer):
    eebus: EvseEebus | None

    def eebus_serving(self) -> bool:
        return self.eebus is not None

    async def serve(self, clock: Clock) -> None:
        await self.serve_eebus(clock)

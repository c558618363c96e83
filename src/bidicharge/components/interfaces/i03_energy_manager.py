"""I-03 EVSE – HEMS: EEBUS (EVSECC/EVCC/EVCEM/EVSOC/OPEV/OSCEV/CEVC, LPC/LPP), or in memory.

On the wire, a wallbox provides the port ``eebus`` (protocol ``EEBUS SPINE``) and its energy
manager reads and commands it as the CEM (`components/hems/eebus.py`). The EEBUS contract
between components is duck-typed (:class:`EebusEndpoint`) so that any component with a SPINE
node — a wallbox on I-03, a control unit's Energy Guard on I-09 — can be wired to the HEMS.

`ChargerStatus` is what the HEMS's strategies read of a wallbox, whichever way it came. The
in-memory messages (`ChargerStatusRequest`, `PowerSetpoint`) are the older contract, still
served on the wallbox's ``energy_manager`` port. Power is positive into the vehicle; a negative
setpoint asks the EVSE to discharge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import asyncio

    from bidicharge.protocols.spine import SpineNode
    from bidicharge.runtime.ports import Link
    from bidicharge.transports.ship_websocket import ShipIdentity

EEBUS_PROTOCOL = "EEBUS SPINE"


class EebusEndpoint(Protocol):
    """What a component offers on a provided EEBUS port (I-03 wallbox, I-09 Energy Guard).

    Study mode needs only `eebus_node()` (the HEMS pairs the nodes in memory). Live mode: the
    component serves SHIP itself (listening at `eebus_address` once `eebus_ready` is set, with
    the identity `eebus_identity()`); it trusts the SKIs of the components wired to it and the
    HEMS dials it.
    """

    name: str

    def eebus_node(self) -> SpineNode: ...

    def eebus_identity(self) -> ShipIdentity: ...

    @property
    def eebus_ready(self) -> asyncio.Event: ...

    eebus_address: tuple[str, int] | None


def speaks_eebus(link: Link) -> bool:
    """True when the link ends on a provided port that carries EEBUS (SPINE) and the peer has a node."""
    protocol = link.peer_port.protocol
    return ("EEBUS" in protocol or "SPINE" in protocol) and hasattr(link.peer, "eebus_node")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerStatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerStatus:
    vehicle_connected: bool
    power_W: float  # at the vehicle side
    grid_power_W: float
    max_charge_W: float  # what the EVSE and vehicle allow now
    max_discharge_W: float
    min_power_W: float  # smallest non-zero power (6 A AC)
    soc: float | None
    capacity_Wh: float | None
    departure_s: float | None
    target_soc: float | None
    min_soc: float | None
    charge_efficiency: float  # grid → vehicle battery, stage and vehicle together
    discharge_efficiency: float
    stage_efficiency: float = 1.0  # the EVSE's own conversion, one way


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerSetpoint:
    power_W: float  # + charge, − discharge


@dataclass(frozen=True, slots=True, kw_only=True)
class SetpointAccepted:
    power_W: float  # the setpoint after the EVSE's own limits

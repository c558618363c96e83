"""EEBUS use cases as pure actor classes, both ends where the architecture has both.

=========================  ===============================  ==============================
use case                   server / controlled side          client / controlling side
=========================  ===============================  ==============================
LPC, LPP                   :class:`lpc.ControllableSystem`  :class:`energy_guard.EnergyGuard`
MGCP                       :class:`mgcp.GridConnectionPoint`  :class:`mgcp.MonitoringAppliance`
EVSECC, EVCC, EVCEM,       :class:`evse.EvseServer`         :class:`cem.CemEvClient`
EVSOC, OPEV, OSCEV, CEVC
discharge (extension)      ``EvseServer(max_discharge_W=)``  ``CemEvClient.write_discharge_setpoint``
=========================  ===============================  ==============================

A component creates the actor on an entity of its :class:`~bidicharge.protocols.spine.SpineNode`,
calls ``step(now)`` (where the actor has timers) and reads ``events()`` and the typed snapshots.
"""

from bidicharge.protocols.spine.usecases.cem import CemEvClient, EvSnapshot
from bidicharge.protocols.spine.usecases.energy_guard import EnergyGuard
from bidicharge.protocols.spine.usecases.evse import EvProfile, EvseServer
from bidicharge.protocols.spine.usecases.lpc import (
    ControllableSystem,
    Direction,
    LimitState,
    PowerLimitConfig,
)
from bidicharge.protocols.spine.usecases.mgcp import GridConnectionPoint, GridReading, MonitoringAppliance

__all__ = ["CemEvClient", "ControllableSystem", "Direction", "EnergyGuard", "EvProfile", "EvSnapshot", "EvseServer",
           "GridConnectionPoint", "GridReading", "LimitState", "MonitoringAppliance", "PowerLimitConfig"]

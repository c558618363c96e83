"""The SPINE data layout of an EVSE and its EV, shared by both ends of the EV use cases.

Ids follow what wallboxes in the field send (spine-go test data of the Elli and Porsche
EVSEs, eebus-go ``usecases/cem/*``): per-phase parameters 1..3 for currents, 4..6 for
powers, 7 for charged energy, 8 for the total power; load-control limits 1..3 for OPEV
(``obligation``, scope ``overloadProtection``) and 4..6 for OSCEV (``recommendation``, scope
``selfConsumption``) — mixing the two categories turns a PV offer into a hard cap.
"""

from __future__ import annotations

from typing import Final

PHASES: Final = ("a", "b", "c")
CURRENT_PARAMETERS: Final = (1, 2, 3)  # = measurementIds of the phase currents
POWER_PARAMETERS: Final = (4, 5, 6)
ENERGY_MEASUREMENT: Final = 7
POWER_TOTAL_PARAMETER: Final = 8
SOC_MEASUREMENT: Final = 9
OPEV_LIMITS: Final = (1, 2, 3)
OSCEV_LIMITS: Final = (4, 5, 6)

KEY_COMMUNICATION_STANDARD: Final = "communicationsStandard"
KEY_ASYMMETRIC: Final = "asymmetricChargingSupported"
COMMUNICATION_STANDARDS: Final = ("iec61851", "iso15118-2ed1", "iso15118-2ed2", "iso15118-20")

TS_PLAN: Final = 1  # the EV's charge plan (EV -> CEM)
TS_DEMAND: Final = 2  # singleDemand: the EV's energy demand (EV -> CEM)
TS_CONSTRAINTS: Final = 3  # power limits per slot (CEM -> EV)

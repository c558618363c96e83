"""The mMU's EEBUS side of I-47 (HEMS – iMSys, HAN): an MGCP Grid Connection Point.

The seed leaves the HAN protocol "manufacturer-specific"; EEBUS names MGCP (Monitoring of Grid
Connection Point 1.0.0) for exactly this reading, so the meter side serves it on one SPINE node
(device type ``SubMeterElectricity``, entity ``GridConnectionPointOfPremises``): the momentary
power at the grid connection point (``acPowerTotal``, + import, − feed-in, MGCP scenario 2) and
the registers 2.8.0 (``gridFeedIn``, scenario 3) and 1.8.0 (``gridConsumption``, scenario 4).
The physics meter measures the total only, so no per-phase currents or voltages are published
(scenarios 5, 6 stay empty; MGCP allows it: the client reads what the server lists).

Values are published after each measurement, "as of the end of the step", and only when they
changed; a subscribed HEMS is notified (SPINE ``notify`` of ``measurementListData``).
"""

from __future__ import annotations

from bidicharge.physics.meter import MeterState
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import GridConnectionPoint, GridReading


class MeterMgcp:
    """The mMU's SPINE node with the MGCP server; pure (no I/O, no clock)."""

    def __init__(self, name: str) -> None:
        self.device = LocalDevice(f"d:_n:bidicharge_{name}", "SubMeterElectricity")
        self.node = SpineNode(self.device)
        self.point = GridConnectionPoint(self.node, self.device.add_entity("GridConnectionPointOfPremises"))
        self._published: GridReading | None = None

    def publish(self, state: MeterState, now: float) -> bool:
        """The meter's values as of ``now``; True when something new went out."""
        reading = GridReading(power_W=round(state.power_W, 3), consumed_energy_Wh=round(state.import_Wh, 3),
                              feed_in_energy_Wh=round(state.export_Wh, 3))
        if reading == self._published:
            return False
        self._published = reading
        self.point.publish(reading, now)
        return True

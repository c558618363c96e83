"""mMU (C-MMU): the bidirectional meter at the grid connection point.

Registers import (OBIS 1.8.0) and export (2.8.0) in Wh, keeps quarter-hour interval values,
and gives the HEMS its current values on I-47 (HEMS – iMSys, HAN, read-only) two ways:

* ``eebus`` — EEBUS MGCP (:mod:`.mgcp`): a Grid Connection Point on its SPINE node, paired in
  memory with the HEMS in a study (every datagram traced) and served over SHIP/TLS in live mode
  (:class:`~bidicharge.components.interfaces.ship_endpoint.ShipServer`);
* ``han`` — the in-memory contract (`i47_han.MeterReading`), kept for scenarios wired to it.

The plants behind it are wired on I-39; the GCP hands it the total.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bidicharge.components.interfaces.i47_han import MeterReading, MeterReadingRequest
from bidicharge.components.interfaces.ship_endpoint import ShipServer, ShipServerConfig
from bidicharge.components.mmu.mgcp import MeterMgcp
from bidicharge.physics import meter
from bidicharge.protocols.spine import SpineNode
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides, requires


class MmuConfig(ShipServerConfig):
    pass


@component_type
class Mmu(ShipServer, Component):
    kind = "mmu"
    catalogue_id = "C-MMU"
    Config = MmuConfig
    PORTS = (
        requires("plants", "I-39", ELECTRICAL, many=True, optional=True),
        provides("gcp", "I-40", ELECTRICAL),
        provides("eebus", "I-47", "EEBUS SPINE",
                 description="MGCP Grid Connection Point: power, energy consumed and fed in (HAN)"),
        provides("han", "I-47", "in-memory", wire_protocol="SMGW HAN (TR-03109)"),
    )
    phase = Phase.BALANCE
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "import_Wh", "export_Wh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.state = meter.MeterState()
        self.intervals: list[meter.IntervalValue] = []
        self.mgcp: MeterMgcp | None = None

    def eebus_node(self) -> SpineNode:
        """The meter's SPINE node (MGCP Grid Connection Point), made on first use."""
        if self.mgcp is None:
            self.mgcp = MeterMgcp(self.name)
            self.mgcp.publish(self.state, self.now)  # the registers as they stand, before the first step
        return self.mgcp.node

    def start(self, now: float) -> None:
        super().start(now)
        if self.eebus_serving():
            self.eebus_node()

    def plants_power_W(self) -> float:
        return sum(link.peer.grid_power_W for link in self.peers("plants"))  # type: ignore[attr-defined]

    def measure(self, now: float, power_W: float, dt_s: float) -> None:
        self.state, closed = meter.step(self.state, now, power_W, dt_s)
        self.intervals.extend(closed)
        if self.mgcp is not None and self.mgcp.publish(self.state, now + dt_s):
            self.eebus_sent()

    def observe(self) -> tuple[float, ...]:
        return (self.state.power_W, self.state.import_Wh, self.state.export_Wh)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, MeterReadingRequest):
            return MeterReading(power_W=self.state.power_W, import_Wh=self.state.import_Wh, export_Wh=self.state.export_Wh)
        return super().handle(port, message, link)

    async def serve(self, clock: Clock) -> None:
        await self.serve_eebus(clock)

    def report(self) -> dict[str, Any]:
        return {
            "import_Wh": self.state.import_Wh,
            "export_Wh": self.state.export_Wh,
            "interval_values": [(iv.start_s, iv.import_Wh, iv.export_Wh) for iv in self.intervals],
        }

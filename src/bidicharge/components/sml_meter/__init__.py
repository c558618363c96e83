"""mMU with an SML LMN interface (C-MMU, kind ``sml_meter``): measures a connection point
and answers the gateway's poll on I-15 with the SML telegram a modern meter pushes
(OBIS 1.8.0 / 2.8.0 in Wh with scaler −1, 16.7.0 in W; `protocols.sml`).

The home behind the meter tells it what it draws (`measure`): a `gcp` wired to its `gcp`
port (I-40, with the plants behind the meter on I-39, as for `mmu`), or the HEMS stand-in
wired to the meter's HAN port (I-47, where a HEMS also reads current values). `silent_from` makes the meter stop answering from a
given time (a broken LMN): the gateway then reports `MeterSilent` and sends TAF values as
missing, never invented.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i15_lmn import Octets, SmlPoll, SmlTelegram
from bidicharge.components.interfaces.i47_han import MeterReading, MeterReadingRequest
from bidicharge.physics import meter
from bidicharge.protocols import sml
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import ELECTRICAL, Link, provides, requires
from bidicharge.runtime.scenario import parse_time_s

_TENTH = Decimal("0.1")


class SmlMeterConfig(ComponentConfig):
    manufacturer: str = Field("EMH", min_length=3, max_length=3)
    serial: int = Field(..., ge=0, lt=2**32)
    silent_from: str | None = None  # ISO time from which the meter sends nothing


def meter_id(manufacturer: str, serial: int) -> str:
    """The server id (hex) the gateway and the DSO's master data know the meter by."""
    return sml.server_id(manufacturer=manufacturer, serial=serial).hex()


@component_type
class SmlMeter(Component):
    kind = "sml_meter"
    catalogue_id = "C-MMU"
    Config = SmlMeterConfig
    PORTS = (
        provides("lmn", "I-15", "SML 1.04"),
        provides("han", "I-47", "in-memory", wire_protocol="SMGW HAN (TR-03109)"),
        provides("gcp", "I-40", ELECTRICAL, description="the connection point that hands the meter its balance"),
        requires("plants", "I-39", ELECTRICAL, many=True, optional=True),
    )
    phase = Phase.BALANCE
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("power_W", "import_Wh", "export_Wh")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.state = meter.MeterState()
        self.server_id = sml.server_id(manufacturer=config.manufacturer, serial=config.serial)
        self.meter_id = self.server_id.hex()
        self._silent_from = parse_time_s(config.silent_from) if config.silent_from else None
        self._transaction = itertools.count(1)
        self.telegrams_sent = 0

    def plants_power_W(self) -> float:
        return sum(link.peer.grid_power_W for link in self.peers("plants"))  # type: ignore[attr-defined]

    def measure(self, now: float, power_W: float, dt_s: float) -> None:
        self.now = now
        self.state, _ = meter.step(self.state, now, power_W, dt_s)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now

    def observe(self) -> tuple[float, ...]:
        return (self.state.power_W, self.state.import_Wh, self.state.export_Wh)

    def silent(self, now: float) -> bool:
        return self._silent_from is not None and now >= self._silent_from

    def telegram(self) -> bytes:
        reading = sml.MeterReading(
            server_id=self.server_id,
            import_energy_Wh=Decimal(self.state.import_Wh).quantize(_TENTH),
            export_energy_Wh=Decimal(self.state.export_Wh).quantize(_TENTH),
            active_power_W=round(self.state.power_W),
        )
        messages = sml.reading_messages(reading, next_transaction_id=lambda: next(self._transaction).to_bytes(4, "big"))
        return sml.encode_file(messages)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, SmlPoll):
            if self.silent(self.now):
                return SmlTelegram(data=Octets(b""))
            self.telegrams_sent += 1
            return SmlTelegram(data=Octets(self.telegram()))
        if isinstance(message, MeterReadingRequest):
            return MeterReading(power_W=self.state.power_W, import_Wh=self.state.import_Wh, export_Wh=self.state.export_Wh)
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {"import_Wh": self.state.import_Wh, "export_Wh": self.state.export_Wh,
                "telegrams_sent": self.telegrams_sent}

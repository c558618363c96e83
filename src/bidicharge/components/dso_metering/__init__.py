"""DSO metering (C-DSO-METERING, kind ``dso_metering``): the meter master data of the
connection points (I-33) — which meter and gateway, how the controllable devices are
reached (CLS channel or ripple group), the devices and the §14a modules chosen.

Meters are given by manufacturer and serial; the server id (hex) is computed as the meter
itself forms it (DIN 43863-5, `protocols.sml.server_id`), so the master data and the
gateway's TAF messages name the same meter.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.interfaces.i33_master_data import (
    DeviceRecord,
    MasterData,
    MasterDataRequest,
    MeteringPoint,
)
from bidicharge.control.section14a import DeviceKind
from bidicharge.protocols import sml
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides


class DeviceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: DeviceKind = DeviceKind.CHARGE_POINT
    rated_power_W: float = Field(11_000.0, gt=0)
    phases: int = Field(3, ge=1, le=3)


class PointSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    household: str
    serial: int = Field(..., ge=0, lt=2**32)
    manufacturer: str = "EMH"
    gateway: str | None = None
    control_unit: str | None = None  # reached through the CLS channel cls.<control_unit>
    ripple_group: str | None = None
    via_ems: bool = False
    devices: tuple[DeviceSpec, ...] = ()
    modules: tuple[str, ...] = ("module_1",)


class DsoMeteringConfig(ComponentConfig):
    points: tuple[PointSpec, ...] = ()


def metering_point(spec: PointSpec) -> MeteringPoint:
    from bidicharge.components.gwa import channel_of

    return MeteringPoint(
        household_id=spec.household,
        customer_id=f"customer-{spec.household}",
        meter_id=sml.server_id(manufacturer=spec.manufacturer, serial=spec.serial).hex(),
        gateway_id=spec.gateway,
        channel_id=channel_of(spec.control_unit) if spec.control_unit else None,
        ripple_group=spec.ripple_group,
        unit_id=f"unit-{spec.household}" if spec.devices else None,
        via_ems=spec.via_ems,
        devices=tuple(DeviceRecord(device_id=d.id, kind=d.kind.value, rated_power_W=d.rated_power_W, phases=d.phases)
                      for d in spec.devices),
        modules=spec.modules,
    )


@component_type
class DsoMetering(Component):
    kind = "dso_metering"
    catalogue_id = "C-DSO-METERING"
    Config = DsoMeteringConfig
    PORTS = (provides("master_data", "I-33", "in-memory", wire_protocol="proprietary"),)
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.points = tuple(metering_point(p) for p in config.points)

    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, MasterDataRequest):
            return MasterData(points=self.points)
        return super().handle(port, message, link)

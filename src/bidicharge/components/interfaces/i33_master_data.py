"""I-33 DSO metering – DSO backend: meter master data of the connection points.

One `MeteringPoint` per household connection point: its meter (server id), the gateway
that reads it, how its controllable devices (SteuVE) are reached (CLS channel of a control
unit, or a ripple-control group), the devices themselves and the §14a modules chosen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRecord:
    device_id: str
    kind: str  # control.section14a.DeviceKind value
    rated_power_W: float
    phases: int = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringPoint:
    household_id: str  # the grid model's connection point (Kerber load bus)
    customer_id: str
    meter_id: str  # SML server id, hex
    gateway_id: str | None  # None: no iMSys (legacy meter)
    channel_id: str | None = None  # CLS channel of the control unit
    ripple_group: str | None = None  # legacy: ripple-control group
    unit_id: str | None = None  # the controllable unit (device or EMS) the DSO addresses
    via_ems: bool = False
    devices: tuple[DeviceRecord, ...] = ()
    modules: tuple[str, ...] = ("module_1",)  # §14a grid-fee modules chosen


@dataclass(frozen=True, slots=True, kw_only=True)
class MasterDataRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class MasterData:
    points: tuple[MeteringPoint, ...]

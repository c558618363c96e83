"""Energy transfer services and their parameter sets (ISO 15118-20 §8.4.3.2, Tables 204–207, as Josev cites them).

The SECC offers services (AC, DC, AC_BPT, DC_BPT, …) in ServiceDiscoveryRes and, per service,
parameter sets in ServiceDetailRes: connector, control mode (Scheduled/Dynamic), mobility
needs mode, pricing, nominal voltage and for BPT also BPTChannel, GeneratorMode and
GridCodeIslandingDetectionMethod (Table 206). The EVCC selects one (ServiceID,
ParameterSetID) pair. Here a parameter set is a typed `ParameterSet`, translated to and
from the wire list of named `Parameter`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from bidicharge.protocols.exi.messages import common_messages as cm

from .errors import RemoteProtocolError


class ServiceId(IntEnum):
    """Table 204."""

    AC = 1
    DC = 2
    WPT = 3
    DC_ACDP = 4
    AC_BPT = 5
    DC_BPT = 6
    DC_ACDP_BPT = 7
    INTERNET = 65
    PARKING_STATUS = 66


AC_SERVICES = frozenset({ServiceId.AC, ServiceId.AC_BPT})
DC_SERVICES = frozenset({ServiceId.DC, ServiceId.DC_BPT})
BPT_SERVICES = frozenset({ServiceId.AC_BPT, ServiceId.DC_BPT})


class ControlMode(IntEnum):
    SCHEDULED = 1
    DYNAMIC = 2


class MobilityNeedsMode(IntEnum):
    EVCC_ONLY = 1
    EVCC_AND_SECC = 2


class Pricing(IntEnum):
    NONE = 0
    ABSOLUTE = 1
    LEVELS = 2


class BptChannel(IntEnum):
    UNIFIED = 1
    SEPARATED = 2


class GeneratorMode(IntEnum):
    GRID_FOLLOWING = 1
    GRID_FORMING = 2


class IslandingDetection(IntEnum):
    ACTIVE = 1
    PASSIVE = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterSet:
    """One parameter set of an energy transfer service. BPT fields are None for non-BPT services."""

    parameter_set_id: int
    connector: int  # AC: 1 single-phase, 2 three-phase; DC: 1 core, 2 extended, 3 dual2, 4 dual4
    control_mode: ControlMode
    nominal_voltage_V: int | None = None  # AC only
    mobility_needs_mode: MobilityNeedsMode = MobilityNeedsMode.EVCC_ONLY
    pricing: Pricing = Pricing.NONE
    bpt_channel: BptChannel | None = None
    generator_mode: GeneratorMode | None = None
    islanding_detection: IslandingDetection | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceOffer:
    service: ServiceId
    parameter_sets: tuple[ParameterSet, ...]
    free: bool = True


def bpt_offer(
    service: ServiceId,
    *,
    control_modes: Sequence[ControlMode] = (ControlMode.DYNAMIC, ControlMode.SCHEDULED),
    connector: int | None = None,
    nominal_voltage_V: int | None = 230,
    bpt_channel: BptChannel = BptChannel.UNIFIED,
    generator_mode: GeneratorMode = GeneratorMode.GRID_FOLLOWING,
    islanding_detection: IslandingDetection = IslandingDetection.ACTIVE,
) -> ServiceOffer:
    """An offer with one parameter set per control mode (ids 1, 2, …), BPT parameters filled in."""
    ac = service in AC_SERVICES
    bpt = service in BPT_SERVICES
    return ServiceOffer(
        service=service,
        parameter_sets=tuple(
            ParameterSet(
                parameter_set_id=i + 1,
                connector=connector if connector is not None else (2 if ac else 2),
                control_mode=mode,
                nominal_voltage_V=nominal_voltage_V if ac else None,
                bpt_channel=bpt_channel if bpt else None,
                generator_mode=generator_mode if bpt else None,
                islanding_detection=islanding_detection if bpt and ac else None,
            )
            for i, mode in enumerate(control_modes)
        ),
    )


# Wire names of Tables 205-207 (Parameter/@Name); all travel as intValue (as Josev reads them).
_WIRE: tuple[tuple[str, str], ...] = (
    ("Connector", "connector"),
    ("ControlMode", "control_mode"),
    ("EVSENominalVoltage", "nominal_voltage_V"),
    ("MobilityNeedsMode", "mobility_needs_mode"),
    ("Pricing", "pricing"),
    ("BPTChannel", "bpt_channel"),
    ("GeneratorMode", "generator_mode"),
    ("GridCodeIslandingDetectionMethod", "islanding_detection"),
)


def to_wire(ps: ParameterSet) -> cm.ParameterSet:
    params = []
    for name, attr in _WIRE:
        value = getattr(ps, attr)
        if value is not None:
            params.append(cm.Parameter(name=name, int_value=int(value)))
    return cm.ParameterSet(parameter_set_id=ps.parameter_set_id, parameter=tuple(params))


def _number(p: cm.Parameter) -> int:
    for v in (p.int_value, p.short_value, p.byte_value):
        if v is not None:
            return v
    if p.rational_number is not None:
        return (
            p.rational_number.value * 10**p.rational_number.exponent if p.rational_number.exponent >= 0 else 0
        )
    if p.bool_value is not None:
        return int(p.bool_value)
    raise RemoteProtocolError(f"parameter {p.name} carries no number")


def from_wire(ps: cm.ParameterSet) -> ParameterSet:
    """A typed parameter set; RemoteProtocolError for values outside Tables 205-207."""
    values: dict[str, int] = {}
    by_name = dict(_WIRE)
    for p in ps.parameter:
        attr = by_name.get(p.name)
        if attr is not None:  # unknown (manufacturer) parameters are ignored
            values[attr] = _number(p)
    try:
        return ParameterSet(
            parameter_set_id=ps.parameter_set_id,
            connector=values.get("connector", 1),
            control_mode=ControlMode(values["control_mode"]),
            nominal_voltage_V=values.get("nominal_voltage_V"),
            mobility_needs_mode=MobilityNeedsMode(values.get("mobility_needs_mode", 1)),
            pricing=Pricing(values.get("pricing", 0)),
            bpt_channel=BptChannel(values["bpt_channel"]) if "bpt_channel" in values else None,
            generator_mode=GeneratorMode(values["generator_mode"]) if "generator_mode" in values else None,
            islanding_detection=(
                IslandingDetection(values["islanding_detection"]) if "islanding_detection" in values else None
            ),
        )
    except (KeyError, ValueError) as exc:
        raise RemoteProtocolError(f"parameter set {ps.parameter_set_id}: {exc!r}") from None

"""Events the SECC and EVCC cores emit to their owners (the EVSE and BEV components).

Sign convention (as everywhere in bidicharge): positive power flows into the vehicle
(charging), negative power flows out of it (discharging, V2G). Energies are in Wh, times
in seconds, SoC as a fraction 0..1 at this API (the wire carries percent).
"""

from __future__ import annotations

from dataclasses import dataclass

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from .services import ParameterSet, ServiceId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted:
    session_id: bytes
    evcc_id: str
    evse_id: str
    resumed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSelected:
    service: ServiceId
    parameter_set: ParameterSet


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationRequested:
    """The SECC answers Ongoing until its owner calls `authorize()` (unless auto-authorizing).

    For Plug & Charge the contract's signature and chain have been checked already; `emaid`
    is the contract id for the owner's (backend's) decision."""

    method: cm.Authorization
    emaid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvLimits:
    """The EV's power (and for DC voltage/current) limits from ChargeParameterDiscovery or the loop."""

    max_charge_power_W: float
    min_charge_power_W: float
    max_discharge_power_W: float | None = None
    min_discharge_power_W: float | None = None
    max_voltage_V: float | None = None
    min_voltage_V: float | None = None
    max_charge_current_A: float | None = None
    max_discharge_current_A: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvEnergyNeeds:
    """What the EV needs (ScheduleExchangeReq and every Dynamic charge-loop request).

    `departure_time_s` counts from now; `min_energy_Wh` may be negative when the EV lets a
    discharge go below its present state (V2X energy requests)."""

    departure_time_s: int | None
    target_energy_Wh: float | None
    max_energy_Wh: float | None
    min_energy_Wh: float | None
    max_v2x_energy_Wh: float | None = None
    min_v2x_energy_Wh: float | None = None
    target_soc: float | None = None
    min_soc: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerDeliveryRequested:
    progress: cm.ChargeProgress
    channel: cm.ChannelSelection | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvStatus:
    """The EV's present state, from every charge-loop request."""

    present_power_W: float | None
    soc: float | None
    present_voltage_V: float | None = None
    target_voltage_V: float | None = None
    target_current_A: float | None = None
    battery_capacity_Wh: float | None = None  # DisplayParameters/BatteryEnergyCapacity, when sent


@dataclass(frozen=True, slots=True, kw_only=True)
class CableCheckRequested:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PreChargeRequested:
    target_voltage_V: float
    present_voltage_V: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WeldingDetectionRequested:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleEntry:
    """One interval of a Scheduled-mode schedule, from the start of the schedule."""

    start_s: int
    duration_s: int
    max_charge_power_W: float
    max_discharge_power_W: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleReceived:
    schedule_tuple_id: int
    entries: tuple[ScheduleEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceNegotiated:
    service: ServiceId
    parameter_set: ParameterSet


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseLimits:
    max_charge_power_W: float
    min_charge_power_W: float
    max_discharge_power_W: float | None = None
    min_discharge_power_W: float | None = None
    max_voltage_V: float | None = None
    min_voltage_V: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerCommanded:
    """The SECC's command in the charge loop (EVCC side).

    `target_power_W` is set in Dynamic mode (AC: EVSETargetActivePower; DC: the power the
    EVSE's window forces), None when the EV decides within the limits."""

    target_power_W: float | None
    max_charge_power_W: float | None = None
    max_discharge_power_W: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerDeliveryConfirmed:
    """EVCC side: the SECC accepted PowerDeliveryReq(`progress`); the EV now switches the
    control pilot (to C after Start [V2G20-847], back to B after Stop)."""

    progress: cm.ChargeProgress


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseOutput:
    """The DC EVSE's present output (PreCharge, charge loop, welding detection)."""

    present_voltage_V: float
    present_current_A: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseNotified:
    notification: ct.EvseNotification


@dataclass(frozen=True, slots=True, kw_only=True)
class MeteringConfirmed:
    """SECC side: the EV confirmed (and, with a contract, signed) this meter reading."""

    meter_id: str
    charged_Wh: int
    discharged_Wh: int | None
    signed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """EVCC side: the EVSE meter's registers from a charge-loop answer."""

    meter_id: str
    charged_Wh: int
    discharged_Wh: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractCertificateInstalled:
    """CertificateInstallation succeeded: the SECC handed over a contract for `emaid`; on the
    EVCC side `credentials` holds the new contract (certificate chain and decrypted key)."""

    emaid: str
    credentials: object | None = None  # pnc.ContractCredentials on the EVCC side


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded:
    """The session is over (`error` None) or failed. `paused` after SessionStop Pause."""

    paused: bool = False
    error: str | None = None
    response_code: ct.ResponseCode | None = None


SeccEvent = (
    SessionStarted
    | AuthorizationRequested
    | ServiceSelected
    | EvLimits
    | EvEnergyNeeds
    | PowerDeliveryRequested
    | EvStatus
    | CableCheckRequested
    | PreChargeRequested
    | WeldingDetectionRequested
    | MeteringConfirmed
    | ContractCertificateInstalled
    | SessionEnded
)
EvccEvent = (
    SessionStarted
    | ServiceNegotiated
    | EvseLimits
    | ScheduleReceived
    | PowerCommanded
    | PowerDeliveryConfirmed
    | EvseOutput
    | EvseNotified
    | MeterReading
    | ContractCertificateInstalled
    | SessionEnded
)

"""The park's EVSEs as OCPP 2.1 charging stations towards a CPO backend (I-04), one station each.

Each EVSE is its own charging station (identity = its EVSE id, one EVSE with one connector) with
the station logic of :class:`bidicharge.components.evse.ocpp_station_core.StationCore`, so the
frames are the evse component's: BootNotification and StatusNotification at start (B01, G01);
when a car plugs in, StatusNotification ``Occupied``, TransactionEvent ``Started``
(``CablePluggedIn``) whose idToken is the car's contract id (type ``eMAID``: ISO 15118 Plug &
Charge identifies the car; here the contract id is the vehicle id, which is how the CPO backend
can tell the technical aggregator on I-14 which car stands where) and NotifyEVChargingNeeds
(K15, OCPP 2.1 ``v2xChargingParameters`` with the car's power limits both ways); every
``meter_interval_s`` TransactionEvent ``Updated``/``MeterValuePeriodic`` with
``Energy.Active.Import.Register`` and ``Energy.Active.Export.Register`` (apart, never one signed
number) and the SoC; NotifyEVChargingNeeds again when the car's limits move (ISO 15118-20
dynamic mode renegotiates them every loop; the CSMS only hears a move of more than
``needs_threshold_W``); when the car leaves, TransactionEvent ``Ended`` (``EVDeparted``) and
``Available``; Heartbeat after a quiet ``HeartbeatInterval`` (G02).

The CSMS steers with SetChargingProfile (TxProfile, 2.1 ``operationMode``/``setpoint``, negative
= discharge), answered by the core; what a station's profile asks for now is read through
:func:`bidicharge.components.evse.ocpp.backend_setpoint_W`, the same precedence as a single
wallbox's (a backend profile in force wins over the park's own default).

Study mode: the frames travel over the park's runtime link to the CSMS synchronously
(:class:`~bidicharge.protocols.ocppj.memory.MemoryEndpoint`, validated against the official
schemas) and are traced by action name. Times: a step's plug-in is stamped at the step's start
with the registers before the step, its meter values at the step's end — so a transaction's
registers hold exactly the energy that flowed while the car was plugged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bidicharge.components.evse.ocpp import backend_setpoint_W
from bidicharge.components.evse.ocpp_station_core import StationCore
from bidicharge.components.interfaces.i04_ocpp import OcppFrame, study_carrier
from bidicharge.protocols.ocppj import OcppVersion, counter_ids, v2_1
from bidicharge.protocols.ocppj.memory import MemoryCallError, MemoryEndpoint

if TYPE_CHECKING:
    from bidicharge.runtime.ports import Link
    from bidicharge.runtime.trace import TraceRecorder

log = logging.getLogger(__name__)

EVSE_ID = 1  # one EVSE with one connector per station
TOKEN_TYPE = "eMAID"  # OCPP IdTokenEnumType: the ISO 15118 contract id (Plug & Charge)


class ParkStationCore(StationCore):
    """The evse's station core; the SoC goes out with the precision the park has (1e-6 of the
    battery, as I-01 gives it) instead of the core's 0.1 %: the technical aggregator plans the
    owner's minimum SoC from it, and 0.05 % off took a car below its minimum in this study."""

    def transaction_event(self, evse_id: int, event_type: str, trigger: str, *, offline: bool,
                          soc: float | None = None, **fields: Any) -> Any:
        request = super().transaction_event(evse_id, event_type, trigger, offline=offline, **fields)
        if soc is None:
            return request
        m = self.m
        meter = request.meter_value[0]
        precise = m.SampledValueType(value=round(soc * 100, 4), measurand=m.MeasurandEnumType.SOC,
                                     unit_of_measure=m.UnitOfMeasureType(unit="Percent"))
        return replace(request, meter_value=(replace(meter, sampled_value=(*meter.sampled_value, precise)),))


@dataclass(frozen=True, slots=True, kw_only=True)
class EvseReading:
    """What one EVSE knows after a step (W positive into the vehicle, Wh grid side)."""

    plugged: bool
    vehicle_id: str
    soc: float
    import_Wh: float
    export_Wh: float
    max_charge_power_W: float
    max_discharge_power_W: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Plugged:
    """A car plugged in: Occupied, transaction Started with its contract id, its V2X needs."""

    at_s: float
    vehicle_id: str
    soc: float
    needs: Any
    import_Wh: float  # the registers when it plugged in, before any energy of the transaction
    export_Wh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Metered:
    at_s: float
    import_Wh: float
    export_Wh: float
    soc: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedsChanged:
    at_s: float
    needs: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Unplugged:
    at_s: float
    import_Wh: float
    export_Wh: float


StationEvent = Plugged | Metered | NeedsChanged | Unplugged


def v2x_needs(reading: EvseReading) -> Any:
    """K15 ChargingNeeds (OCPP 2.1) from what ISO 15118-20 tells the EVSE: the car's power limits
    both ways. The park does not learn the car's capacity or departure (the OEM backend does)."""
    m = v2_1
    bidirectional = reading.max_discharge_power_W > 0
    v2x = m.V2XChargingParametersType(
        max_charge_power=round(reading.max_charge_power_W, 1),
        max_discharge_power=round(reading.max_discharge_power_W, 1) if bidirectional else None)
    return m.ChargingNeedsType(requested_energy_transfer=m.EnergyTransferModeEnumType("AC_BPT" if bidirectional
                                                                                       else "AC_three_phase"),
                               v2x_charging_parameters=v2x)


class ParkStation:
    """One EVSE of the park as an OCPP station in a study (frames over the park's link)."""

    def __init__(self, identity: str, clock: Callable[[], float]) -> None:
        self.identity = identity
        self._clock = clock
        self.core = ParkStationCore(identity=identity, now=self._datetime, version=OcppVersion.V2_1,
                                    model="bidicharge park EVSE")
        self.endpoint = MemoryEndpoint(identity=identity, version=OcppVersion.V2_1,
                                       new_message_id=counter_ids(f"{identity}-"))
        self.core.register(self.endpoint.router)
        self.plugged = False
        self.reported_limits_W = (0.0, 0.0)
        self.next_meter_s = 0.0
        self.sent_s = float("-inf")

    def _datetime(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def setpoint_W(self, local_W: float) -> float:
        """What the power stage does now: the backend's profile in force, else ``local_W``."""
        evse = self.core.evses[EVSE_ID]
        if not evse.profiles:
            return local_W
        self.core.refresh()  # a schedule's next period may have begun
        return backend_setpoint_W(local_W, evse.applied)


Carry = Callable[[ParkStation, Any], Any]


class ParkStations:
    """All EVSEs of the park as OCPP stations; ``publish`` after every step tells the CSMS."""

    def __init__(self, identities: Sequence[str], *, meter_interval_s: float, needs_threshold_W: float) -> None:
        self.clock_s = 0.0
        self.stations = [ParkStation(identity, lambda: self.clock_s) for identity in identities]
        self.by_identity = {s.identity: s for s in self.stations}
        self.meter_interval_s = meter_interval_s
        self.needs_threshold_W = needs_threshold_W
        self.errors: list[str] = []  # calls the CSMS refused or did not answer (the park stays up)
        self._link: Link | None = None
        self._trace: TraceRecorder | None = None
        self._name = ""

    # ---- study mode: frames over the runtime link -------------------------------------------
    def connect(self, link: Link, trace: TraceRecorder, now: float) -> None:
        """Boot every station (B01) and report its connector (G01)."""
        self._link, self._trace, self._name, self.clock_s = link, trace, link.local.name, now
        for station in self.stations:
            boot = self.call(station, station.core.boot_request("PowerUp"))
            if boot is not None:
                station.core.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = str(boot.interval)
            self.call(station, station.core.status_request(EVSE_ID))

    def call(self, station: ParkStation, request: Any) -> Any:
        """One CALL to the CSMS and its typed answer; a refusal is recorded, None returned."""
        link, trace = self._link, self._trace
        assert link is not None and trace is not None
        action, now = type(request).ACTION, self.clock_s
        station.sent_s = now
        carry = study_carrier(link, trace, identity=station.identity, version=station.endpoint.version,
                              action=action, source=self._name, now=now)
        try:
            return station.endpoint.call(request, carry, now=now)
        except MemoryCallError as exc:
            self.errors.append(f"{station.identity}: {exc}")
            log.warning("park station %s: %s", station.identity, exc)
            return None

    def receive(self, frame: OcppFrame) -> OcppFrame | None:
        """A frame from the CSMS (SetChargingProfile, …) for one of the stations: its reply frame."""
        station = self.by_identity.get(frame.identity)
        if station is None:
            return None  # no such station here: as a connection that is not open
        reply = station.endpoint.receive(frame.text, now=self.clock_s)
        return None if reply is None else OcppFrame(identity=frame.identity, version=frame.version, text=reply)

    def publish(self, start_s: float, end_s: float, before: Sequence[tuple[float, float]],
                after: Sequence[EvseReading]) -> None:
        """After the step [start_s, end_s]: what each station must tell the CSMS, told now (study)."""
        for station, events in self.events(start_s, end_s, before, after):
            for event in events:
                self.clock_s = event.at_s
                self.tell(station, event)
            self.clock_s = end_s
            interval_s = float(station.core.variables[("OCPPCommCtrlr", "HeartbeatInterval")])
            if end_s - station.sent_s >= interval_s:  # G02: only after a quiet interval
                self.call(station, station.core.heartbeat_request())

    def events(self, start_s: float, end_s: float, before: Sequence[tuple[float, float]],
               after: Sequence[EvseReading]) -> list[tuple[ParkStation, list[StationEvent]]]:
        """Plug-ins (at the step's start, registers ``before``), meter values and renegotiated
        needs (at its end), departures; only stations with something to tell."""
        out: list[tuple[ParkStation, list[StationEvent]]] = []
        for station, (import0_Wh, export0_Wh), r in zip(self.stations, before, after, strict=True):
            events: list[StationEvent] = []
            if r.plugged and not station.plugged:
                events.append(Plugged(at_s=start_s, vehicle_id=r.vehicle_id, soc=r.soc, needs=v2x_needs(r),
                                      import_Wh=import0_Wh, export_Wh=export0_Wh))
                station.reported_limits_W = (r.max_charge_power_W, r.max_discharge_power_W)
                station.next_meter_s = start_s  # the first meter value at the end of this step
            if r.plugged:
                if end_s >= station.next_meter_s - 1e-9:
                    events.append(Metered(at_s=end_s, import_Wh=r.import_Wh, export_Wh=r.export_Wh, soc=r.soc))
                    while station.next_meter_s <= end_s + 1e-9:
                        station.next_meter_s += self.meter_interval_s
                charge_W, discharge_W = station.reported_limits_W
                if max(abs(r.max_charge_power_W - charge_W),
                       abs(r.max_discharge_power_W - discharge_W)) > self.needs_threshold_W:
                    events.append(NeedsChanged(at_s=end_s, needs=v2x_needs(r)))
                    station.reported_limits_W = (r.max_charge_power_W, r.max_discharge_power_W)
            elif station.plugged:
                events.append(Unplugged(at_s=end_s, import_Wh=r.import_Wh, export_Wh=r.export_Wh))
            station.plugged = r.plugged
            out.append((station, events))
        return out

    def tell(self, station: ParkStation, event: StationEvent) -> None:
        """One event as OCPP calls over the study link (the core keeps seqNo and registers)."""
        core, evse = station.core, station.core.evses[EVSE_ID]
        if isinstance(event, NeedsChanged):
            self.call(station, core.charging_needs_request(EVSE_ID, event.needs))
            return
        core.set_registers(EVSE_ID, import_Wh=event.import_Wh, export_Wh=event.export_Wh)
        if isinstance(event, Plugged):
            evse.connector_status = "Occupied"
            self.call(station, core.status_request(EVSE_ID))
            if core.begin_transaction(EVSE_ID, event.vehicle_id, TOKEN_TYPE):
                self.call(station, core.transaction_event(EVSE_ID, "Started", "CablePluggedIn", offline=False,
                                                          id_token=event.vehicle_id, soc=event.soc))
            self.call(station, core.charging_needs_request(EVSE_ID, event.needs))
        elif isinstance(event, Metered):
            if evse.transaction_id is not None:
                self.call(station, core.transaction_event(EVSE_ID, "Updated", "MeterValuePeriodic", offline=False,
                                                          soc=event.soc))
        else:
            if evse.transaction_id is not None:
                request = core.transaction_event(EVSE_ID, "Ended", "EVDeparted", offline=False,
                                                 stopped_reason="EVDisconnected")
                core.end_transaction(EVSE_ID)
                self.call(station, request)
            evse.connector_status = "Available"
            self.call(station, core.status_request(EVSE_ID))

"""The EVSE as an OCPP charging station (C-EVSE on I-04 to a CPO backend, I-05 to an EVSE backend).

What the wallbox tells its backend, from what it sees of the car and its own meter:

* at start: BootNotification (B01) and the connector's StatusNotification (G01);
* the car plugs in: StatusNotification ``Occupied``, a transaction starts (E02, TxStartPoint
  EVConnected, ``CablePluggedIn``) and NotifyEVChargingNeeds (K15; OCPP 2.1 with
  ``v2xChargingParameters`` from the EVSE's ``status()``: power limits both ways, energy
  requests to the owner's minimum, the departure target and full, target SoC, departure time);
* every ``meter_interval_s``: TransactionEvent ``Updated``/``MeterValuePeriodic`` with
  ``Energy.Active.Import.Register`` and ``Energy.Active.Export.Register`` — the EVSE's own meter
  on the **grid side**, the two directions integrated apart (never one signed number) — and SoC;
* the car leaves: TransactionEvent ``Ended`` (``EVDeparted``, stoppedReason ``EVDisconnected``)
  with the final registers, StatusNotification ``Available``.

What the backend tells the wallbox: SetChargingProfile with the 2.1 V2X fields (handled by
:class:`.ocpp_station_core.StationCore`), applied to the power stage through
:func:`backend_setpoint_W`.

Precedence between the energy manager (I-03, also EEBUS) and the backend (I-04/I-05): **a
backend profile in force wins**; the energy manager steers only within what it leaves open.
The operation mode decides how much that is (OCPP 2.1 part 2, Q "V2X" operation modes):
``CentralSetpoint`` fixes the power (the energy manager is overruled — the CPO/aggregator has
sold that flexibility, e.g. on I-14/I-25 to the TSO, and the wallbox must deliver it);
``ExternalSetpoint`` takes the setpoint of the external (local) system, i.e. the energy
manager, inside the profile's ``limit``/``dischargeLimit``; ``ChargingOnly`` and
``ExternalLimits`` bound the energy manager's setpoint (``ChargingOnly`` never discharges);
``Idle`` holds 0 W. The frequency and load-balancing modes act on the stage every step
(:mod:`.ocpp_v2x` has the table):

* ``LocalFrequency`` — the wallbox measures the grid frequency itself (port ``frequency``, I-42,
  wired to an ``hv_grid``'s ``distribution``; its power then counts in that grid's balance) and
  sets ``v2xBaseline`` + ``v2xFreqWattCurve``(f) each step, so a frequency step shows in the
  setpoint of the next step (the grid is stepped after the wallbox). A LocalFrequency profile
  to a wallbox without the port is refused (``UnsupportedParam``). Example curve for FCR with
  11 kW symmetric: ``[{frequency: 49.8, power: -11000}, {frequency: 49.99, power: 0},
  {frequency: 50.01, power: 0}, {frequency: 50.2, power: 11000}]``;
* ``CentralFrequency`` — the CSMS computes the power from the frequency: the station follows the
  profile's ``setpoint`` and its UpdateDynamicSchedule updates (profile kind ``Dynamic``), or,
  once an AFRRSignal is active, ``v2xBaseline`` + ``v2xSignalWattCurve``(signal);
* ``LocalLoadBalancing`` — the energy manager's setpoint within the profile's limits and the
  wallbox's share of the site connection (``ocpp.local_limit_W``/``local_export_limit_W``).

One thing stays above the backend: an LPC limit (§14a EnWG) that an Energy Guard set on the
wallbox over EEBUS caps what it draws.

Study mode: real OCPP-J frames (``protocols/ocppj``: framing, schema validation, typed
messages) are carried over the runtime link synchronously (:mod:`bidicharge.protocols.ocppj.memory`)
and traced by action name. Live mode: :class:`.ocpp_station.OcppStation` over WebSocket
(:mod:`.ocpp_live`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from bidicharge.components.interfaces.i04_ocpp import OcppFrame, study_carrier
from bidicharge.protocols.ocppj import OcppVersion, counter_ids, v2_1
from bidicharge.protocols.ocppj.memory import MemoryCallError, MemoryEndpoint
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.component import ComponentConfig

from .ocpp_live import EvseOcppLive, PlugIn, StationEvent, Unplug, Update
from .ocpp_station_core import StationCore, messages_of
from .ocpp_station_remote import (
    FollowUp,
    RemoteStart,
    RemoteStop,
    Trigger,
    answer_request_start,
    answer_request_stop,
    answer_trigger,
    triggered_requests,
)
from .ocpp_v2x import AppliedLimits, v2x_power_W

if TYPE_CHECKING:
    from bidicharge.components.interfaces.i03_energy_manager import ChargerStatus
    from bidicharge.runtime.ports import Link

EVSE_ID = 1  # one EVSE with one connector per station
BACKEND_PORTS = ("backend", "evse_backend")  # I-04 (CPO backend), I-05 (EVSE backend)


class EvseOcppSettings(ComponentConfig):
    """``ocpp:`` in an evse's config (used when its ``backend`` or ``evse_backend`` port is wired,
    or, in live mode, when ``url`` names a CSMS outside the scenario)."""

    identity: str | None = Field(None, pattern=r"^[A-Za-z0-9*_=+.|@-]{1,48}$",
                                 description="charging-station identity (default: the component name)")
    version: Literal["2.1", "2.0.1"] = Field("2.1", description="OCPP version spoken (2.0.1 has no V2X fields)")
    meter_interval_s: float = Field(60.0, gt=0, description="TransactionEvent MeterValuePeriodic every so often")
    url: str | None = Field(None, pattern=r"^wss?://", description="live: CSMS endpoint (default: the wired backend)")
    password: str | None = Field(None, min_length=16, max_length=40,
                                 description="live, security profiles 1/2: basic-auth password (A00: 16-40 chars)")
    ca_file: str | None = Field(None, description="live, profiles 2/3: CA that signed the CSMS certificate")
    cert_file: str | None = Field(None, description="live, profile 3: our client certificate (CN = identity)")
    key_file: str | None = Field(None, description="live, profile 3: its key")
    queue_dir: str | None = Field(None, description="live: keep unsent transaction events here (offline queue)")
    id_token: str | None = Field(None, min_length=1, max_length=255, description="idToken (type Central) of the "
                                 "transactions when the car gives none (ISO 15118-20: its EVCCID, type MacAddress); "
                                 "default: the vehicle component's name")
    local_limit_W: float | None = Field(None, ge=0, description="LocalLoadBalancing: the share of the site "
                                        "connection this wallbox may draw (W, grid side of the stage)")
    local_export_limit_W: float | None = Field(None, ge=0, description="LocalLoadBalancing: the share it may feed in")


def backend_setpoint_W(local_W: float, limits: AppliedLimits, frequency_Hz: float | None = None, *,
                       local_limit_W: float | None = None, local_export_limit_W: float | None = None) -> float:
    """The power-stage setpoint (W, + charges the vehicle) when the backend's ``limits`` are in
    force and the energy manager (or the wallbox's default) asks for ``local_W``; the V2X
    operation modes as in :func:`.ocpp_v2x.v2x_power_W`. See the module docstring for the precedence."""
    return v2x_power_W(local_W, limits, frequency_Hz=frequency_Hz, local_limit_W=local_limit_W,
                       local_export_limit_W=local_export_limit_W)


def charging_needs(status: ChargerStatus, *, now_s: float, dc: bool, phases: int, version: OcppVersion) -> Any:
    """K15 ChargingNeeds from what the EVSE knows of the car (its ``status()``)."""
    soc = status.soc if status.soc is not None else 0.0
    capacity_Wh = status.capacity_Wh or 0.0
    target = status.target_soc if status.target_soc is not None else 1.0
    departure = None if status.departure_s is None else datetime.fromtimestamp(status.departure_s, UTC)
    if version is OcppVersion.V2_1:
        bidirectional = status.max_discharge_W > 0
        mode = ("DC_BPT" if dc else "AC_BPT") if bidirectional else ("DC" if dc else "AC_three_phase")
        m = v2_1
        v2x = m.V2XChargingParametersType(
            min_charge_power=status.min_power_W, max_charge_power=status.max_charge_W,
            min_discharge_power=status.min_power_W if bidirectional else None,
            max_discharge_power=status.max_discharge_W if bidirectional else None,
            # ISO 15118-20 semantics: the minimum may be negative (the car can give that much)
            ev_min_energy_request=round(((status.min_soc or 0.0) - soc) * capacity_Wh, 1),
            ev_target_energy_request=round(max(0.0, target - soc) * capacity_Wh, 1),
            ev_max_energy_request=round((1.0 - soc) * capacity_Wh, 1),
            target_soc=round(target * 100))
        return m.ChargingNeedsType(requested_energy_transfer=m.EnergyTransferModeEnumType(mode),
                                   v2x_charging_parameters=v2x, departure_time=departure)
    from bidicharge.protocols.ocppj import v2_0_1 as m0

    u_V = 230
    amps = math.floor(status.max_charge_W / (u_V * phases))
    ac = m0.ACChargingParametersType(energy_amount=round(max(0.0, target - soc) * capacity_Wh),
                                     ev_min_current=min(6, amps), ev_max_current=amps, ev_max_voltage=u_V)
    return m0.ChargingNeedsType(requested_energy_transfer=m0.EnergyTransferModeEnumType.AC_THREE_PHASE,
                                ac_charging_parameters=ac, departure_time=departure)


class EvseOcpp(EvseOcppLive):
    """Mixin of the ``evse`` component: its OCPP station role (see the module docstring)."""

    name: str
    config: Any
    context: Any
    now: float
    vehicle: Any
    grid_power_W: float
    links: dict[str, list[Link]]

    _ocpp_core: StationCore | None = None
    _ocpp_endpoint: MemoryEndpoint | None = None
    _ocpp_link: Link | None = None
    _ocpp_clock_s: float = 0.0
    _ocpp_last_s: float | None = None
    _ocpp_plugged = False
    _ocpp_next_meter_s = 0.0
    _ocpp_sent_s = 0.0  # when the last CALL went to the backend (heartbeat only after a quiet interval)
    _ocpp_local_W: float | None = None  # the energy manager's (or default) setpoint, before the backend's
    _ocpp_written_W: float | None = None
    _ocpp_halted = False  # the CSMS ended the transaction with the car still plugged: no energy (F03)
    _ocpp_followups: list[FollowUp] | None = None  # accepted F01/F03/F06 work, sent after the answer
    ocpp_import_Wh = 0.0  # the EVSE meter, grid side, into the wallbox
    ocpp_export_Wh = 0.0  # out of the wallbox into the grid
    ocpp_errors: list[str]

    def ocpp_backend_link(self) -> Link | None:
        for port in BACKEND_PORTS:
            links = self.links.get(port)
            if links:
                return links[0]
        return None

    def ocpp_settings(self) -> EvseOcppSettings:
        settings: EvseOcppSettings = self.config.ocpp
        return settings

    @property
    def ocpp_identity(self) -> str:
        return self.ocpp_settings().identity or self.name

    @property
    def ocpp_version(self) -> OcppVersion:
        return OcppVersion.V2_1 if self.ocpp_settings().version == "2.1" else OcppVersion.V2_0_1

    def ocpp_core(self) -> StationCore:
        if self._ocpp_core is None:
            self._ocpp_core = StationCore(identity=self.ocpp_identity, now=self._ocpp_datetime,
                                          version=self.ocpp_version, model="bidicharge evse",
                                          measures_frequency=bool(self.links.get("frequency")))
            self.ocpp_errors = []
        return self._ocpp_core

    def _ocpp_datetime(self) -> datetime:
        return datetime.fromtimestamp(self._ocpp_clock_s, UTC)

    def ocpp_live_mode(self) -> bool:
        return not isinstance(self.context.clock, ManualClock) and (
            self.ocpp_backend_link() is not None or self.ocpp_settings().url is not None)

    # ---- the frequency measurement (LocalFrequency) -------------------------------------------
    def grid_frequency_Hz(self) -> float | None:
        """The grid frequency at the wallbox (the ``hv_grid`` on port ``frequency``), None without one."""
        links = self.links.get("frequency")
        if not links:
            return None
        grid: Any = links[0].peer
        return float(grid.frequency_Hz)

    @property
    def grid_injection_MW(self) -> float:
        """What the wallbox feeds into the grid it measures the frequency of (``hv_grid`` reads it)."""
        return -self.grid_power_W / 1e6

    # ---- the power stage ----------------------------------------------------------------------
    def _lpc_cap_W(self) -> float | None:
        """An EEBUS LPC limit on the wallbox (§14a), on the vehicle side of the stage."""
        eebus = getattr(self, "eebus", None)
        if eebus is None:
            return None
        from bidicharge.protocols.spine.usecases import Direction

        limit_W = eebus.lpc.limit_W(Direction.CONSUME)
        if limit_W is None or not math.isfinite(limit_W):
            return None
        params = self.params  # type: ignore[attr-defined]
        return float(max(0.0, limit_W - params.standby_W) * params.efficiency)

    def ocpp_setpoint_W(self, local_W: float) -> float:
        """The setpoint after the backend's profile (called each step after the local sources).

        The local setpoint is remembered apart: a source that wrote nothing since our last
        override (e.g. the default, or an energy manager between two messages) gets its own
        value back when the backend's profile ends, not the backend's."""
        if self._ocpp_core is None:
            return local_W
        if self._ocpp_local_W is None or local_W != self._ocpp_written_W:
            self._ocpp_local_W = local_W
        self._ocpp_core.refresh()  # a schedule's next period (or an aFRR signal) may have begun
        settings = self.ocpp_settings()
        wanted = backend_setpoint_W(self._ocpp_local_W, self._ocpp_core.evses[EVSE_ID].applied,
                                    self.grid_frequency_Hz(), local_limit_W=settings.local_limit_W,
                                    local_export_limit_W=settings.local_export_limit_W)
        lpc_cap_W = self._lpc_cap_W()
        if lpc_cap_W is not None:
            wanted = min(wanted, lpc_cap_W)  # §14a over EEBUS stays above the backend
        if self._ocpp_halted:
            wanted = 0.0  # F03: the transaction ended remotely; energy flows again at a new one
        self._ocpp_written_W = wanted
        return wanted

    # ---- after each step: what the backend must hear -----------------------------------------
    def ocpp_publish(self, now: float) -> None:
        """Called with the time at the end of each step (and at start): meter, plug, events."""
        if self.ocpp_backend_link() is None and self.ocpp_settings().url is None:
            return
        core = self.ocpp_core()
        if self._ocpp_last_s is not None:
            dt_s = now - self._ocpp_last_s
            self.ocpp_import_Wh += max(self.grid_power_W, 0.0) * dt_s / 3600.0
            self.ocpp_export_Wh += max(-self.grid_power_W, 0.0) * dt_s / 3600.0
        self._ocpp_last_s = now
        self._ocpp_clock_s = now
        events = self._ocpp_events(now)
        if self.ocpp_live_mode():
            self.ocpp_enqueue(events)
            return
        if self._ocpp_endpoint is None:
            self._ocpp_boot(now)
        for event in events:
            try:
                self._ocpp_study_event(core, event, now)
            except MemoryCallError as exc:  # the backend refused: logged, the station stays up
                self.ocpp_errors.append(str(exc))
        self._ocpp_follow_up(core, now)
        interval_s = float(core.variables[("OCPPCommCtrlr", "HeartbeatInterval")])
        if now - self._ocpp_sent_s >= interval_s:  # G02: only when nothing else went out for so long
            try:
                self._ocpp_call(core.heartbeat_request(), now)
            except MemoryCallError as exc:
                self.ocpp_errors.append(str(exc))

    def ocpp_id_token(self) -> tuple[str | None, str]:
        """Whose transaction it is (idToken, type): the EVCCID the car gave over ISO 15118-20
        (``MacAddress``, OCPP 2.x C07 autocharge), else the configured token or the vehicle
        component's name (``Central``) — the id a technical aggregator matches on I-14."""
        evcc_id = getattr(getattr(self, "iso", None), "evcc_id", None)
        if evcc_id:
            return str(evcc_id), "MacAddress"
        configured = self.ocpp_settings().id_token
        if configured is not None:
            return configured, "Central"
        for port in ("vehicle", "vehicle_iso15118"):
            links = self.links.get(port)
            if links:
                return links[0].peer.name, "Central"
        return None, "Central"

    def _ocpp_events(self, now: float) -> list[StationEvent]:
        v = self.vehicle
        plugged = v is not None and v.plugged_in
        soc = v.soc if plugged else None
        registers = {"import_Wh": self.ocpp_import_Wh, "export_Wh": self.ocpp_export_Wh}
        events: list[StationEvent] = []
        if plugged and not self._ocpp_plugged:
            status = self.status()  # type: ignore[attr-defined]
            token, token_type = self.ocpp_id_token()
            events.append(PlugIn(**registers, soc=soc, needs=charging_needs(
                status, now_s=now, dc=self.config.dc, phases=self.config.phases, version=self.ocpp_version),
                id_token=token, token_type=token_type))
            self._ocpp_next_meter_s = now + self.ocpp_settings().meter_interval_s
        elif not plugged and self._ocpp_plugged:
            events.append(Unplug(**registers))
        elif plugged and now >= self._ocpp_next_meter_s - 1e-9:
            events.append(Update(**registers, soc=soc))
            self._ocpp_next_meter_s += self.ocpp_settings().meter_interval_s * max(
                1, math.ceil((now - self._ocpp_next_meter_s) / self.ocpp_settings().meter_interval_s + 1e-9))
        self._ocpp_plugged = plugged
        return events

    # ---- study mode: frames over the runtime link ---------------------------------------------
    def _ocpp_boot(self, now: float) -> None:
        link = self.ocpp_backend_link()
        assert link is not None
        core = self.ocpp_core()
        self._ocpp_link = link
        self._ocpp_endpoint = MemoryEndpoint(identity=self.ocpp_identity, version=self.ocpp_version,
                                             new_message_id=counter_ids(f"{self.ocpp_identity}-"))
        core.register(self._ocpp_endpoint.router)
        self._ocpp_register_remote(core)
        try:
            boot = self._ocpp_call(core.boot_request("PowerUp"), now)
            core.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = str(boot.interval)
            self._ocpp_call(core.status_request(EVSE_ID), now)
        except MemoryCallError as exc:
            self.ocpp_errors.append(str(exc))

    def _ocpp_call(self, request: Any, now: float) -> Any:
        endpoint, link = self._ocpp_endpoint, self._ocpp_link
        assert endpoint is not None and link is not None
        action = type(request).ACTION
        self._ocpp_sent_s = now
        trace = self.context.trace
        carry = study_carrier(link, trace, identity=endpoint.identity, version=endpoint.version,
                              action=action, source=self.name, now=now)
        return endpoint.call(request, carry, now=now)

    def _ocpp_study_event(self, core: StationCore, event: StationEvent, now: float) -> None:
        evse = core.evses[EVSE_ID]
        core.set_registers(EVSE_ID, import_Wh=event.import_Wh, export_Wh=event.export_Wh)
        if isinstance(event, PlugIn):
            evse.connector_status = "Occupied"
            self._ocpp_call(core.status_request(EVSE_ID), now)
            if core.begin_transaction(EVSE_ID, event.id_token, event.token_type):
                self._ocpp_call(core.transaction_event(EVSE_ID, "Started", "CablePluggedIn", offline=False,
                                                       id_token=event.id_token, soc=event.soc), now)
            self._ocpp_call(core.charging_needs_request(EVSE_ID, event.needs), now)
        elif isinstance(event, Update):
            if evse.transaction_id is not None:
                self._ocpp_call(core.transaction_event(EVSE_ID, "Updated", "MeterValuePeriodic", offline=False,
                                                       soc=event.soc), now)
        elif isinstance(event, Unplug):
            self._ocpp_halted = False
            if evse.transaction_id is not None:
                request = core.transaction_event(EVSE_ID, "Ended", "EVDeparted", offline=False,
                                                 stopped_reason="EVDisconnected")
                core.end_transaction(EVSE_ID)
                self._ocpp_call(request, now)
            evse.connector_status = "Available"
            self._ocpp_call(core.status_request(EVSE_ID), now)

    # ---- study mode: what the backend asks the station to do (F01, F03, F06) --------------------
    def _ocpp_register_remote(self, core: StationCore) -> None:
        assert self._ocpp_endpoint is not None
        router = self._ocpp_endpoint.router
        m = messages_of(router.version)
        self._ocpp_followups = []

        def later(answer: tuple[Any, FollowUp | None]) -> Any:
            response, work = answer
            if work is not None:
                assert self._ocpp_followups is not None
                self._ocpp_followups.append(work)
            return response

        router.add(m.RequestStartTransactionRequest, lambda r: later(answer_request_start(
            core, r, ev_connected=lambda evse_id: self._ocpp_plugged)))
        router.add(m.RequestStopTransactionRequest, lambda r: later(answer_request_stop(core, r)))
        router.add(m.TriggerMessageRequest, lambda r: later(answer_trigger(core, r)))

    def _ocpp_follow_up(self, core: StationCore, now: float) -> None:
        """Send what the accepted requests asked for, now that their answers went out."""
        followups, self._ocpp_followups = self._ocpp_followups or [], []
        for work in followups:
            try:
                self._ocpp_do(core, work, now)
            except MemoryCallError as exc:
                self.ocpp_errors.append(str(exc))

    def _ocpp_do(self, core: StationCore, work: FollowUp, now: float) -> None:
        core.set_registers(EVSE_ID, import_Wh=self.ocpp_import_Wh, export_Wh=self.ocpp_export_Wh)
        if isinstance(work, RemoteStart):
            if core.begin_transaction(work.evse_id, work.id_token, work.token_type):
                self._ocpp_halted = False
                soc = self.vehicle.soc if self.vehicle is not None and self._ocpp_plugged else None
                self._ocpp_call(core.transaction_event(work.evse_id, "Started", "RemoteStart", offline=False,
                                                       id_token=work.id_token, soc=soc,
                                                       remote_start_id=work.remote_start_id), now)
        elif isinstance(work, RemoteStop):
            if core.evses[work.evse_id].transaction_id is not None:
                request = core.transaction_event(work.evse_id, "Ended", "RemoteStop", offline=False,
                                                 stopped_reason="Remote")
                core.end_transaction(work.evse_id)
                self._ocpp_halted = self._ocpp_plugged
                self._ocpp_call(request, now)
        elif isinstance(work, Trigger):
            for request in triggered_requests(core, work):
                self._ocpp_call(request, now)

    def handle(self, port: str, message: object, link: Link) -> Any:
        """A frame from the backend (a CALL such as SetChargingProfile): answered with our reply frame."""
        if port in BACKEND_PORTS and isinstance(message, OcppFrame):
            if self._ocpp_endpoint is None:
                return None  # not booted: as a socket that is not open
            reply = self._ocpp_endpoint.receive(message.text, now=self._ocpp_clock_s)
            return None if reply is None else OcppFrame(identity=message.identity, version=message.version, text=reply)
        return super().handle(port, message, link)  # type: ignore[misc]

"""The SECC's energy-transfer half: charge parameters, schedules, DC preparation, power
delivery and the AC/DC charge loops, with the owner's power commands.

How the owner's signed power (positive charges, negative discharges) reaches the EV:

* Dynamic, AC: ``EVSETargetActivePower`` = the target, clamped to both sides' limits
  (negative = discharge, as Josev and OCPP 2.1 setpoints do).
* Dynamic, DC: a forced window: charging ``EVSEMinimum = EVSEMaximumChargePower = target``,
  discharge window 0 (and the mirror image for discharging). Without a target the window is
  the full limits and the EV chooses.
* Scheduled: the schedule (`set_schedule`, or the target as one 24 h entry) is offered at
  ScheduleExchange as a ChargingSchedule plus, for BPT, a DischargingSchedule; a change while
  charging asks the EV to renegotiate (EVSENotification ScheduleRenegotiation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bidicharge.protocols.exi.messages import ac
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from . import events as ev
from .errors import LocalProtocolError, RemoteProtocolError, SequenceError
from .rational import from_rational, opt_float, to_rational
from .secc_config import SeccConfig
from .secc_table import SeccState
from .services import AC_SERVICES, BPT_SERVICES, DC_SERVICES, ControlMode, ParameterSet, ServiceId

OK = ct.ResponseCode.OK
WRONG = ct.ResponseCode.FAILED_WrongChargeParameter
DAY_s = 86_400


def _sum(*values: ct.RationalNumber | None) -> float | None:
    present = [from_rational(v) for v in values if v is not None]
    return sum(present) if present else None


def soc_from_percent(percent: int | None) -> float | None:
    return None if percent is None else percent / 100.0


class EnergyMixin:
    config: SeccConfig
    state: SeccState
    service: ServiceId | None
    parameter_set: ParameterSet | None
    _header: Callable[[float], ct.MessageHeader]
    _emit: Callable[[ev.SeccEvent], None]

    def __init__(self) -> None:
        self._reset_energy()
        self._target_W: float | None = None
        self._limit_charge_W: float | None = None
        self._limit_discharge_W: float | None = None
        self._schedule: tuple[tuple[int, float, float], ...] | None = None
        self._dc_voltage_V = 0.0
        self._dc_current_A = 0.0
        self._notification: ct.EvseNotification | None = None
        self._isolation: bool | None = None
        self._meter: ct.MeterInfo | None = None
        self._schedule_pending = False

    def _reset_energy(self) -> None:
        self._ev: ev.EvLimits | None = None
        self._needs: ev.EvEnergyNeeds | None = None
        self._flowing = False
        self._cable_checked = False
        self._precharged = False
        self._time_anchor = 0

    # ---- owner commands -------------------------------------------------------------------
    def set_power_target(self, power_W: float | None) -> None:
        """Positive charges, negative discharges; None lets the EV choose within the limits."""
        self._target_W = power_W
        self._schedule_pending = False
        self._schedule = None  # a target replaces a schedule (Scheduled mode offers it as one)
        if self._mode() is ControlMode.SCHEDULED and self.state is SeccState.CHARGE_LOOP:
            self.request_schedule_renegotiation()

    def set_power_limits(
        self, *, max_charge_W: float | None = None, max_discharge_W: float | None = None
    ) -> None:
        """Caps on top of the configured EVSE limits (e.g. from an energy manager); None = no cap."""
        self._limit_charge_W = max_charge_W
        self._limit_discharge_W = max_discharge_W

    def set_schedule(self, setpoints: Sequence[tuple[int, float]]) -> None:
        """Scheduled mode: consecutive (duration_s, power_W) intervals, positive charge, negative discharge."""
        self._schedule = tuple((int(d), max(p, 0.0), max(-p, 0.0)) for d, p in setpoints)
        self._schedule_pending = False
        if self.state is SeccState.CHARGE_LOOP:
            self.request_schedule_renegotiation()

    def set_dc_output(self, *, voltage_V: float, current_A: float = 0.0) -> None:
        """The DC power stage's measured output, reported in PreCharge, loop and welding answers."""
        self._dc_voltage_V, self._dc_current_A = voltage_V, current_A

    @property
    def dc_output_V(self) -> float:
        """The DC output voltage last reported by the owner (what the EV is told)."""
        return self._dc_voltage_V

    def set_isolation_result(self, ok: bool | None) -> None:
        """DC cable check: None = still measuring (Ongoing), True = passed, False = failed."""
        self._isolation = ok

    def request_stop(self, *, pause: bool = False) -> None:
        """Ask the EV to stop (EVSENotification Terminate or Pause in the next answer)."""
        self._notification = ct.EvseNotification.Pause if pause else ct.EvseNotification.Terminate

    def set_schedule_pending(self, pending: bool) -> None:
        """Answer ScheduleExchange with EVSEProcessing=Ongoing until the owner has planned (e.g.
        from the EvEnergyNeeds of the first request); `set_schedule`/`set_power_target` end it."""
        self._schedule_pending = pending

    def set_meter_reading(self, *, meter_id: str, charged_Wh: int, discharged_Wh: int | None = None) -> None:
        """The EVSE meter's registers, sent in MeterInfo when the EV asks (MeterInfoRequested)."""
        self._meter = ct.MeterInfo(
            meter_id=meter_id,
            charged_energy_reading_wh=charged_Wh,
            bpt_discharged_energy_reading_wh=discharged_Wh,
        )

    def request_metering_confirmation(self) -> None:
        """Ask the EV to sign the present meter reading (EVSENotification MeteringConfirmation)."""
        if self._meter is None:
            raise LocalProtocolError("set_meter_reading() first: the EV confirms a reading")
        self._notification = ct.EvseNotification.MeteringConfirmation

    def request_schedule_renegotiation(self) -> None:
        self._notification = ct.EvseNotification.ScheduleRenegotiation

    def request_service_renegotiation(self) -> None:
        """Ask the EV to stop and choose its service anew (SessionStop ServiceRenegotiation)."""
        self._notification = ct.EvseNotification.ServiceRenegotiation

    # ---- helpers --------------------------------------------------------------------------
    def _mode(self) -> ControlMode | None:
        return None if self.parameter_set is None else self.parameter_set.control_mode

    def _bpt(self) -> bool:
        return self.service in BPT_SERVICES

    def _evse_max(self) -> tuple[float, float]:
        lim: Any = self.config.ac if self.service in AC_SERVICES else self.config.dc
        charge = (
            lim.max_charge_power_W
            if self._limit_charge_W is None
            else min(lim.max_charge_power_W, self._limit_charge_W)
        )
        discharge = lim.max_discharge_power_W if self._bpt() else 0.0
        if self._limit_discharge_W is not None:
            discharge = min(discharge, self._limit_discharge_W)
        return charge, discharge

    def _window(self) -> tuple[float, float]:
        """(max charge W, max discharge W) both sides allow."""
        charge, discharge = self._evse_max()
        if self._ev is not None:
            charge = min(charge, self._ev.max_charge_power_W)
            discharge = min(discharge, self._ev.max_discharge_power_W or 0.0)
        return charge, discharge

    def _target(self) -> float:
        charge, discharge = self._window()
        if not self._flowing:
            return 0.0
        wanted = charge if self._target_W is None else self._target_W
        return max(-discharge, min(charge, wanted))

    def _dl(self, magnitude_W: float) -> ct.RationalNumber:
        """A discharge limit in the configured sign convention."""
        return to_rational(
            -magnitude_W if self.config.negative_discharge_limits and magnitude_W else magnitude_W
        )

    def _meter_for(self, request: Any) -> ct.MeterInfo | None:
        """MeterInfo when the EV asked for it, and with a MeteringConfirmation request."""
        if request.meter_info_requested or self._notification == ct.EvseNotification.MeteringConfirmation:
            return self._meter
        return None

    def _status(self) -> ct.EVSEStatus | None:
        if self._notification is None:
            return None
        return ct.EVSEStatus(
            notification_max_delay=self.config.notification_max_delay_s, evse_notification=self._notification
        )

    def _require(self, services: frozenset[ServiceId], request: Any) -> None:
        if self.service not in services:
            raise SequenceError(self.state.value, type(request).__name__)

    def _report_needs(self, needs: ev.EvEnergyNeeds) -> None:
        if needs != self._needs:
            self._needs = needs
            self._emit(needs)

    # ---- charge parameter discovery ----------------------------------------------------------------
    def _ac_charge_parameter_discovery(
        self, request: ac.AC_ChargeParameterDiscoveryReq, now: float
    ) -> ac.AC_ChargeParameterDiscoveryRes:
        self._require(AC_SERVICES, request)
        lim = self.config.ac
        if self._bpt():
            m = request.bpt_ac_cpd_req_energy_transfer_mode
            if m is None:
                raise RemoteProtocolError("AC_BPT needs BPT_AC_CPDReqEnergyTransferMode", response_code=WRONG)
            self._ev = ev.EvLimits(
                max_charge_power_W=_sum(
                    m.ev_maximum_charge_power, m.ev_maximum_charge_power_l2, m.ev_maximum_charge_power_l3
                )
                or 0.0,
                min_charge_power_W=_sum(
                    m.ev_minimum_charge_power, m.ev_minimum_charge_power_l2, m.ev_minimum_charge_power_l3
                )
                or 0.0,
                max_discharge_power_W=abs(
                    _sum(
                        m.ev_maximum_discharge_power,
                        m.ev_maximum_discharge_power_l2,
                        m.ev_maximum_discharge_power_l3,
                    )
                    or 0.0
                ),
                min_discharge_power_W=abs(
                    _sum(
                        m.ev_minimum_discharge_power,
                        m.ev_minimum_discharge_power_l2,
                        m.ev_minimum_discharge_power_l3,
                    )
                    or 0.0
                ),
            )
            charge, discharge = self._evse_max()
            self._emit(self._ev)
            return ac.AC_ChargeParameterDiscoveryRes(
                header=self._header(now),
                response_code=OK,
                bpt_ac_cpd_res_energy_transfer_mode=ac.BPT_AC_CPDResEnergyTransferMode(
                    evse_maximum_charge_power=to_rational(charge),
                    evse_minimum_charge_power=to_rational(lim.min_charge_power_W),
                    evse_nominal_frequency=to_rational(lim.nominal_frequency_Hz),
                    evse_maximum_discharge_power=self._dl(discharge),
                    evse_minimum_discharge_power=self._dl(lim.min_discharge_power_W),
                ),
            )
        n = request.ac_cpd_req_energy_transfer_mode
        if n is None:
            raise RemoteProtocolError("AC needs AC_CPDReqEnergyTransferMode", response_code=WRONG)
        self._ev = ev.EvLimits(
            max_charge_power_W=_sum(
                n.ev_maximum_charge_power, n.ev_maximum_charge_power_l2, n.ev_maximum_charge_power_l3
            )
            or 0.0,
            min_charge_power_W=_sum(
                n.ev_minimum_charge_power, n.ev_minimum_charge_power_l2, n.ev_minimum_charge_power_l3
            )
            or 0.0,
        )
        self._emit(self._ev)
        return ac.AC_ChargeParameterDiscoveryRes(
            header=self._header(now),
            response_code=OK,
            ac_cpd_res_energy_transfer_mode=ac.AC_CPDResEnergyTransferMode(
                evse_maximum_charge_power=to_rational(self._evse_max()[0]),
                evse_minimum_charge_power=to_rational(lim.min_charge_power_W),
                evse_nominal_frequency=to_rational(lim.nominal_frequency_Hz),
            ),
        )

    # ---- schedule exchange ------------------------------------------------------------------
    def _schedule_processing(self) -> ct.Processing:
        # While Ongoing the EV repeats its request and ignores the content (a provisional schedule)
        return ct.Processing.Ongoing if self._schedule_pending else ct.Processing.Finished

    def _schedule_exchange(self, request: cm.ScheduleExchangeReq, now: float) -> cm.ScheduleExchangeRes:
        header = self._header(now)
        dyn, sch = request.dynamic_se_req_control_mode, request.scheduled_se_req_control_mode
        if self._mode() is ControlMode.DYNAMIC and dyn is not None:
            self._report_needs(
                ev.EvEnergyNeeds(
                    departure_time_s=dyn.departure_time,
                    target_energy_Wh=from_rational(dyn.ev_target_energy_request),
                    max_energy_Wh=from_rational(dyn.ev_maximum_energy_request),
                    min_energy_Wh=from_rational(dyn.ev_minimum_energy_request),
                    max_v2x_energy_Wh=opt_float(dyn.ev_maximum_v2x_energy_request),
                    min_v2x_energy_Wh=opt_float(dyn.ev_minimum_v2x_energy_request),
                    target_soc=soc_from_percent(dyn.target_soc),
                    min_soc=soc_from_percent(dyn.minimum_soc),
                )
            )
            return cm.ScheduleExchangeRes(
                header=header,
                response_code=OK,
                evse_processing=self._schedule_processing(),
                dynamic_se_res_control_mode=cm.Dynamic_SEResControlMode(
                    departure_time=dyn.departure_time, minimum_soc=dyn.minimum_soc, target_soc=dyn.target_soc
                ),
            )
        if self._mode() is ControlMode.SCHEDULED and sch is not None:
            self._report_needs(
                ev.EvEnergyNeeds(
                    departure_time_s=sch.departure_time,
                    target_energy_Wh=opt_float(sch.ev_target_energy_request),
                    max_energy_Wh=opt_float(sch.ev_maximum_energy_request),
                    min_energy_Wh=opt_float(sch.ev_minimum_energy_request),
                )
            )
            self._time_anchor = max(0, int(now))
            return cm.ScheduleExchangeRes(
                header=header,
                response_code=OK,
                evse_processing=self._schedule_processing(),
                scheduled_se_res_control_mode=cm.Scheduled_SEResControlMode(
                    schedule_tuple=(self._schedule_tuple(request.maximum_supporting_points),)
                ),
            )
        raise RemoteProtocolError("control mode differs from the selected parameter set", response_code=WRONG)

    def _intervals(self) -> tuple[tuple[int, float, float], ...]:
        charge, discharge = self._evse_max()
        if self._schedule is None:
            if self._target_W is not None:
                t = self._target_W
                return ((DAY_s, min(max(t, 0.0), charge), min(max(-t, 0.0), discharge)),)
            return ((DAY_s, charge, discharge),)
        return tuple((d, min(c, charge), min(x, discharge)) for d, c, x in self._schedule)

    def _schedule_tuple(self, max_points: int) -> cm.ScheduleTuple:
        intervals = self._intervals()[: max(1, max_points)]

        # One flat price level over the whole schedule: the schema makes the price schedule
        # optional, but Josev's model (and so Josev EVCCs in the field) requires one.
        prices = cm.PriceLevelSchedule(
            id="PLS1",
            time_anchor=self._time_anchor,
            price_schedule_id=1,
            number_of_price_levels=1,
            price_level_schedule_entries=cm.PriceLevelScheduleEntryList(
                price_level_schedule_entry=(
                    cm.PriceLevelScheduleEntry(duration=sum(d for d, _c, _x in intervals), price_level=0),
                )
            ),
        )

        def schedule(values: list[ct.RationalNumber]) -> cm.ChargingSchedule:
            return cm.ChargingSchedule(
                power_schedule=cm.PowerSchedule(
                    time_anchor=self._time_anchor,
                    power_schedule_entries=cm.PowerScheduleEntryList(
                        power_schedule_entry=tuple(
                            cm.PowerScheduleEntry(duration=d, power=v)
                            for (d, _c, _x), v in zip(intervals, values, strict=True)
                        )
                    ),
                ),
                price_level_schedule=prices,
            )

        return cm.ScheduleTuple(
            schedule_tuple_id=1,
            charging_schedule=schedule([to_rational(c) for _d, c, _x in intervals]),
            discharging_schedule=schedule([self._dl(x) for _d, _c, x in intervals]) if self._bpt() else None,
        )

    def _scheduled_window(self, now: float) -> tuple[float, float]:
        elapsed = now - self._time_anchor
        for d, c, x in self._intervals():
            if elapsed < d:
                return c, x
            elapsed -= d
        return 0.0, 0.0

    # ---- power delivery ---------------------------------------------------------------------
    def _power_delivery(self, request: cm.PowerDeliveryReq, now: float) -> cm.PowerDeliveryRes:
        progress = request.charge_progress
        if progress == cm.ChargeProgress.Start:
            if self.service in DC_SERVICES and not self._precharged:
                raise SequenceError(self.state.value, "PowerDeliveryReq(Start) before DC_PreCharge")
            channel = request.bpt_channel_selection
            if channel == cm.ChannelSelection.Discharge and not self._bpt():
                raise RemoteProtocolError("discharge needs a BPT service", response_code=WRONG)
            profile = request.ev_power_profile
            if profile is not None and profile.scheduled_evppt_control_mode is not None:
                if profile.scheduled_evppt_control_mode.selected_schedule_tuple_id != 1:
                    raise RemoteProtocolError(
                        "unknown schedule tuple",
                        response_code=ct.ResponseCode.FAILED_ScheduleSelectionInvalid,
                    )
        self._flowing = progress == cm.ChargeProgress.Start
        if (
            progress == cm.ChargeProgress.ScheduleRenegotiation
            and self._notification == ct.EvseNotification.ScheduleRenegotiation
        ):
            self._notification = None
        self._emit(ev.PowerDeliveryRequested(progress=progress, channel=request.bpt_channel_selection))
        return cm.PowerDeliveryRes(header=self._header(now), response_code=OK)

    # ---- AC charge loop -----------------------------------------------------------------------
    def _ac_charge_loop(self, request: ac.AC_ChargeLoopReq, now: float) -> ac.AC_ChargeLoopRes:
        self._require(AC_SERVICES, request)
        dynamic = self._mode() is ControlMode.DYNAMIC
        bpt = self._bpt()
        mode: Any = {
            (True, True): request.bpt_dynamic_ac_cl_req_control_mode,
            (True, False): request.dynamic_ac_cl_req_control_mode,
            (False, True): request.bpt_scheduled_ac_cl_req_control_mode,
            (False, False): request.scheduled_ac_cl_req_control_mode,
        }[dynamic, bpt]
        if mode is None:
            raise RemoteProtocolError(
                "charge-loop control mode differs from the selection", response_code=WRONG
            )
        present = _sum(
            mode.ev_present_active_power, mode.ev_present_active_power_l2, mode.ev_present_active_power_l3
        )
        soc = soc_from_percent(request.display_parameters.present_soc) if request.display_parameters else None
        capacity = opt_float(request.display_parameters.battery_energy_capacity) if request.display_parameters else None
        self._emit(ev.EvStatus(present_power_W=present, soc=soc, battery_capacity_Wh=capacity))
        header, status, meter = self._header(now), self._status(), self._meter_for(request)
        if dynamic:
            self._loop_needs(mode)
            target = to_rational(self._target())
            if bpt:
                return ac.AC_ChargeLoopRes(
                    header=header,
                    response_code=OK,
                    evse_status=status,
                    meter_info=meter,
                    bpt_dynamic_ac_cl_res_control_mode=ac.BPT_Dynamic_AC_CLResControlMode(
                        evse_target_active_power=target
                    ),
                )
            return ac.AC_ChargeLoopRes(
                header=header,
                response_code=OK,
                evse_status=status,
                meter_info=meter,
                dynamic_ac_cl_res_control_mode=ac.Dynamic_AC_CLResControlMode(
                    evse_target_active_power=target
                ),
            )
        charge, _discharge = self._scheduled_window(now)
        if bpt:  # the EV steers within the schedule it chose; nothing to command
            return ac.AC_ChargeLoopRes(
                header=header,
                response_code=OK,
                evse_status=status,
                meter_info=meter,
                bpt_scheduled_ac_cl_res_control_mode=ac.BPT_Scheduled_AC_CLResControlMode(),
            )
        return ac.AC_ChargeLoopRes(
            header=header,
            response_code=OK,
            evse_status=status,
            meter_info=meter,
            scheduled_ac_cl_res_control_mode=ac.Scheduled_AC_CLResControlMode(
                evse_target_active_power=to_rational(charge) if self._flowing else None
            ),
        )

    def _loop_needs(self, mode: Any) -> None:
        """Dynamic loops repeat the EV's needs and limits (departure, energy requests, powers)."""
        self._report_needs(
            ev.EvEnergyNeeds(
                departure_time_s=mode.departure_time,
                target_energy_Wh=from_rational(mode.ev_target_energy_request),
                max_energy_Wh=from_rational(mode.ev_maximum_energy_request),
                min_energy_Wh=from_rational(mode.ev_minimum_energy_request),
                max_v2x_energy_Wh=opt_float(getattr(mode, "ev_maximum_v2x_energy_request", None)),
                min_v2x_energy_Wh=opt_float(getattr(mode, "ev_minimum_v2x_energy_request", None)),
                target_soc=self._needs.target_soc if self._needs else None,
                min_soc=self._needs.min_soc if self._needs else None,
            )
        )
        if self._ev is not None:
            limits = ev.EvLimits(
                max_charge_power_W=from_rational(mode.ev_maximum_charge_power),
                min_charge_power_W=from_rational(mode.ev_minimum_charge_power),
                max_discharge_power_W=abs(from_rational(mode.ev_maximum_discharge_power))
                if self._bpt()
                else None,
                min_discharge_power_W=abs(from_rational(mode.ev_minimum_discharge_power))
                if self._bpt()
                else None,
                max_voltage_V=self._ev.max_voltage_V,
                min_voltage_V=self._ev.min_voltage_V,
                max_charge_current_A=self._ev.max_charge_current_A,
                max_discharge_current_A=self._ev.max_discharge_current_A,
            )
            if limits != self._ev:
                self._ev = limits
                self._emit(limits)

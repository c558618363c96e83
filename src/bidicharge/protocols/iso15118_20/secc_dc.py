"""The SECC's DC half: DC_ChargeParameterDiscovery, CableCheck, PreCharge, DC_ChargeLoop and
WeldingDetection (BPT variants with discharge limits), on top of `EnergyMixin`.

DC sequence (ISO 15118-20): after ScheduleExchange the EV runs CableCheck (the owner reports
the isolation result: Ongoing until then) and PreCharge (the owner's power stage follows the
EV's target voltage, reported with `set_dc_output`); PowerDelivery(Start) is refused before a
PreCharge. In Dynamic mode the owner's target becomes a forced power window; in Scheduled mode
the EV sets its target current within the schedule (negative = discharge).
"""

from __future__ import annotations

from typing import Any

from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.exi.messages import dc

from . import events as ev
from .errors import RemoteProtocolError
from .rational import from_rational, opt_float, to_rational
from .secc_energy import OK, WRONG, EnergyMixin, soc_from_percent
from .services import DC_SERVICES, ControlMode


class DcMixin(EnergyMixin):
    def _dc_charge_parameter_discovery(
        self, request: dc.DC_ChargeParameterDiscoveryReq, now: float
    ) -> dc.DC_ChargeParameterDiscoveryRes:
        self._require(DC_SERVICES, request)
        lim = self.config.dc
        m: Any = (
            request.bpt_dc_cpd_req_energy_transfer_mode
            if self._bpt()
            else request.dc_cpd_req_energy_transfer_mode
        )
        if m is None:
            raise RemoteProtocolError(
                "charge parameters do not match the selected service", response_code=WRONG
            )
        bpt = self._bpt()
        self._ev = ev.EvLimits(
            max_charge_power_W=from_rational(m.ev_maximum_charge_power),
            min_charge_power_W=from_rational(m.ev_minimum_charge_power),
            max_discharge_power_W=abs(from_rational(m.ev_maximum_discharge_power)) if bpt else None,
            min_discharge_power_W=abs(from_rational(m.ev_minimum_discharge_power)) if bpt else None,
            max_voltage_V=from_rational(m.ev_maximum_voltage),
            min_voltage_V=from_rational(m.ev_minimum_voltage),
            max_charge_current_A=from_rational(m.ev_maximum_charge_current),
            max_discharge_current_A=abs(from_rational(m.ev_maximum_discharge_current)) if bpt else None,
        )
        self._emit(self._ev)
        charge, discharge = self._evse_max()
        common = dict(
            evse_maximum_charge_power=to_rational(charge),
            evse_minimum_charge_power=to_rational(lim.min_charge_power_W),
            evse_maximum_charge_current=to_rational(lim.max_charge_current_A),
            evse_minimum_charge_current=to_rational(lim.min_charge_current_A),
            evse_maximum_voltage=to_rational(lim.max_voltage_V),
            evse_minimum_voltage=to_rational(lim.min_voltage_V),
        )
        if bpt:
            return dc.DC_ChargeParameterDiscoveryRes(
                header=self._header(now),
                response_code=OK,
                bpt_dc_cpd_res_energy_transfer_mode=dc.BPT_DC_CPDResEnergyTransferMode(
                    **common,
                    evse_maximum_discharge_power=self._dl(discharge),
                    evse_minimum_discharge_power=self._dl(lim.min_discharge_power_W),
                    evse_maximum_discharge_current=self._dl(lim.max_discharge_current_A),
                    evse_minimum_discharge_current=self._dl(lim.min_discharge_current_A),
                ),
            )
        return dc.DC_ChargeParameterDiscoveryRes(
            header=self._header(now),
            response_code=OK,
            dc_cpd_res_energy_transfer_mode=dc.DC_CPDResEnergyTransferMode(**common),
        )

    # ---- DC preparation, loop, welding ---------------------------------------------------------
    def _dc_cable_check(self, request: dc.DC_CableCheckReq, now: float) -> dc.DC_CableCheckRes:
        self._require(DC_SERVICES, request)
        if not self._cable_checked:
            self._cable_checked = True
            self._emit(ev.CableCheckRequested())
        result = self._isolation if self._isolation is not None else self.config.isolation_ok
        if result is False:
            raise RemoteProtocolError("isolation fault")
        processing = ct.Processing.Finished if result else ct.Processing.Ongoing
        return dc.DC_CableCheckRes(header=self._header(now), response_code=OK, evse_processing=processing)

    def _dc_pre_charge(self, request: dc.DC_PreChargeReq, now: float) -> dc.DC_PreChargeRes:
        self._require(DC_SERVICES, request)
        target = from_rational(request.ev_target_voltage)
        lim = self.config.dc
        if not lim.min_voltage_V <= target <= lim.max_voltage_V:
            raise RemoteProtocolError(
                f"pre-charge target {target} V outside the EVSE's range", response_code=WRONG
            )
        self._precharged = True
        self._emit(
            ev.PreChargeRequested(
                target_voltage_V=target, present_voltage_V=from_rational(request.ev_present_voltage)
            )
        )
        return dc.DC_PreChargeRes(
            header=self._header(now), response_code=OK, evse_present_voltage=to_rational(self._dc_voltage_V)
        )

    def _dc_charge_loop(self, request: dc.DC_ChargeLoopReq, now: float) -> dc.DC_ChargeLoopRes:
        self._require(DC_SERVICES, request)
        dynamic = self._mode() is ControlMode.DYNAMIC
        bpt = self._bpt()
        mode: Any = {
            (True, True): request.bpt_dynamic_dc_cl_req_control_mode,
            (True, False): request.dynamic_dc_cl_req_control_mode,
            (False, True): request.bpt_scheduled_dc_cl_req_control_mode,
            (False, False): request.scheduled_dc_cl_req_control_mode,
        }[dynamic, bpt]
        if mode is None:
            raise RemoteProtocolError(
                "charge-loop control mode differs from the selection", response_code=WRONG
            )
        voltage = from_rational(request.ev_present_voltage)
        soc = soc_from_percent(request.display_parameters.present_soc) if request.display_parameters else None
        capacity = opt_float(request.display_parameters.battery_energy_capacity) if request.display_parameters else None
        lim = self.config.dc
        common: dict[str, Any] = dict(
            header=self._header(now),
            response_code=OK,
            evse_status=self._status(),
            meter_info=self._meter_for(request),
            evse_present_current=to_rational(self._dc_current_A),
            evse_present_voltage=to_rational(self._dc_voltage_V),
            evse_power_limit_achieved=False,
            evse_current_limit_achieved=False,
            evse_voltage_limit_achieved=False,
        )
        if dynamic:
            self._emit(
                ev.EvStatus(present_power_W=voltage * self._dc_current_A, soc=soc, present_voltage_V=voltage,
                            battery_capacity_Wh=capacity)
            )
            self._loop_needs(mode)
            max_c, max_d = self._window()
            min_c = min_d = 0.0
            if self._target_W is not None or not self._flowing:
                t = self._target()
                max_c = min_c = max(t, 0.0)
                max_d = min_d = max(-t, 0.0)
            window: dict[str, Any] = dict(
                evse_maximum_charge_power=to_rational(max_c),
                evse_minimum_charge_power=to_rational(min_c),
                evse_maximum_charge_current=to_rational(lim.max_charge_current_A),
                evse_maximum_voltage=to_rational(lim.max_voltage_V),
            )
            if bpt:
                return dc.DC_ChargeLoopRes(
                    **common,
                    bpt_dynamic_dc_cl_res_control_mode=dc.BPT_Dynamic_DC_CLResControlMode(
                        **window,
                        evse_maximum_discharge_power=self._dl(max_d),
                        evse_minimum_discharge_power=self._dl(min_d),
                        evse_maximum_discharge_current=self._dl(lim.max_discharge_current_A),
                        evse_minimum_voltage=to_rational(lim.min_voltage_V),
                    ),
                )
            return dc.DC_ChargeLoopRes(
                **common, dynamic_dc_cl_res_control_mode=dc.Dynamic_DC_CLResControlMode(**window)
            )
        target_current = from_rational(mode.ev_target_current)
        target_voltage = from_rational(mode.ev_target_voltage)
        self._emit(
            ev.EvStatus(
                present_power_W=voltage * self._dc_current_A,
                soc=soc,
                present_voltage_V=voltage,
                target_voltage_V=target_voltage,
                target_current_A=target_current,
                battery_capacity_Wh=capacity,
            )
        )
        charge, discharge = self._scheduled_window(now)
        if bpt:
            return dc.DC_ChargeLoopRes(
                **common,
                bpt_scheduled_dc_cl_res_control_mode=dc.BPT_Scheduled_DC_CLResControlMode(
                    evse_maximum_charge_power=to_rational(charge),
                    evse_maximum_discharge_power=self._dl(discharge),
                ),
            )
        return dc.DC_ChargeLoopRes(
            **common,
            scheduled_dc_cl_res_control_mode=dc.Scheduled_DC_CLResControlMode(
                evse_maximum_charge_power=to_rational(charge),
            ),
        )

    def _dc_welding_detection(
        self, request: dc.DC_WeldingDetectionReq, now: float
    ) -> dc.DC_WeldingDetectionRes:
        self._require(DC_SERVICES, request)
        self._emit(ev.WeldingDetectionRequested())
        return dc.DC_WeldingDetectionRes(
            header=self._header(now), response_code=OK, evse_present_voltage=to_rational(self._dc_voltage_V)
        )

"""The EVCC's requests, built from the EV's state (`EvState`) and the negotiated service."""

from __future__ import annotations

from typing import Any

from bidicharge.protocols.exi.messages import ac, dc
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

from .ev_state import EvState
from .rational import to_rational as r
from .services import AC_SERVICES, BPT_SERVICES, ControlMode, ServiceId

H = ct.MessageHeader


def _pct(soc: float) -> int:
    return max(0, min(100, round(soc * 100)))


def charge_parameter_discovery(h: H, service: ServiceId, s: EvState) -> object:
    if service in AC_SERVICES:
        if service in BPT_SERVICES:
            return ac.AC_ChargeParameterDiscoveryReq(
                header=h,
                bpt_ac_cpd_req_energy_transfer_mode=ac.BPT_AC_CPDReqEnergyTransferMode(
                    ev_maximum_charge_power=r(s.max_charge_power_W),
                    ev_minimum_charge_power=r(s.min_charge_power_W),
                    ev_maximum_discharge_power=r(s.max_discharge_power_W),
                    ev_minimum_discharge_power=r(s.min_discharge_power_W),
                ),
            )
        return ac.AC_ChargeParameterDiscoveryReq(
            header=h,
            ac_cpd_req_energy_transfer_mode=ac.AC_CPDReqEnergyTransferMode(
                ev_maximum_charge_power=r(s.max_charge_power_W),
                ev_minimum_charge_power=r(s.min_charge_power_W),
            ),
        )
    common: dict[str, Any] = dict(
        ev_maximum_charge_power=r(s.max_charge_power_W),
        ev_minimum_charge_power=r(s.min_charge_power_W),
        ev_maximum_charge_current=r(s.max_charge_current_A),
        ev_minimum_charge_current=r(0.0),
        ev_maximum_voltage=r(s.max_voltage_V),
        ev_minimum_voltage=r(s.min_voltage_V),
        target_soc=_pct(s.target_soc),
    )
    if service in BPT_SERVICES:
        return dc.DC_ChargeParameterDiscoveryReq(
            header=h,
            bpt_dc_cpd_req_energy_transfer_mode=dc.BPT_DC_CPDReqEnergyTransferMode(
                **common,
                ev_maximum_discharge_power=r(s.max_discharge_power_W),
                ev_minimum_discharge_power=r(s.min_discharge_power_W),
                ev_maximum_discharge_current=r(s.max_discharge_current_A),
                ev_minimum_discharge_current=r(0.0),
            ),
        )
    return dc.DC_ChargeParameterDiscoveryReq(
        header=h, dc_cpd_req_energy_transfer_mode=dc.DC_CPDReqEnergyTransferMode(**common)
    )


def schedule_exchange(
    h: H, mode: ControlMode, bpt: bool, s: EvState, max_points: int
) -> cm.ScheduleExchangeReq:
    if mode is ControlMode.DYNAMIC:
        return cm.ScheduleExchangeReq(
            header=h,
            maximum_supporting_points=max_points,
            dynamic_se_req_control_mode=cm.Dynamic_SEReqControlMode(
                departure_time=s.departure_time_s,
                minimum_soc=_pct(s.min_soc),
                target_soc=_pct(s.target_soc),
                ev_target_energy_request=r(s.target_energy_Wh),
                ev_maximum_energy_request=r(s.max_energy_Wh),
                ev_minimum_energy_request=r(s.min_energy_Wh),
                ev_maximum_v2x_energy_request=r(s.max_energy_Wh) if bpt else None,
                ev_minimum_v2x_energy_request=r(s.min_v2x_energy_Wh) if bpt else None,
            ),
        )
    return cm.ScheduleExchangeReq(
        header=h,
        maximum_supporting_points=max_points,
        scheduled_se_req_control_mode=cm.Scheduled_SEReqControlMode(
            departure_time=s.departure_time_s,
            ev_target_energy_request=r(s.target_energy_Wh),
            ev_maximum_energy_request=r(s.max_energy_Wh),
            ev_minimum_energy_request=r(s.min_energy_Wh),
        ),
    )


def _display(s: EvState) -> ct.DisplayParameters:
    # ChargingComplete is optional in the XSD, but Josev's model requires it
    return ct.DisplayParameters(
        present_soc=_pct(s.soc),
        minimum_soc=_pct(s.min_soc),
        target_soc=_pct(s.target_soc),
        charging_complete=s.soc >= s.target_soc,
        battery_energy_capacity=r(s.capacity_Wh),
    )


def ac_charge_loop(h: H, mode: ControlMode, bpt: bool, s: EvState) -> ac.AC_ChargeLoopReq:
    power = r(s.present_power_W)
    if mode is ControlMode.DYNAMIC:
        dyn: dict[str, Any] = dict(
            departure_time=s.departure_time_s,
            ev_target_energy_request=r(s.target_energy_Wh),
            ev_maximum_energy_request=r(s.max_energy_Wh),
            ev_minimum_energy_request=r(s.min_energy_Wh),
            ev_maximum_charge_power=r(s.max_charge_power_W),
            ev_minimum_charge_power=r(s.min_charge_power_W),
            ev_present_active_power=power,
            ev_present_reactive_power=r(0.0),
        )
        if bpt:
            return ac.AC_ChargeLoopReq(
                header=h,
                display_parameters=_display(s),
                meter_info_requested=False,
                bpt_dynamic_ac_cl_req_control_mode=ac.BPT_Dynamic_AC_CLReqControlMode(
                    **dyn,
                    ev_maximum_discharge_power=r(s.max_discharge_power_W),
                    ev_minimum_discharge_power=r(s.min_discharge_power_W),
                    ev_maximum_v2x_energy_request=r(s.max_energy_Wh),
                    ev_minimum_v2x_energy_request=r(s.min_v2x_energy_Wh),
                ),
            )
        return ac.AC_ChargeLoopReq(
            header=h,
            display_parameters=_display(s),
            meter_info_requested=False,
            dynamic_ac_cl_req_control_mode=ac.Dynamic_AC_CLReqControlMode(**dyn),
        )
    if bpt:
        return ac.AC_ChargeLoopReq(
            header=h,
            display_parameters=_display(s),
            meter_info_requested=False,
            bpt_scheduled_ac_cl_req_control_mode=ac.BPT_Scheduled_AC_CLReqControlMode(
                ev_present_active_power=power
            ),
        )
    return ac.AC_ChargeLoopReq(
        header=h,
        display_parameters=_display(s),
        meter_info_requested=False,
        scheduled_ac_cl_req_control_mode=ac.Scheduled_AC_CLReqControlMode(ev_present_active_power=power),
    )


def dc_charge_loop(h: H, mode: ControlMode, bpt: bool, s: EvState) -> dc.DC_ChargeLoopReq:
    base: dict[str, Any] = dict(
        header=h,
        display_parameters=_display(s),
        meter_info_requested=False,
        ev_present_voltage=r(s.present_voltage_V),
    )
    if mode is ControlMode.DYNAMIC:
        dyn: dict[str, Any] = dict(
            departure_time=s.departure_time_s,
            ev_target_energy_request=r(s.target_energy_Wh),
            ev_maximum_energy_request=r(s.max_energy_Wh),
            ev_minimum_energy_request=r(s.min_energy_Wh),
            ev_maximum_charge_power=r(s.max_charge_power_W),
            ev_minimum_charge_power=r(s.min_charge_power_W),
            ev_maximum_charge_current=r(s.max_charge_current_A),
            ev_maximum_voltage=r(s.max_voltage_V),
            ev_minimum_voltage=r(s.min_voltage_V),
        )
        if bpt:
            return dc.DC_ChargeLoopReq(
                **base,
                bpt_dynamic_dc_cl_req_control_mode=dc.BPT_Dynamic_DC_CLReqControlMode(
                    **dyn,
                    ev_maximum_discharge_power=r(s.max_discharge_power_W),
                    ev_minimum_discharge_power=r(s.min_discharge_power_W),
                    ev_maximum_discharge_current=r(s.max_discharge_current_A),
                    ev_maximum_v2x_energy_request=r(s.max_energy_Wh),
                    ev_minimum_v2x_energy_request=r(s.min_v2x_energy_Wh),
                ),
            )
        return dc.DC_ChargeLoopReq(
            **base, dynamic_dc_cl_req_control_mode=dc.Dynamic_DC_CLReqControlMode(**dyn)
        )
    sched: dict[str, Any] = dict(
        ev_target_current=r(s.target_current_A), ev_target_voltage=r(s.present_voltage_V)
    )
    if bpt:
        return dc.DC_ChargeLoopReq(
            **base,
            bpt_scheduled_dc_cl_req_control_mode=dc.BPT_Scheduled_DC_CLReqControlMode(
                **sched,
                ev_maximum_charge_power=r(s.max_charge_power_W),
                ev_maximum_discharge_power=r(s.max_discharge_power_W),
            ),
        )
    return dc.DC_ChargeLoopReq(
        **base, scheduled_dc_cl_req_control_mode=dc.Scheduled_DC_CLReqControlMode(**sched)
    )


def power_profile(
    time_anchor: int, entries: tuple[tuple[int, float], ...], *, dynamic: bool = False
) -> cm.EVPowerProfile:
    """The EV's planned power per interval (PowerDeliveryReq Start)."""
    return cm.EVPowerProfile(
        time_anchor=time_anchor,
        dynamic_evppt_control_mode=cm.Dynamic_EVPPTControlMode() if dynamic else None,
        # PowerToleranceAcceptance is optional in the XSD; Josev's model requires it
        scheduled_evppt_control_mode=None
        if dynamic
        else cm.Scheduled_EVPPTControlMode(
            selected_schedule_tuple_id=1,
            power_tolerance_acceptance=cm.PowerToleranceAcceptance.PowerToleranceConfirmed,
        ),
        ev_power_profile_entries=cm.EVPowerProfileEntryList(
            ev_power_profile_entry=tuple(cm.PowerScheduleEntry(duration=d, power=r(p)) for d, p in entries)
        ),
    )

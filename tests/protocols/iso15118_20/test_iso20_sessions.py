"""Whole ISO 15118-20 sessions between our SECC and our EVCC, in memory.

Every test runs SessionSetup → … → SessionStop and asserts what the EVSE owner and the
EV owner saw: negotiated service, commanded power both ways, energy into/out of the battery.
"""

from __future__ import annotations

import pytest
from iso20_helpers import T0, Pair

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.iso15118_20 import ControlMode, EvccConfig, EvState, SeccConfig, ServiceId
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC, NS_ISO20_DC
from bidicharge.protocols.iso15118_20.sim import run_in_memory

AC_DYNAMIC = EvccConfig(namespaces=(NS_ISO20_AC,), control_mode=ControlMode.DYNAMIC, loop_interval_s=1.0)
DC_SCHEDULED = EvccConfig(namespaces=(NS_ISO20_DC,), control_mode=ControlMode.SCHEDULED, loop_interval_s=1.0)


def of(trace, kind):
    return [e for e in trace if isinstance(e, kind)]


def test_ac_bpt_dynamic_charge_then_commanded_discharge_then_stop():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC)
    pair.run({3: lambda p: p.secc.set_power_target(-7_000), 6: lambda p: p.evcc.stop()})

    secc_trace, ev_trace = pair.evse.trace, pair.ev.trace
    (selected,) = of(secc_trace, ev.ServiceSelected)
    assert selected.service is ServiceId.AC_BPT
    assert selected.parameter_set.control_mode is ControlMode.DYNAMIC
    assert (
        selected.parameter_set.bpt_channel is not None and selected.parameter_set.generator_mode is not None
    )
    assert selected.parameter_set.islanding_detection is not None
    assert [c.target_power_W for c in of(ev_trace, ev.PowerCommanded)] == [11_000.0] * 3 + [-7_000.0] * 3
    # the EV reports what it does: 11 kW, then -7 kW
    reported = [s.present_power_W for s in of(secc_trace, ev.EvStatus)]
    assert reported[1:3] == [11_000.0, 11_000.0] and reported[-2:] == [-7_000.0, -7_000.0]
    needs = of(secc_trace, ev.EvEnergyNeeds)[0]
    assert needs.departure_time_s == 8 * 3600 and needs.target_energy_Wh == pytest.approx(18_000)
    assert needs.min_v2x_energy_Wh == pytest.approx(-18_000)  # may discharge down to 20 %
    assert [p.progress for p in of(secc_trace, ev.PowerDeliveryRequested)] == [
        cm.ChargeProgress.Start,
        cm.ChargeProgress.Stop,
    ]
    assert of(secc_trace, ev.SessionEnded) == [ev.SessionEnded()]
    assert of(ev_trace, ev.SessionEnded) == [ev.SessionEnded()]
    # 3 s at 11 kW in, 2 s at -7 kW out (the last command is not acted on before stop)
    assert pair.ev.energy_Wh == pytest.approx((3 * 11_000 - 2 * 7_000) / 3600, abs=1e-6)


def test_dc_bpt_scheduled_discharge_schedule_with_cable_check_pre_charge_and_welding():
    pair = Pair(EvState(soc=0.9, capacity_Wh=60_000, target_soc=0.8), DC_SCHEDULED)
    pair.secc.set_schedule([(3600, -7_000.0)])
    pair.run({4: lambda p: p.evcc.stop()})

    secc_trace, ev_trace = pair.evse.trace, pair.ev.trace
    assert of(secc_trace, ev.ServiceSelected)[0].service is ServiceId.DC_BPT
    (schedule,) = of(ev_trace, ev.ScheduleReceived)
    assert schedule.entries == (
        ev.ScheduleEntry(start_s=0, duration_s=3600, max_charge_power_W=0.0, max_discharge_power_W=7_000.0),
    )
    kinds = [type(e) for e in secc_trace]
    assert (
        kinds.index(ev.CableCheckRequested)
        < kinds.index(ev.PreChargeRequested)
        < kinds.index(ev.PowerDeliveryRequested)
    )
    assert kinds.index(ev.WeldingDetectionRequested) > max(i for i, k in enumerate(kinds) if k is ev.EvStatus)
    start = of(secc_trace, ev.PowerDeliveryRequested)[0]
    assert start.channel == cm.ChannelSelection.Discharge
    # the EV discharges at 7 kW: negative target current at 400 V
    assert of(secc_trace, ev.EvStatus)[-1].target_current_A == pytest.approx(-17.5)
    assert pair.ev.energy_Wh < 0
    assert of(ev_trace, ev.SessionEnded) == [ev.SessionEnded()]


def test_dc_bpt_dynamic_forces_the_target_through_the_power_window():
    config = EvccConfig(namespaces=(NS_ISO20_DC,), control_mode=ControlMode.DYNAMIC, loop_interval_s=1.0)
    pair = Pair(EvState(soc=0.6, capacity_Wh=60_000), config)
    pair.secc.set_power_target(20_000)
    pair.run({2: lambda p: p.secc.set_power_target(-7_000), 4: lambda p: p.evcc.stop()})
    commands = of(pair.ev.trace, ev.PowerCommanded)
    assert [c.target_power_W for c in commands] == [
        11_000.0,
        11_000.0,
        -7_000.0,
        -7_000.0,
    ]  # 20 kW capped by the EV's 11 kW


def test_ac_scheduled_change_while_charging_renegotiates_the_schedule():
    config = EvccConfig(namespaces=(NS_ISO20_AC,), control_mode=ControlMode.SCHEDULED, loop_interval_s=1.0)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), config)
    pair.secc.set_power_target(5_000)
    pair.run({2: lambda p: p.secc.set_power_target(-3_000), 5: lambda p: p.evcc.stop()})
    schedules = of(pair.ev.trace, ev.ScheduleReceived)
    assert [(s.entries[0].max_charge_power_W, s.entries[0].max_discharge_power_W) for s in schedules] == [
        (5_000.0, 0.0),
        (0.0, 3_000.0),
    ]
    progress = [p.progress for p in of(pair.evse.trace, ev.PowerDeliveryRequested)]
    assert progress == [
        cm.ChargeProgress.Start,
        cm.ChargeProgress.ScheduleRenegotiation,
        cm.ChargeProgress.Start,
        cm.ChargeProgress.Stop,
    ]
    assert of(pair.evse.trace, ev.SessionEnded) == [ev.SessionEnded()]


def test_evse_stop_request_ends_the_session_through_power_delivery_stop():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC)
    pair.run({2: lambda p: p.secc.request_stop()})
    assert of(pair.ev.trace, ev.EvseNotified)[0].notification.value == "Terminate"
    assert [p.progress for p in of(pair.evse.trace, ev.PowerDeliveryRequested)][-1] == cm.ChargeProgress.Stop
    assert of(pair.evse.trace, ev.SessionEnded) == [ev.SessionEnded()]


def test_pause_then_resume_joins_the_old_session():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC)
    pair.run({1: lambda p: p.evcc.stop(pause=True)})
    (ended,) = of(pair.evse.trace, ev.SessionEnded)
    assert ended.paused and ended.error is None
    session_id = pair.secc.session_id
    assert session_id is not None

    config = EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=1.0, resume_session_id=session_id)
    again = Pair(
        EvState(soc=0.5, capacity_Wh=60_000), config, SeccConfig(paused_session_ids=frozenset({session_id}))
    )
    again.run({1: lambda p: p.evcc.stop()})
    (started,) = of(again.evse.trace, ev.SessionStarted)
    assert started.resumed and started.session_id == session_id


def test_eim_authorization_waits_for_the_owner():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC, SeccConfig(auto_authorize=False))
    pair.evcc.start(0.0)
    pair.secc.receive_data(pair.evcc.data_to_send(), 0.0)
    for _ in range(3):  # SAP, SessionSetup, AuthorizationSetup, Authorization -> Ongoing
        pair.evcc.receive_data(pair.secc.data_to_send(), 0.0)
        pair.secc.receive_data(pair.evcc.data_to_send(), 0.0)
    pair.evcc.receive_data(pair.secc.data_to_send(), 0.0)
    assert any(isinstance(e, ev.AuthorizationRequested) for e in pair.secc.events())
    assert pair.evcc.next_deadline() == pytest.approx(0.1)  # repeats AuthorizationReq
    pair.secc.authorize(True)
    pair.evcc.handle_timeout(0.1)
    pair.secc.receive_data(pair.evcc.data_to_send(), 0.1)
    pair.evcc.receive_data(pair.secc.data_to_send(), 0.1)
    assert pair.evcc.awaiting is cm.ServiceDiscoveryReq


def test_eim_refused_fails_the_session():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC, SeccConfig(auto_authorize=False))
    pair.secc.authorize(False)
    pair.run()
    (ended,) = of(pair.ev.trace, ev.SessionEnded)
    assert ended.response_code is not None and ended.response_code.value == "WARNING_EIMAuthorizationFailure"


@pytest.mark.parametrize("negative", [False, True])
def test_discharge_limit_sign_convention_is_configurable_and_understood(negative):
    pair = Pair(
        EvState(soc=0.9, capacity_Wh=60_000, target_soc=0.8),
        DC_SCHEDULED,
        SeccConfig(negative_discharge_limits=negative),
    )
    pair.secc.set_schedule([(600, -4_000.0)])
    pair.run({2: lambda p: p.evcc.stop()})
    assert of(pair.ev.trace, ev.EvseLimits)[0].max_discharge_power_W == 50_000.0
    assert of(pair.ev.trace, ev.ScheduleReceived)[0].entries[0].max_discharge_power_W == 4_000.0


def test_service_renegotiation_returns_to_service_discovery():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC)
    pair.run({2: lambda p: p.secc.request_service_renegotiation(), 4: lambda p: p.evcc.stop()})
    assert len(of(pair.evse.trace, ev.ServiceSelected)) == 2
    assert of(pair.evse.trace, ev.SessionEnded) == [ev.SessionEnded()]


def test_standby_holds_power_at_zero_and_start_resumes():
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), AC_DYNAMIC)
    pair.run({2: lambda p: p.evcc.standby(), 4: lambda p: p.evcc.resume(), 6: lambda p: p.evcc.stop()})
    progress = [p.progress for p in of(pair.evse.trace, ev.PowerDeliveryRequested)]
    assert progress == [
        cm.ChargeProgress.Start,
        cm.ChargeProgress.Standby,
        cm.ChargeProgress.Start,
        cm.ChargeProgress.Stop,
    ]
    assert [c.target_power_W for c in of(pair.ev.trace, ev.PowerCommanded)] == [
        11_000.0,
        11_000.0,
        0.0,
        0.0,
        11_000.0,
        11_000.0,
    ]
    assert of(pair.evse.trace, ev.SessionEnded) == [ev.SessionEnded()]


def test_schedule_exchange_waits_while_the_owner_plans_from_the_ev_needs():
    pair = Pair(EvState(soc=0.9, capacity_Wh=60_000, target_soc=0.8), DC_SCHEDULED)
    pair.secc.set_schedule_pending(True)
    planned: list[ev.EvEnergyNeeds] = []

    def step(secc, evcc, now):  # the owner (e.g. a HEMS) plans once it knows the EV's needs
        before = len(pair.evse.trace)
        pair.evse.on_events()
        pair.ev.on_events(now)
        for e in pair.evse.trace[before:]:
            if isinstance(e, ev.EvEnergyNeeds) and not planned:
                planned.append(e)
                secc.set_schedule([(900, -5_000.0), (900, 3_000.0)])
        if any(isinstance(e, ev.PowerCommanded) for e in pair.ev.trace):
            evcc.stop()

    run_in_memory(pair.secc, pair.evcc, now=T0, on_step=step)
    (schedule,) = of(pair.ev.trace, ev.ScheduleReceived)
    assert [(e.max_charge_power_W, e.max_discharge_power_W) for e in schedule.entries] == [(0.0, 5_000.0), (3_000.0, 0.0)]
    assert planned and planned[0].max_energy_Wh == pytest.approx(6_000)
    assert of(pair.evse.trace, ev.SessionEnded) == [ev.SessionEnded()]

"""EVSECC/EVCC/EVCEM/EVSOC/OPEV/OSCEV/CEVC, MGCP and the discharge extension, in memory.

    HEMS (CEM, Monitoring Appliance) ── SPINE ── Wallbox (EVSE + EV [1,1])
                                      └─ SPINE ── Meter (Grid Connection Point)
"""

from __future__ import annotations

import pytest

from bidicharge.protocols.spine import ErrorNumber, LocalDevice, SpineNode, UseCasesReceived
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.usecases.cem import CemEvClient, EvConnected, EvDisconnected, EvWriteResult
from bidicharge.protocols.spine.usecases.discharge import DischargeSetpointChanged
from bidicharge.protocols.spine.usecases.evse import (
    CurrentLimitsChanged,
    EvProfile,
    EvseServer,
    IncentiveTableReceived,
    PowerConstraintsReceived,
)
from bidicharge.protocols.spine.usecases.mgcp import GridConnectionPoint, GridReading, MonitoringAppliance

PROFILE = EvProfile(communication_standard="iso15118-2ed1", asymmetric_charging=True,
                    identifications=("0a1b2c3d4e5f",), min_current_A=6, max_current_A=16, max_power_W=11_000)


class World:
    def __init__(self) -> None:
        hems_dev = LocalDevice("d:_i:99999_HEMS-1", "EnergyManagementSystem")
        wb_dev = LocalDevice("d:_i:99999_Wallbox-1", "ChargingStation")
        meter_dev = LocalDevice("d:_i:99999_Meter-1", "ElectricitySupplySystem")
        self.hems, self.wb, self.meter = SpineNode(hems_dev), SpineNode(wb_dev), SpineNode(meter_dev)
        cem_entity = hems_dev.add_entity("CEM")
        self.cem = CemEvClient(self.hems, cem_entity)
        self.ma = MonitoringAppliance(self.hems, cem_entity)
        self.evse = EvseServer(self.wb, wb_dev.add_entity("EVSE"), brand="bidicharge", model="BiDi-11",
                               serial="42", max_discharge_W=7_000)
        self.gcp = GridConnectionPoint(self.meter, meter_dev.add_entity("GridConnectionPointOfPremises"),
                                       pv_curtailment_limit_factor_pct=70)
        self.link = MemoryLink()
        for name, node in (("hems", self.hems), ("wallbox", self.wb), ("meter", self.meter)):
            self.link.add(name, node)
        self.link.connect("hems", "wallbox", 0.0)
        self.link.connect("hems", "meter", 0.0)

    def plug(self, now: float = 1.0) -> None:
        self.evse.plug_in(PROFILE, now)
        self.link.pump(now)


def test_evsecc_manufacturer_and_failure_state() -> None:
    w = World()
    manufacturer, state = w.cem.evse_state("wallbox")
    assert manufacturer is not None and manufacturer["deviceName"] == "BiDi-11"
    assert state == {"operatingState": "normalOperation"}
    w.evse.set_failure("RCD tripped", 2.0)
    w.link.pump(2.0)
    assert w.cem.evse_state("wallbox")[1] == {"operatingState": "failure", "lastErrorCode": "RCD tripped"}


def test_evcc_plug_in_is_seen_with_ev_data_and_unplug_removes_it() -> None:
    w = World()
    assert not w.cem.ev("wallbox").connected
    w.plug()
    assert any(isinstance(e, EvConnected) for e in w.cem.events())
    ucs = [e for e in w.hems.events() if isinstance(e, UseCasesReceived)]
    assert ("EV", "evCommissioningAndConfiguration") in {(u.actor, u.name) for u in ucs[-1].use_cases}
    ev = w.cem.ev("wallbox")
    assert ev.connected and ev.communication_standard == "iso15118-2ed1" and ev.asymmetric_charging is True
    assert ev.identifications == ("0a1b2c3d4e5f",)
    assert ev.current_min_A == (6, 6, 6) and ev.current_max_A == (16, 16, 16)
    assert ev.power_max_W == 11_000
    w.evse.unplug(5.0)
    w.link.pump(5.0)
    assert any(isinstance(e, EvDisconnected) for e in w.cem.events())
    assert not w.cem.ev("wallbox").connected


def test_evcem_and_evsoc_measurements_reach_the_cem() -> None:
    w = World()
    w.plug()
    w.evse.update_measurements(2.0, current_A=(10, 10, 10), power_W=(2_300, 2_300, 2_300),
                               charged_energy_Wh=1_825, soc=0.42)
    w.link.pump(2.0)
    ev = w.cem.ev("wallbox")
    assert ev.current_A == (10, 10, 10) and ev.power_W == (2_300, 2_300, 2_300)
    assert ev.charged_energy_Wh == 1_825 and ev.soc == pytest.approx(0.42)


def test_opev_obligation_and_oscev_recommendation_are_kept_apart() -> None:
    w = World()
    w.plug()
    list(w.evse.events())
    w.cem.write_current_limits("wallbox", (10, 10, 10), 2.0)
    w.cem.write_recommendation("wallbox", (7, None, None), 2.0)
    w.link.pump(2.0)
    obligation, recommendation = w.evse.current_limits_A()
    assert obligation == (10, 10, 10)
    assert recommendation == (7, None, None)
    assert [e.accepted for e in w.cem.events() if isinstance(e, EvWriteResult)] == [True, True]
    assert isinstance(list(w.evse.events())[-1], CurrentLimitsChanged)
    assert w.cem.ev("wallbox").obligation_A == (10, 10, 10)


def test_opev_negative_current_is_refused() -> None:
    w = World()
    w.plug()
    w.cem.write_current_limits("wallbox", (-5, 10, 10), 2.0)
    w.link.pump(2.0)
    (result,) = [e for e in w.cem.events() if isinstance(e, EvWriteResult)]
    assert result.error_number == ErrorNumber.COMMAND_REJECTED
    assert w.evse.current_limits_A()[0] == (None, None, None)


def test_cevc_demand_plan_constraints_and_incentives() -> None:
    w = World()
    w.plug()
    w.evse.set_energy_demand(2.0, min_Wh=5_000, opt_Wh=20_000, max_Wh=40_000, duration_s=8 * 3600)
    w.evse.set_charge_plan(2.0, [(3600, 11_000), (7200, 3_700)])
    w.link.pump(2.0)
    ev = w.cem.ev("wallbox")
    assert ev.demand_Wh == (5_000, 20_000, 40_000)
    assert ev.plan == ((0, 3600, 11_000), (3600, 7200, 3_700))
    w.cem.write_power_constraints("wallbox", [(3600, 4_200), (3600, 11_000)], 3.0)
    w.cem.write_incentive_table("wallbox", [(3600, [(11_000, 0.30)]), (3600, [(11_000, 0.12)])], 3.0)
    w.link.pump(3.0)
    events = list(w.evse.events())
    assert w.evse.power_constraints() == ((0, 3600, 4_200), (3600, 3600, 11_000))
    assert any(isinstance(e, PowerConstraintsReceived) for e in events)
    assert any(isinstance(e, IncentiveTableReceived) for e in events)


def test_cem_cannot_overwrite_the_ev_plan() -> None:
    w = World()
    w.plug()
    # the CEM may only write the constraints series, never the EV's plan (timeSeriesId 1)
    w.cem._write("wallbox", "TimeSeries", "timeSeriesListData", {"timeSeriesData": [
        {"timeSeriesId": 1, "timeSeriesSlot": [{"timeSeriesSlotId": 0, "value": {"number": 0, "scale": 0}}]}]}, 2.0)
    w.link.pump(2.0)
    (result,) = [e for e in w.cem.events() if isinstance(e, EvWriteResult)]
    assert not result.accepted


def test_discharge_extension_setpoint_within_max_only() -> None:
    w = World()
    w.plug()
    uc_names = {u.name for u in w.wb.use_cases}
    assert "x-bidicharge-evDischargeSetpoint" in uc_names
    w.cem.write_discharge_setpoint("wallbox", 5_000, 2.0, duration_s=3600)
    w.link.pump(2.0)
    assert w.evse.discharge_setpoint_W() == 5_000
    assert any(isinstance(e, DischargeSetpointChanged) for e in w.evse.events())
    w.cem.write_discharge_setpoint("wallbox", 9_000, 3.0)
    w.link.pump(3.0)
    assert w.evse.discharge_setpoint_W() == 5_000  # above the announced 7 kW: refused
    w.cem.write_discharge_setpoint("wallbox", None, 4.0)
    w.link.pump(4.0)
    assert w.evse.discharge_setpoint_W() is None


def test_mgcp_grid_point_readings_with_sign_convention() -> None:
    w = World()
    w.gcp.publish(GridReading(power_W=-3_200, feed_in_energy_Wh=12_000, consumed_energy_Wh=34_000,
                              current_A=(-4.6, -4.7, -4.6), voltage_V=(231, 230, 229), frequency_Hz=50.01), 5.0)
    w.link.pump(5.0)
    reading = w.ma.reading("meter")
    assert reading.power_W == -3_200  # feeding in
    assert reading.current_A == (-4.6, -4.7, -4.6) and reading.voltage_V == (231, 230, 229)
    assert reading.frequency_Hz == pytest.approx(50.01)
    assert reading.pv_curtailment_limit_factor_pct == 70
    assert any(e.reading.feed_in_energy_Wh == 12_000 for e in w.ma.events())


def test_lost_connection_forgets_the_ev_and_reconnect_finds_it_again() -> None:
    w = World()
    w.plug()
    list(w.cem.events())
    w.hems.disconnect("wallbox")
    w.wb.disconnect("hems")
    assert any(isinstance(e, EvDisconnected) for e in w.cem.events())
    assert not w.cem.ev("wallbox").connected
    w.link.connect("hems", "wallbox", 10.0)
    assert w.cem.ev("wallbox").connected


def test_cem_heartbeat_loss_withdraws_recommendation_but_keeps_obligation() -> None:
    from bidicharge.protocols.spine.usecases.evse import CemHeartbeatChanged

    w = World()
    w.plug()
    for t in range(2, 6):
        w.cem.step(float(t))
        w.evse.step(float(t))
        w.link.pump(float(t))
    assert w.evse.cem_alive
    w.cem.write_current_limits("wallbox", (10, 10, 10), 6.0)
    w.cem.write_recommendation("wallbox", (8, 8, 8), 6.0)
    w.link.pump(6.0)
    w.cem.stop_heartbeat()
    for t in range(7, 7 + 130):
        w.cem.step(float(t))
        w.evse.step(float(t))
        w.link.pump(float(t))
    assert not w.evse.cem_alive
    assert any(isinstance(e, CemHeartbeatChanged) and not e.alive for e in w.evse.events())
    obligation, recommendation = w.evse.current_limits_A()
    assert obligation == (10, 10, 10)
    assert recommendation == (None, None, None)
    assert w.cem.ev("wallbox").recommendation_A == (None, None, None)  # the CEM was told (notify)


def test_v2g_discharge_setpoint_is_capped_by_lpp_on_the_evse_entity() -> None:
    """Discharge building blocks: LPP (standard) on the EVSE entity + our setpoint extension."""
    from bidicharge.protocols.spine.usecases import (
        ControllableSystem,
        Direction,
        EnergyGuard,
        PowerLimitConfig,
    )
    from bidicharge.protocols.spine.usecases.discharge import effective_discharge_W

    hems_dev = LocalDevice("d:_i:99999_HEMS-2", "EnergyManagementSystem")
    wb_dev = LocalDevice("d:_i:99999_Wallbox-2", "ChargingStation")
    hems, wb = SpineNode(hems_dev), SpineNode(wb_dev)
    cem_entity = hems_dev.add_entity("CEM")
    cem = CemEvClient(hems, cem_entity)
    guard = EnergyGuard(hems, cem_entity, now=0.0, directions=(Direction.CONSUME, Direction.PRODUCE))
    evse_entity = wb_dev.add_entity("EVSE")
    evse = EvseServer(wb, evse_entity, max_discharge_W=11_000)
    lpp = ControllableSystem(wb, evse_entity, now=0.0,
                             consumption=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=4_200),
                             production=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=0))
    link = MemoryLink()
    link.add("hems", hems)
    link.add("wallbox", wb)
    link.connect("hems", "wallbox", 0.0)
    evse.plug_in(PROFILE, 1.0)
    link.pump(1.0)
    cem.write_discharge_setpoint("wallbox", 7_000, 2.0)
    guard.write_limit("wallbox", Direction.PRODUCE, 3_700, 2.0)
    link.pump(2.0)
    assert evse.discharge_setpoint_W() == 7_000
    assert lpp.limit_W(Direction.PRODUCE) == 3_700
    assert effective_discharge_W(evse.discharge_setpoint_W(), lpp.limit_W(Direction.PRODUCE)) == 3_700
    assert effective_discharge_W(None, 3_700) == 0.0

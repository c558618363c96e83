"""The wallbox's EEBUS side (I-03) against our CEM, in memory: what it publishes of the car and
how its power stage follows OPEV, the discharge extension, LPC and LPP.

    CEM (CemEvClient) ──MemoryLink── EvseEebus (EvseServer + ControllableSystem, entity EVSE)
    Energy Guard ───────┘ (LPC/LPP on the EVSE entity)
"""

from __future__ import annotations

import pytest

from bidicharge.components.evse.eebus import EvseEebus, StageView
from bidicharge.components.interfaces.i01_vehicle import VehicleStatus
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.usecases import CemEvClient, Direction, EnergyGuard

ETA = 0.96
U_PH = 230.0 * 3


def _car(**kw: object) -> VehicleStatus:
    values: dict[str, object] = dict(plugged_in=True, soc=0.4, capacity_Wh=60_000.0, max_charge_W=11_000.0,
                                     max_discharge_W=7_000.0, departure_s=7200.0, target_soc=0.8, min_soc=0.2,
                                     charge_efficiency=0.94, discharge_efficiency=0.94)
    values.update(kw)
    return VehicleStatus(**values)  # type: ignore[arg-type]


def _view(vehicle: VehicleStatus | None, grid_W: float = 5.0) -> StageView:
    return StageView(vehicle=vehicle, ev_power_W=0.0, grid_power_W=grid_W, standby_W=5.0, charged_Wh=0.0,
                     max_power_W=11_000.0, min_power_W=0.0, efficiency=ETA)


class World:
    def __init__(self) -> None:
        self.box = EvseEebus("wallbox", max_power_W=11_000, phases=3, bidirectional=True, now=0.0, efficiency=ETA)
        hems_dev = LocalDevice("d:_i:1_HEMS", "EnergyManagementSystem")
        self.hems = SpineNode(hems_dev)
        cem_entity = hems_dev.add_entity("CEM")
        self.cem = CemEvClient(self.hems, cem_entity)
        guard_dev = LocalDevice("d:_i:1_Guard", "ElectricitySupplySystem")
        self.guard_node = SpineNode(guard_dev)
        self.guard = EnergyGuard(self.guard_node, guard_dev.add_entity("GridGuard"), now=0.0,
                                 directions=(Direction.CONSUME, Direction.PRODUCE))
        self.link = MemoryLink()
        self.link.add("hems", self.hems)
        self.link.add("wallbox", self.box.node)
        self.link.add("guard", self.guard_node)
        self.link.connect("hems", "wallbox", 0.0)
        self.link.connect("guard", "wallbox", 0.0)

    def cycle(self, now: float) -> None:
        self.cem.step(now)
        self.guard.step(now)
        self.link.pump(now)
        self.box.step(now)
        self.link.pump(now)


@pytest.fixture
def world() -> World:
    w = World()
    w.box.publish(1.0, _view(_car()))
    w.cycle(1.0)
    return w


def test_the_cem_gets_the_cars_data(world: World) -> None:
    ev = world.cem.ev("wallbox")
    assert ev.connected and ev.soc == pytest.approx(0.4)
    assert ev.communication_standard == "iso15118-20"
    assert ev.power_max_W == pytest.approx(11_000 / ETA, abs=0.01)  # grid side
    assert ev.demand_Wh == pytest.approx((0.0, 24_000.0, 36_000.0))  # to 20 % min, to 80 %, to full


def test_unplugging_removes_the_ev(world: World) -> None:
    world.box.publish(2.0, _view(_car(plugged_in=False)))
    world.cycle(2.0)
    assert not world.cem.ev("wallbox").connected


def test_the_stage_waits_for_the_cems_first_obligation_then_follows_opev(world: World) -> None:
    for t in range(2, 6):
        world.cycle(float(t))
    assert world.box.server.cem_alive
    assert world.box.setpoint_W(11_000.0, ETA) == 0.0  # a CEM is there and has not decided yet
    world.cem.write_current_limits("wallbox", (8.0, 8.0, 8.0), 6.0)
    world.cycle(6.0)
    assert world.box.setpoint_W(11_000.0, ETA) == pytest.approx(8.0 * U_PH * ETA)


def test_a_wallbox_without_cem_or_guard_charges_at_full_power() -> None:
    box = EvseEebus("wallbox", max_power_W=11_000, phases=3, bidirectional=True, now=0.0, efficiency=ETA,
                    standby_W=5.0)
    box.publish(1.0, _view(_car()))
    for t in (1.0, 200.0, 10_000.0):  # past the LPC heartbeat timeout: failsafe = its own maximum
        box.step(t)
        assert box.setpoint_W(11_000.0, ETA, 5.0) == pytest.approx(11_000.0)


def test_discharge_setpoint_is_capped_by_lpp_and_charging_by_lpc(world: World) -> None:
    world.cem.write_current_limits("wallbox", (16.0, 16.0, 16.0), 2.0)
    world.cem.write_discharge_setpoint("wallbox", 5_000.0, 2.0)
    world.cycle(2.0)
    assert world.box.setpoint_W(11_000.0, ETA) == pytest.approx(-5_000.0)
    assert world.guard.ready("wallbox", Direction.PRODUCE)
    world.guard.write_limit("wallbox", Direction.PRODUCE, 3_000.0, 3.0)
    world.cycle(3.0)
    assert world.box.setpoint_W(11_000.0, ETA) == pytest.approx(-3_000.0)
    world.cem.write_discharge_setpoint("wallbox", None, 4.0)
    world.guard.write_limit("wallbox", Direction.CONSUME, 4_200.0, 4.0, duration_s=7200)
    world.cycle(4.0)
    # LPC bounds the whole wallbox: 4.2 kW minus its standby, at the vehicle side
    assert world.box.setpoint_W(11_000.0, ETA, 5.0) == pytest.approx((4_200.0 - 5.0) * ETA)


def test_the_discharge_maximum_follows_the_car(world: World) -> None:
    world.box.publish(2.0, _view(_car(soc=0.2, max_discharge_W=0.0)))
    world.cycle(2.0)
    data = world.hems.remote("wallbox").data
    values = [v for (_, _, f), v in data.items() if f == "setpointListData"]
    assert values and values[0]["setpointData"][0]["valueMax"] == {"number": 0, "scale": 0}

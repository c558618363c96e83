"""§14a chain at protocol level, in memory (the components wire the same actors).

    control unit ──LPC (I-09)──► HEMS ──OPEV/EVCC/EVCEM (I-03)──► wallbox ── EV
    (EnergyGuard)                (ControllableSystem + CEM)       (EvseServer)

The HEMS pairs with both, subscribes, gets the EV's data, limits charging with OPEV; the
control unit sets an LPC limit of 4.2 kW for 2 h; the wallbox follows within one control
cycle; the control unit's heartbeat stops and the HEMS falls to its failsafe limit.
"""

from __future__ import annotations

import math

from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.usecases import (
    CemEvClient,
    ControllableSystem,
    Direction,
    EnergyGuard,
    EvProfile,
    EvseServer,
    LimitState,
    PowerLimitConfig,
)

VOLTAGE_V = 230.0
PHASES = 3


def test_lpc_limit_reaches_the_wallbox_and_heartbeat_loss_falls_back_to_failsafe() -> None:
    box_dev = LocalDevice("d:_i:99999_ControlBox", "ElectricitySupplySystem")
    hems_dev = LocalDevice("d:_i:99999_HEMS", "EnergyManagementSystem")
    wb_dev = LocalDevice("d:_i:99999_Wallbox", "ChargingStation")
    box, hems, wb = SpineNode(box_dev), SpineNode(hems_dev), SpineNode(wb_dev)
    guard = EnergyGuard(box, box_dev.add_entity("GridGuard"), now=0.0)
    cem_entity = hems_dev.add_entity("CEM")
    hems_cs = ControllableSystem(hems, cem_entity, now=0.0,
                                 consumption=PowerLimitConfig(nominal_max_W=30_000, failsafe_limit_W=4_200,
                                                              contractual_nominal_max_W=30_000))
    cem = CemEvClient(hems, cem_entity)
    evse = EvseServer(wb, wb_dev.add_entity("EVSE"))
    link = MemoryLink()
    for name, node in (("box", box), ("hems", hems), ("wallbox", wb)):
        link.add(name, node)
    link.connect("box", "hems", 0.0)
    link.connect("hems", "wallbox", 0.0)
    evse.plug_in(EvProfile(min_current_A=6, max_current_A=16), 1.0)
    link.pump(1.0)
    assert cem.ev("wallbox").connected and cem.ev("wallbox").current_max_A == (16, 16, 16)

    wallbox_current_A = 16.0

    def control_cycle(now: float) -> None:
        """HEMS: turn the LPC limit into an OPEV current; wallbox: follow OPEV."""
        nonlocal wallbox_current_A
        guard.step(now)
        hems_cs.step(now)
        limit_W = hems_cs.limit_W(Direction.CONSUME)
        # round down: a limit is a ceiling
        wanted = None if limit_W is None else math.floor(limit_W / (VOLTAGE_V * PHASES) * 100) / 100
        if cem.ev("wallbox").obligation_A != ((wanted,) * PHASES if wanted is not None else ()):
            cem.write_current_limits("wallbox", (wanted,) * PHASES, now)
        link.pump(now)
        obligation, _ = evse.current_limits_A()
        caps = [c for c in obligation if c is not None]
        wallbox_current_A = min([16.0, *caps])

    for t in range(2, 10):
        control_cycle(float(t))
    assert wallbox_current_A == 16.0
    guard.write_limit("hems", Direction.CONSUME, 4_200, 10.0, duration_s=2 * 3600)
    link.pump(10.0)
    control_cycle(11.0)  # one control cycle later the wallbox obeys
    assert hems_cs.state[Direction.CONSUME] is LimitState.LIMITED
    assert wallbox_current_A * VOLTAGE_V * PHASES <= 4_200
    guard.stop_heartbeat()
    for t in range(12, 12 + 125):
        control_cycle(float(t))
    assert hems_cs.state[Direction.CONSUME] is LimitState.FAILSAFE
    assert hems_cs.limit_W(Direction.CONSUME) == 4_200
    assert wallbox_current_A * VOLTAGE_V * PHASES <= 4_200
    # the trace shows the message sequence across both interfaces
    functions = [next(iter(d["datagram"]["payload"]["cmd"][0])) for _, _, d in link.trace]
    assert "loadControlLimitListData" in functions and "deviceDiagnosisHeartbeatData" in functions


def test_one_hems_entity_with_every_actor_has_one_feature_per_type_and_role() -> None:
    from bidicharge.protocols.spine.usecases import GridConnectionPoint, MonitoringAppliance

    hems_dev = LocalDevice("d:_i:99999_HEMS", "EnergyManagementSystem")
    hems = SpineNode(hems_dev)
    cem = hems_dev.add_entity("CEM")
    ControllableSystem(hems, cem, now=0.0, consumption=PowerLimitConfig(nominal_max_W=30_000, failsafe_limit_W=4_200))
    EnergyGuard(hems, cem, now=0.0)
    CemEvClient(hems, cem)
    MonitoringAppliance(hems, cem)
    GridConnectionPoint(hems, hems_dev.add_entity("GridConnectionPointOfPremises"))
    pairs = [(f.address.entity, f.feature_type, f.role) for f in hems_dev.features()]
    assert len(pairs) == len(set(pairs))
    (diagnosis,) = [f for f in cem.features if f.feature_type == "DeviceDiagnosis" and f.role.value == "server"]
    assert "deviceDiagnosisHeartbeatData" in diagnosis.functions

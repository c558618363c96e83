"""LPC/LPP: our Energy Guard against our Controllable System, in memory."""

from __future__ import annotations

import pytest

from bidicharge.protocols.spine import ErrorNumber, FeatureRole, LocalDevice, SpineNode
from bidicharge.protocols.spine.memory import MemoryLink
from bidicharge.protocols.spine.usecases.energy_guard import (
    ControlledSystemFound,
    EnergyGuard,
    LimitWriteResult,
)
from bidicharge.protocols.spine.usecases.lpc import (
    TRANSITIONS,
    ControllableSystem,
    Direction,
    LimitState,
    PowerLimitChanged,
    PowerLimitConfig,
    WriteApprovalRequired,
)


class World:
    def __init__(self, *, approve=None, deferred: bool = False) -> None:  # type: ignore[no-untyped-def]
        hems_dev = LocalDevice("d:_i:99999_HEMS-1", "EnergyManagementSystem")
        box_dev = LocalDevice("d:_i:99999_Box-1", "ElectricitySupplySystem")
        self.hems, self.box = SpineNode(hems_dev), SpineNode(box_dev)
        self.cs = ControllableSystem(
            self.hems, hems_dev.add_entity("CEM"), now=0.0, approve=approve, deferred_approval=deferred,
            consumption=PowerLimitConfig(nominal_max_W=22_000, failsafe_limit_W=4_200, contractual_nominal_max_W=30_000),
            production=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=0))
        self.eg = EnergyGuard(self.box, box_dev.add_entity("GridGuard"), now=0.0,
                              directions=(Direction.CONSUME, Direction.PRODUCE))
        self.link = MemoryLink()
        self.link.add("hems", self.hems)
        self.link.add("box", self.box)
        self.link.connect("hems", "box", 0.0)

    def run(self, until: float, *, step: float = 1.0, start: float = 0.0) -> None:
        t = start
        while t <= until:
            self.cs.step(t)
            self.eg.step(t)
            self.link.pump(t)
            t += step


def test_energy_guard_is_ready_only_after_discovery() -> None:
    hems_dev = LocalDevice("d:_i:1_H", "EnergyManagementSystem")
    box_dev = LocalDevice("d:_i:1_B", "ElectricitySupplySystem")
    ControllableSystem(SpineNode(hems_dev), hems_dev.add_entity("CEM"), now=0.0,
                       consumption=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=4_200))
    eg = EnergyGuard(SpineNode(box_dev), box_dev.add_entity("GridGuard"), now=0.0)
    assert not eg.ready("hems")


def test_energy_guard_finds_system_subscribes_and_binds() -> None:
    w = World()
    assert w.eg.ready("hems") and w.eg.ready("hems", Direction.PRODUCE)
    assert [type(e) for e in w.eg.events()] == [ControlledSystemFound]
    assert len(w.hems.bindings) == 2  # LoadControl + DeviceConfiguration
    state = w.eg.state_of("hems")
    assert state.contractual_max_W[Direction.CONSUME] == 30_000
    assert state.failsafe_W == {Direction.CONSUME: 4_200, Direction.PRODUCE: 0}


def test_limit_4200_W_for_2_h_is_applied_then_expires() -> None:
    w = World()
    w.run(10)
    list(w.cs.events())
    w.eg.write_limit("hems", Direction.CONSUME, 4_200, 10.0, duration_s=7200)
    w.link.pump(10.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.LIMITED
    assert w.cs.limit_W(Direction.CONSUME) == 4_200
    assert w.cs.limit_W(Direction.PRODUCE) is None
    assert [e for e in w.eg.events() if isinstance(e, LimitWriteResult)][0].accepted
    assert w.eg.state_of("hems").limits_W[Direction.CONSUME] == 4_200  # notify reached the guard
    w.run(7200 + 20, step=5.0, start=15.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.UNLIMITED_CONTROLLED
    assert w.cs.limit_W() is None
    assert w.eg.state_of("hems").active[Direction.CONSUME] is False


def test_heartbeat_loss_for_more_than_120_s_falls_to_failsafe_then_autonomous() -> None:
    w = World()
    w.run(10)
    w.eg.write_limit("hems", Direction.CONSUME, 3_000, 10.0)
    w.link.pump(10.0)
    w.eg.stop_heartbeat()
    w.run(120, start=11.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.LIMITED  # 110 s: not yet
    w.run(140, start=121.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.FAILSAFE
    assert w.cs.limit_W(Direction.CONSUME) == 4_200
    assert w.cs.limit_W(Direction.PRODUCE) == 0
    changes = [e for e in w.cs.events() if isinstance(e, PowerLimitChanged)]
    assert changes[-1].state is LimitState.FAILSAFE
    w.run(140 + 7200 + 120, step=60.0, start=141.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.UNLIMITED_AUTONOMOUS


def test_no_energy_guard_at_all_goes_to_failsafe_after_120_s() -> None:
    hems_dev = LocalDevice("d:_i:1_H", "EnergyManagementSystem")
    cs = ControllableSystem(SpineNode(hems_dev), hems_dev.add_entity("CEM"), now=0.0,
                            consumption=PowerLimitConfig(nominal_max_W=11_000, failsafe_limit_W=4_200))
    cs.step(100.0)
    assert cs.state[Direction.CONSUME] is LimitState.INIT
    cs.step(121.0)
    assert cs.limit_W() == 4_200


def test_failsafe_duration_outside_2_to_24_h_is_rejected() -> None:
    w = World()
    w.run(5)
    w.eg.write_failsafe("hems", 5.0, duration_s=3600)
    w.link.pump(5.0)
    (result,) = [e for e in w.eg.events() if isinstance(e, LimitWriteResult)]
    assert not result.accepted and result.error_number == ErrorNumber.COMMAND_REJECTED
    w.eg.write_failsafe("hems", 6.0, limit_W=3_000, duration_s=4 * 3600)
    w.link.pump(6.0)
    assert [e.accepted for e in w.eg.events() if isinstance(e, LimitWriteResult)] == [True]
    assert w.cs.failsafe_W[Direction.CONSUME] == 3_000 and w.cs.failsafe_duration_s == 4 * 3600


def test_application_veto_is_answered_with_error_7_and_not_applied() -> None:
    w = World(approve=lambda direction, limit: limit is None or limit >= 1_000)
    w.run(3)
    w.eg.write_limit("hems", Direction.CONSUME, 500, 3.0)
    w.link.pump(3.0)
    (result,) = [e for e in w.eg.events() if isinstance(e, LimitWriteResult)]
    assert result.error_number == ErrorNumber.COMMAND_REJECTED
    assert w.cs.limit_W() is None


@pytest.mark.parametrize("accept", [True, False])
def test_deferred_approval_holds_the_result_until_the_application_decides(accept: bool) -> None:
    w = World(deferred=True)
    w.run(3)
    counter = w.eg.write_limit("hems", Direction.CONSUME, 4_200, 3.0, duration_s=7200)
    w.link.pump(3.0)
    (request,) = [e for e in w.cs.events() if isinstance(e, WriteApprovalRequired)]
    assert request.requested_W == {Direction.CONSUME: 4_200}
    assert not [e for e in w.eg.events() if isinstance(e, LimitWriteResult)]  # no acknowledgement yet
    assert w.cs.limit_W() is None
    assert w.cs.decide(request.peer, request.msg_counter, accept, 5.0)
    w.link.pump(5.0)
    (result,) = [e for e in w.eg.events() if isinstance(e, LimitWriteResult)]
    assert result.msg_counter == counter and result.accepted is accept
    assert w.cs.limit_W() == (4_200 if accept else None)


def test_undecided_write_is_refused_after_the_approval_timeout() -> None:
    w = World(deferred=True)
    w.run(3)
    w.eg.write_limit("hems", Direction.CONSUME, 4_200, 3.0)
    w.link.pump(3.0)
    w.hems.handle_timeout(3.0 + 10.5)
    w.link.pump(13.5)
    (result,) = [e for e in w.eg.events() if isinstance(e, LimitWriteResult)]
    assert result.error_number == ErrorNumber.TIMEOUT
    assert w.cs.limit_W() is None


def test_limit_from_unbound_peer_is_never_applied() -> None:
    w = World()
    w.run(3)
    # a second box that never binds writes directly
    rogue_dev = LocalDevice("d:_i:1_Rogue", "ElectricitySupplySystem")
    rogue = SpineNode(rogue_dev)
    client = rogue_dev.add_entity("GridGuard").add_feature("LoadControl", FeatureRole.CLIENT)
    w.link.add("rogue", rogue)
    w.link.connect("hems", "rogue", 3.0)
    w.link.pump(3.0)
    (server,) = rogue.remote("hems").find("LoadControl", FeatureRole.SERVER)
    rogue.write("hems", client, server.address, "loadControlLimitListData",
                {"loadControlLimitData": [{"limitId": 0, "isLimitActive": True, "value": {"number": 0, "scale": 0}}]}, 4.0)
    w.link.pump(4.0)
    assert w.cs.limit_W() is None
    assert w.cs.state[Direction.CONSUME] is not LimitState.LIMITED


def test_lpp_discharge_limit_uses_limit_id_1() -> None:
    w = World()
    w.run(3)
    w.eg.write_limit("hems", Direction.PRODUCE, 3_700, 3.0)
    w.link.pump(3.0)
    assert w.cs.limit_W(Direction.PRODUCE) == 3_700
    assert w.cs.limit_W(Direction.CONSUME) is None


def test_limit_from_a_bound_peer_that_is_no_energy_guard_is_refused() -> None:
    w = World()
    w.run(3)
    rogue_dev = LocalDevice("d:_i:1_Rogue", "EnergyManagementSystem")
    rogue = SpineNode(rogue_dev)
    client = rogue_dev.add_entity("CEM").add_feature("LoadControl", FeatureRole.CLIENT)
    w.link.add("rogue", rogue)
    w.link.connect("hems", "rogue", 3.0)
    (server,) = rogue.remote("hems").find("LoadControl", FeatureRole.SERVER)
    rogue.bind("hems", client, server, 4.0)
    rogue.write("hems", client, server.address, "loadControlLimitListData",
                {"loadControlLimitData": [{"limitId": 0, "isLimitActive": True, "value": {"number": 0, "scale": 0}}]}, 4.0)
    w.link.pump(4.0)
    results = [e for e in rogue.events() if type(e).__name__ == "ResultReceived"]
    assert [r.error_number for r in results if r.function == "loadControlLimitListData"] == [ErrorNumber.COMMAND_REJECTED]
    assert w.cs.limit_W() is None


@pytest.mark.parametrize("state", list(LimitState))
def test_every_state_has_a_way_out(state: LimitState) -> None:
    assert any(src is state for src, _ in TRANSITIONS)


def test_two_hours_of_heartbeats_leave_no_state_behind() -> None:
    w = World()
    w.link.keep_trace = False
    subscriptions = (len(w.hems.subscriptions), len(w.box.subscriptions))
    w.run(2 * 3600, step=4.0)
    assert w.cs.state[Direction.CONSUME] is LimitState.UNLIMITED_CONTROLLED
    assert not w.hems._pending and not w.box._pending  # every request was answered
    assert (len(w.hems.subscriptions), len(w.box.subscriptions)) == subscriptions

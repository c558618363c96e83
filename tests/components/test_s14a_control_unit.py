"""The control unit refuses what it must not apply, through the whole CLS path.

    aemp ─I-10─► smgw (CLS proxy) ─I-10─► control_unit ─I-09─► home (HEMS stand-in)

Commands are injected at the aEMP as the CLS management would hand them over; the
answer comes back the same way (status path).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_s14a_world import World, home, world_spec

from bidicharge.components.control_unit import ControlUnit, ControlUnitConfig
from bidicharge.components.interfaces.i10_cls import DimmingCommand, LimitRelease
from bidicharge.components.interfaces.i20_dso import ControlOrder, ControlOutcome
from bidicharge.runtime.component import RunContext
from bidicharge.runtime.trace import TraceRecorder


def order(w: World, bus: str, payload: DimmingCommand | LimitRelease) -> ControlOutcome:
    k = bus.removeprefix("loadbus_")
    gateway = w[f"smgw_{k}"].config.gateway_id
    return w["aemp"].send(ControlOrder(order_id=f"o-{payload.command_id}", unit_id=payload.unit_id,
                                       gateway_id=gateway, channel_id=f"cls.cu_{k}", payload=payload))


def cmd(w: World, command_id: str, limit_W: float, *, start_s: float | None = None, duration_s: float = 900.0,
        unit: str = "unit-loadbus_1_1") -> DimmingCommand:
    return DimmingCommand(command_id=command_id, unit_id=unit, limit_W=limit_W,
                          start_s=w.t if start_s is None else start_s, duration_s=duration_s)


@pytest.fixture(scope="module")
def spec() -> dict:
    return world_spec([home("loadbus_1_1"), home("loadbus_1_2", phases=1, power_W=7400.0),
                       home("loadbus_1_3", route="relay")], controller=False)


def test_a_limit_is_applied_in_the_home_and_the_status_comes_back(spec: dict) -> None:
    w = World(spec)
    w.step(2)
    out = order(w, "loadbus_1_1", cmd(w, "c1", 5000.0))
    assert out.delivered and out.status is not None and out.status.accepted and out.status.reason == "applied"
    assert out.status.limit_W == 5000.0 and out.status.demand_W == 11_000.0
    w.step()
    assert w["home_1_1"].car_power_W == 5000.0
    # the command path and the status path, hop by hop
    path = [(r.interface, r.source, r.target, r.message) for r in w.trace.records()
            if r.message in ("ClsRequest", "DimmingCommand", "PowerLimit", "GridGuardStatus", "CommandStatus",
                             "ClsResponse") and r.time_s == out_time(w)]
    assert ("I-10", "aemp", "smgw_1_1", "ClsRequest") in path
    assert ("I-10", "smgw_1_1", "cu_1_1", "DimmingCommand") in path
    assert ("I-09", "cu_1_1", "home_1_1", "PowerLimit") in path
    assert ("I-09", "home_1_1", "cu_1_1", "GridGuardStatus") in path
    assert ("I-10", "cu_1_1", "smgw_1_1", "CommandStatus") in path
    assert ("I-10", "smgw_1_1", "aemp", "ClsResponse") in path


def out_time(w: World) -> float:
    return w.messages("I-09", "PowerLimit")[-1].time_s


@pytest.mark.parametrize(("bus", "unit", "limit_W", "accepted"), [
    ("loadbus_1_1", "unit-loadbus_1_1", 4199.0, False),   # three-phase: below 4.2 kW
    ("loadbus_1_1", "unit-loadbus_1_1", 4200.0, True),
    ("loadbus_1_2", "unit-loadbus_1_2", 4100.0, False),   # single-phase: 4.2 kW holds too (18.3 A)
    ("loadbus_1_2", "unit-loadbus_1_2", 4200.0, True),
    ("loadbus_1_1", "unit-loadbus_1_1", -1.0, False),
])
def test_a_limit_below_the_guaranteed_minimum_is_refused(spec: dict, bus: str, unit: str, limit_W: float,
                                                         accepted: bool) -> None:
    w = World(spec)
    w.step()
    out = order(w, bus, cmd(w, "c-min", limit_W, unit=unit))
    assert out.delivered and out.status is not None
    assert out.status.accepted is accepted
    k = bus.removeprefix("loadbus_")
    w.step()
    car = w[f"home_{k}"].car_power_W
    if accepted:
        assert car == limit_W
    else:
        assert out.status.reason in ("below_minimum", "negative_limit") and out.status.limit_W is None
        assert car == w[f"home_{k}"].config.car_power_W  # nothing forwarded into the home
        assert w[f"cu_{k}"].log[-1][2] == out.status.reason


def test_replayed_expired_foreign_and_future_commands_are_refused(spec: dict) -> None:
    w = World(spec)
    w.step(3)
    first = cmd(w, "c7", 6000.0)
    assert order(w, "loadbus_1_1", first).status.accepted
    replay = order(w, "loadbus_1_1", first)
    assert replay.status is not None and not replay.status.accepted and replay.status.reason == "replayed"
    expired = order(w, "loadbus_1_1", cmd(w, "c8", 5000.0, start_s=w.t - 1000.0, duration_s=900.0))
    assert expired.status.reason == "expired"
    foreign = order(w, "loadbus_1_1", cmd(w, "c9", 5000.0, unit="unit-loadbus_1_2"))
    assert foreign.status.reason == "unknown-unit"
    future = order(w, "loadbus_1_1", cmd(w, "c10", 5000.0, start_s=w.t + 3600.0))
    assert future.status.reason == "start-in-future"
    release_other = order(w, "loadbus_1_1", LimitRelease(command_id="r1", unit_id="unit-loadbus_1_1",
                                                          releases_command_id="c8", start_s=w.t))
    assert release_other.status.reason == "unknown-command"
    # the limit of c7 is still the one in force
    assert w["cu_1_1"].active.command_id == "c7" and w["home_1_1"].limit_W == 6000.0


def test_a_limit_lapses_without_renewal_and_a_release_lifts_it(spec: dict) -> None:
    w = World(spec)
    w.step()
    assert order(w, "loadbus_1_1", cmd(w, "short", 4200.0, duration_s=120.0)).status.accepted
    w.step(1)
    assert w["home_1_1"].car_power_W == 4200.0
    w.step(2)  # start + 120 s has passed: the control unit lifts the limit by itself
    assert w["cu_1_1"].active is None and w["cu_1_1"].log[-1][2] == "lapsed"
    assert w["home_1_1"].car_power_W == 11_000.0
    assert order(w, "loadbus_1_1", cmd(w, "long", 4200.0)).status.accepted
    released = order(w, "loadbus_1_1", LimitRelease(command_id="rel", unit_id="unit-loadbus_1_1",
                                                     releases_command_id="long", start_s=w.t))
    assert released.status.accepted and released.status.reason == "released" and released.status.limit_W is None
    w.step()
    assert w["home_1_1"].car_power_W == 11_000.0


def test_relay_output_sets_the_largest_contact_step_not_above_the_limit(spec: dict) -> None:
    w = World(spec)
    w.step()
    out = order(w, "loadbus_1_3", cmd(w, "r1", 7000.0, unit="unit-loadbus_1_3"))
    assert out.status.accepted
    contacts = w.messages("I-09", "ContactState")
    assert contacts[-1].target == "home_1_3" and contacts[-1].summary == '{"step":1}'
    w.step()
    assert w["home_1_3"].car_power_W == 4200.0  # the one configured step: 4.2 kW


def test_an_ems_with_two_devices_is_guaranteed_n_times_4_2_kw_times_gzf() -> None:
    config = ControlUnitConfig(unit_id="u", via_ems=True, devices=(
        {"id": "wb", "rated_power_W": 11_000}, {"id": "hp", "kind": "heat_pump", "rated_power_W": 9000}))
    cu = ControlUnit("cu", config, RunContext(trace=TraceRecorder(), rng=np.random.default_rng(0), start_s=0.0,
                                               end_s=60.0, step_s=60.0))
    assert math.isclose(cu.minimum_W, 8400.0)  # BK6-22-300 Anlage 1: 2 × 4.2 kW × GZF(2) = 1.0
    with pytest.raises(ValueError, match="EMS"):  # two devices, direct control: not allowed
        ControlUnit("cu2", ControlUnitConfig(unit_id="u", devices=({"id": "a"}, {"id": "b"})), cu.context)


def test_spine_output_writes_the_lpc_limit_and_the_home_falls_to_failsafe_without_heartbeat() -> None:
    w = World(world_spec([home("loadbus_1_1", route="spine")], controller=False, duration="10min"))
    w.step()
    assert w["cu_1_1"].guard.ready("home_1_1")  # discovery, subscriptions and bindings done at start
    out = order(w, "loadbus_1_1", cmd(w, "s1", 6000.0))
    assert out.status.accepted and out.status.hems_applied and out.status.limit_W == 6000.0
    w.step()
    assert w["home_1_1"].car_power_W == 6000.0
    datagrams = [r for r in w.messages("I-09", "SpineDatagrams") if r.source == "cu_1_1"]
    assert any("loadControlLimitListData" in r.summary for r in datagrams)
    assert not w.messages("I-09", "PowerLimit")  # the limit went as SPINE, not as the in-memory contract
    assert not order(w, "loadbus_1_1", cmd(w, "s2", 4000.0)).status.accepted  # below 4.2 kW: never written
    released = order(w, "loadbus_1_1", LimitRelease(command_id="s3", unit_id="unit-loadbus_1_1",
                                                     releases_command_id="s1", start_s=w.t))
    assert released.status.accepted
    w.step()
    assert w["home_1_1"].car_power_W == 11_000.0
    w["cu_1_1"].guard.stop_heartbeat()  # the control unit's heartbeat stops (LPC scenario 3)
    w.step(3)
    assert w["home_1_1"].car_power_W == 4200.0  # > 120 s without heartbeat: the failsafe limit


def test_spine_renewal_with_the_same_limit_and_duration_keeps_the_home_limited() -> None:
    w = World(world_spec([home("loadbus_1_1", route="spine")], controller=False, duration="30min"))
    w.step()
    t0 = w.t
    assert order(w, "loadbus_1_1", cmd(w, "first", 5000.0, duration_s=600.0)).status.accepted
    w.step(5)  # renewed before its end, same limit and duration as the first write
    assert order(w, "loadbus_1_1", cmd(w, "renewal", 5000.0, duration_s=600.0)).status.accepted
    w.step(10)  # past the first command's end (t0 + 600 s), inside the renewal's
    assert w.t > t0 + 600.0 and w["home_1_1"].car_power_W == 5000.0

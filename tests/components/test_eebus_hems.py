"""The HEMS's EEBUS side: the §14a clip, the optimiser planning with the LPC limit (study), and
the HEMS dialling the wallbox and an Energy Guard over SHIP/TLS on loopback (live).

    guard (test-only Energy Guard) ──EEBUS LPC, I-09──► hems ──EEBUS OPEV/EVCC/…, I-03──► wallbox ── ev
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from typing import Any

import pytest

from bidicharge.components.hems.eebus import clip_to_14a
from bidicharge.protocols.spine import EebusStack, LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import Direction, EnergyGuard
from bidicharge.runtime.clock import AcceleratedClock, Clock
from bidicharge.runtime.component import (
    COMPONENT_TYPES,
    Component,
    ComponentConfig,
    Phase,
    RunContext,
    component_type,
)
from bidicharge.runtime.ports import provides
from bidicharge.runtime.runner import LiveRun
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

GUARD_KIND = "test_eebus_hems_guard"
STANDBY_W = 5.0


@pytest.mark.parametrize(("limit_W", "house_W", "pv_W", "ev_W", "battery_W", "expected"), [
    (None, 500, 0, 11_000, 5_000, (11_000, 5_000)),  # not dimmed
    (4_200, 500, 0, 11_000, 0, (4_200, 0)),  # the car is cut to the allowance
    (4_200, 500, 0, 3_000, 3_000, (3_000, 1_200)),  # the battery is cut first
    (4_200, 500, 0, 6_000, 3_000, (4_200, 0)),
    (4_200, 500, 3_000, 7_000, 0, (7_000, 0)),  # PV on site may be used beyond the allowance
    (4_200, 500, 0, -3_000, 0, (-3_000, 0)),  # discharging is never touched
    (0, 500, 0, 2_000, 1_000, (0, 0)),
])
def test_clip_to_14a(limit_W: float | None, house_W: float, pv_W: float, ev_W: float, battery_W: float,
                     expected: tuple[float, float]) -> None:
    assert clip_to_14a(limit_W=limit_W, house_W=house_W, pv_W=pv_W, ev_grid_W=ev_W,
                       battery_W=battery_W) == pytest.approx(expected)


class GuardConfig(ComponentConfig):
    limit_W: float = 4200.0
    limit_at_s: float = 600.0
    limit_duration_s: float = 7200.0


class LiveGuard(Component):
    """A test-only control unit: an EEBUS Energy Guard on a provided I-09 port, study and live."""

    kind = GUARD_KIND
    catalogue_id = "C-CU"
    Config = GuardConfig
    PORTS = (provides("grid_guard", "I-09", "EEBUS SPINE"),)
    phase = Phase.ENVIRONMENT

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.device = LocalDevice("d:_i:99999_ControlBox", "ElectricitySupplySystem")
        self.node = SpineNode(self.device)
        self.guard = EnergyGuard(self.node, self.device.add_entity("GridGuard"), now=context.start_s)
        self.written_at: float | None = None
        self.ship: Any = None
        self.eebus_ready = asyncio.Event()
        self.eebus_address: tuple[str, int] | None = None
        self._identity: Any = None

    def eebus_node(self) -> SpineNode:
        return self.node

    def eebus_identity(self) -> Any:
        if self._identity is None:
            import datetime

            from bidicharge.transports.ship_websocket import ShipIdentity

            self._identity = ShipIdentity.generate("guard", now=datetime.datetime(2018, 3, 5, tzinfo=datetime.UTC))
        return self._identity

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        self.guard.step(now)
        peer = next(iter(self.guard.systems), None)
        if self.written_at is None and now - self.context.start_s >= self.config.limit_at_s and peer is not None \
                and self.guard.ready(peer):
            self.guard.write_limit(peer, Direction.CONSUME, self.config.limit_W, now,
                                   duration_s=self.config.limit_duration_s)
            self.written_at = now
        if self.ship is not None:
            self.ship.kick()

    async def serve(self, clock: Clock) -> None:
        from bidicharge.transports.ship_websocket import ShipTransport, TrustStore

        trust = TrustStore(path=None)
        for link in self.inbound.get("grid_guard", []):
            trust.add(link.local.eebus_identity().ski)  # type: ignore[attr-defined]
        async with ShipTransport(EebusStack(self.node, local_ship_id="guard"), self.eebus_identity(), trust,
                                 clock=clock.now) as ship:
            self.ship = ship
            self.eebus_address = ("127.0.0.1", await ship.listen("127.0.0.1", 0))
            self.eebus_ready.set()
            await asyncio.Event().wait()


@pytest.fixture(scope="module")
def guard_kind() -> Iterator[str]:
    component_type(LiveGuard)
    yield GUARD_KIND
    COMPONENT_TYPES.pop(GUARD_KIND, None)


def _scenario(strategy: str) -> dict[str, Any]:
    return {
        "name": "eebus_hems", "start": "2018-03-05T20:00:00+01:00", "duration": "4h", "step": "1min", "seed": 3,
        "trace": "full",
        "components": {
            "tariff": {"component": "energy_provider_backend", "config": {"prices": "bundled:de-day-ahead-2018"}},
            "house": {"component": "household_load", "config": {"annual_energy_kWh": 4000, "profile": "H0"}},
            "ev": {"component": "bev", "config": {
                "capacity_kWh": 100, "initial_soc": 0.2, "departure_soc": 0.9, "min_soc": 0.1,
                "trips": [{"days": ["mon"], "depart": "23:30", "arrive": "23:55", "distance_km": 10}]}},
            "wallbox": {"component": "evse", "config": {"max_power_W": 11000, "dc": True, "efficiency": 0.96,
                                                         "standby_W": STANDBY_W},
                        "connect": {"vehicle": "ev.charger"}},
            "meter": {"component": "mmu", "connect": {"plants": ["house.grid"]}},
            "gcp": {"component": "gcp", "config": {"fuse_A": 35},
                    "connect": {"chargers": ["wallbox.grid"], "meter": "meter.gcp"}},
            "guard": {"component": GUARD_KIND},
            "hems": {"component": "hems",
                     "config": {"strategy": strategy, "horizon_h": 6, "ev": {"charge_efficiency": 0.9}},
                     "connect": {"chargers": ["wallbox.eebus"], "meter": "meter.han", "tariff": "tariff.tariff",
                                 "grid_guard": "guard.grid_guard"}},
        },
    }


def test_the_optimiser_plans_with_the_lpc_limit(guard_kind: str) -> None:
    result: StudyResult = run_study(parse_scenario(_scenario("mpc"), file="eebus_hems.yaml", base_dir="."))
    car_W = result.series["wallbox.grid_power_W"] - STANDBY_W
    assert car_W[1:10].min() > 10_000  # before the limit: flat out, the departure needs it
    assert car_W[10:130].max() <= 4_200.0 and car_W[10:130].min() > 3_500.0  # within the 2 h limit
    assert car_W[131:200].min() > 10_000  # after it
    assert result.reports["hems"]["plans"] >= 3  # a re-plan when the limit came and when it went


async def _until(cond: Any, timeout_s: float = 90.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not cond():  # noqa: ASYNC110 - polling state that other tasks change
            await asyncio.sleep(0.05)


async def _stranger_dials(wallbox: Any) -> str:
    import datetime

    from bidicharge.transports.ship_websocket import ShipIdentity, ShipTransport, TrustStore

    node = SpineNode(LocalDevice("d:_i:666_Stranger", "EnergyManagementSystem"))
    identity = ShipIdentity.generate("stranger", now=datetime.datetime(2018, 3, 5, tzinfo=datetime.UTC))
    host, port = wallbox.eebus_address
    async with ShipTransport(EebusStack(node, local_ship_id="stranger"), identity, TrustStore(path=None)) as ship:
        await ship.dial(host, port, wallbox.eebus_identity().ski)
        await asyncio.sleep(1.0)  # hello: the wallbox holds us in "pending"
        assert not node.peers()
    return str(identity.ski)


async def test_live_the_hems_dials_wallbox_and_guard_over_ship_and_obeys_the_limit(guard_kind: str) -> None:
    sc = parse_scenario(_scenario("rules"), file="live.yaml", base_dir=".")
    live = LiveRun(sc, AcceleratedClock(start_s=sc.start_s, factor=20.0))
    hems: Any = live.components["hems"]
    wallbox: Any = live.components["wallbox"]
    guard: Any = live.components["guard"]
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(live.run())
        await _until(lambda: hems.eebus is not None and hems.eebus.chargers()
                     and hems.eebus.cem.ev(hems.eebus.chargers()[0]).soc is not None)
        await _until(lambda: any(c is not None for c in wallbox.eebus.server.current_limits_A()[0]))
        assert hems.eebus.memory is None  # nothing went through memory
        await _until(lambda: guard.written_at is not None and hems.limit_14a_W == 4200.0)
        await _until(lambda: 0 < wallbox.grid_power_W - STANDBY_W <= 4200.0)
        # trust by SKI: a stranger reaches the wallbox's TLS port but never its SPINE node
        stranger = await _stranger_dials(wallbox)
        assert stranger not in wallbox.eebus.node.peers()
        assert hems.eebus_identity().ski in wallbox.eebus.node.peers()
        runner.cancel()
    records = [r for r in live.trace if r.protocol == "EEBUS SPINE"]
    assert {r.interface for r in records} == {"I-03", "I-09"}
    assert any(r.interface == "I-09" and r.source == "guard" and r.message == "loadControlLimitListData"
               and r.summary.startswith("write") for r in records)
    assert any(r.interface == "I-03" and r.source == "hems" and r.message == "loadControlLimitListData"
               for r in records)
    assert math.isclose(hems.limit_14a_W, 4200.0)

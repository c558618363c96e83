"""A small §14a world for the component tests, and the tests of its wiring.

    sml_meter ─I-15─ smgw ─I-16─ pemp ─I-35─ dso_backend ─I-33─ dso_metering
                      │ I-17        I-31 │   │ I-20 / I-43
                     gwa     grid_controller  cls_management ─I-29─ aemp ─I-10─ smgw ─I-10─ control_unit ─I-09─ home
                                 │ I-27
                           control_relays ─I-28─ home (ripple)

`World` assembles a scenario built from a few homes on the Kerber Dorfnetz (the other load
buses draw `other_W` each) and steps it minute by minute, so a test can inject bad input
between steps and look at components, reports and the trace.
"""

from __future__ import annotations

from typing import Any

from bidicharge.components.interfaces.i17_gwa import AdministrationStatusRequest
from bidicharge.runtime.assembly import assemble, step_order
from bidicharge.runtime.clock import ManualClock
from bidicharge.runtime.component import Component
from bidicharge.runtime.scenario import Scenario, parse_scenario
from bidicharge.runtime.trace import TraceRecorder

START = "2024-01-17T18:00:00+01:00"
T0 = 1705510800.0  # START in seconds


def home(bus: str, *, car: bool = True, route: str = "eebus", phases: int = 3, power_W: float = 11_000.0,
         base_W: float = 2000.0, silent_from: str | None = None, serial: int | None = None) -> dict[str, Any]:
    return {"bus": bus, "car": car, "route": route, "phases": phases, "power_W": power_W, "base_W": base_W,
            "silent_from": silent_from, "serial": serial}


def world_spec(homes: list[dict[str, Any]], *, other_W: float = 7000.0, duration: str = "20min",
               controller: bool = True, extra: dict[str, Any] | None = None,
               smgw: dict[str, Any] | None = None) -> dict[str, Any]:
    comps: dict[str, Any] = {}
    points = []
    gateways, aemp_gateways, ripple_homes = [], [], []
    for i, h in enumerate(homes):
        k = h["bus"].removeprefix("loadbus_")
        serial = h["serial"] if h["serial"] is not None else 20_000 + i
        cfg: dict[str, Any] = {"household_id": h["bus"], "base_load_W": h["base_W"], "base_noise": 0.0}
        if h["car"]:
            cfg |= {"car_power_W": h["power_W"], "car_phases": h["phases"], "car_arrives_at": START,
                    "car_energy_Wh": 40_000}
        comps[f"home_{k}"] = {"component": "household_14a", "config": cfg,
                              "connect": {"meter": f"meter_{k}.han", "grid": "grid.connections"}}
        meter_cfg: dict[str, Any] = {"serial": serial}
        if h["silent_from"]:
            meter_cfg["silent_from"] = h["silent_from"]
        comps[f"meter_{k}"] = {"component": "sml_meter", "config": meter_cfg}
        gw = f"EBZ{90000 + i:011d}"
        connect: dict[str, Any] = {"meters": [f"meter_{k}.lmn"], "emts": ["pemp.meter_data"]}
        point: dict[str, Any] = {"household": h["bus"], "serial": serial, "gateway": gw}
        if h["car"]:
            point["devices"] = [{"id": f"wb_{k}", "rated_power_W": h["power_W"], "phases": h["phases"]}]
            if h["route"] == "ripple":
                point["ripple_group"] = "rs-1"
                ripple_homes.append(f"home_{k}.relay_input")
            else:
                point["control_unit"] = f"cu_{k}"
                connect["cls_devices"] = [f"cu_{k}.cls"]
                aemp_gateways.append(f"smgw_{k}.cls")
                comps[f"cu_{k}"] = {"component": "control_unit",
                                    "config": {"unit_id": f"unit-{h['bus']}", "output": h["route"],
                                               "devices": [{"id": f"wb_{k}", "rated_power_W": h["power_W"],
                                                            "phases": h["phases"]}]},
                                    "connect": {"home": f"home_{k}.grid_guard"}}
        comps[f"smgw_{k}"] = {"component": "smgw", "config": {"gateway_id": gw, **(smgw or {})}, "connect": connect}
        gateways.append(f"smgw_{k}.admin")
        points.append(point)
    comps["grid"] = {"component": "lv_mv_grid", "config": {"other_households_W": other_W}}
    comps["grid_controller"] = {"component": "grid_controller", "config": {"enabled": controller},
                                "connect": {"dso": "dso.grid_controller",
                                            **({"relays": ["ripple_rs1.ripple"]} if ripple_homes else {})}}
    if ripple_homes:
        comps["ripple_rs1"] = {"component": "control_relays", "config": {"group": "rs-1", "switching_delay_s": 90},
                               "connect": {"homes": ripple_homes}}
    comps["gwa"] = {"component": "gwa", "connect": {"gateways": gateways}}
    comps["pemp"] = {"component": "pemp", "connect": {"dso": "dso.meter_data"}}
    comps["dso"] = {"component": "dso_backend",
                    "connect": {"metering": "dso_metering.master_data", "cls": "cls_management.dso",
                                "grid": "grid.scada"}}
    comps["aemp"] = {"component": "aemp", "connect": {"gateways": aemp_gateways}}
    comps["cls_management"] = {"component": "cls_management", "connect": {"aemp": "aemp.orders"}}
    comps["dso_metering"] = {"component": "dso_metering", "config": {"points": points}}
    comps |= extra or {}
    return {"name": "s14a_world", "start": START, "duration": duration, "step": "1min", "seed": 3,
            "components": comps}


def build(spec: dict[str, Any]) -> Scenario:
    return parse_scenario(spec, file="<s14a world>", base_dir=".")


class World:
    """The scenario's components, stepped by hand (study-mode order)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.scenario = build(spec)
        self.trace = TraceRecorder()
        self.clock = ManualClock(start_s=self.scenario.start_s)
        self.components = assemble(self.scenario, self.trace, self.clock)
        self.order = step_order(self.components)
        self.t = self.scenario.start_s
        for comp in self.order:
            comp.start(self.t)

    def __getitem__(self, name: str) -> Any:
        return self.components[name]

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.clock.set(self.t)
            for comp in self.order:
                comp.step(self.t, self.scenario.step_s)
            self.t += self.scenario.step_s

    def messages(self, interface: str, message: str) -> list[Any]:
        return self.trace.select(interface=interface, message=message)


def of(components: dict[str, Component], kind: str) -> list[Any]:
    return [c for c in components.values() if type(c).kind == kind]


# ---- the world itself ------------------------------------------------------------------


def test_every_gateway_is_provisioned_by_the_gwa_with_a_signed_profile() -> None:
    w = World(world_spec([home("loadbus_1_1"), home("loadbus_1_2", car=False)]))
    results = w.messages("I-17", "ProfileUpdateResult")
    assert len(results) == 2 and all('"applied":true' in r.summary for r in results)
    assert w["smgw_1_1"].core.profile.cls[0].channel_id == "cls.cu_1_1"
    assert w["smgw_1_2"].core.profile.cls == ()  # no control unit behind that gateway


def test_meter_values_reach_the_dso_as_taf10_through_sealed_messages() -> None:
    w = World(world_spec([home("loadbus_1_1")], controller=False))
    w.step(3)
    pushes = w.messages("I-16", "MeterDataPush")
    assert pushes and all('"cms":"<' in p.summary for p in pushes)  # CMS bytes on the wire, not values
    assert w.messages("I-15", "SmlTelegram")
    assert w["pemp"].refused == []
    # 2 kW base + 11 kW car, measured by the mMU, sealed by the gateway, opened by the pEMP
    assert w["dso"].last_good["loadbus_1_1"] == 13_000.0


def test_the_gwa_reports_its_administration_to_the_mpo_and_taf9_reaches_the_pemp() -> None:
    spec = world_spec([home("loadbus_1_1"), home("loadbus_1_2", car=False)], controller=False, duration="5min")
    spec["components"]["gwa"]["config"] = {"taf9_interval_s": 60}
    w = World(spec)
    status = w["gwa"].handle("mpo", AdministrationStatusRequest(), link=None)
    by_id = {g.gateway_id: g for g in status.gateways}
    first = by_id[w["smgw_1_1"].config.gateway_id]
    assert first.profile_version == 1 and first.last_result == "applied" and first.tafs == (7, 9, 10)
    assert first.cls_channels == ("cls.cu_1_1",) and by_id[w["smgw_1_2"].config.gateway_id].cls_channels == ()
    w.step(2)
    assert any(d.taf.value == 9 for d in w["pemp"].documents)

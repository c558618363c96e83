"""Write `src/bidicharge/scenarios/dimming_14a.yaml`: §14a EnWG in a German village grid.

    python tools/gen_dimming_14a.py [--check]

The Kerber Dorfnetz (400 kVA, 57 load buses) on a winter Wednesday evening: 34 homes (60 %)
get home at about 18:00 and plug in a car (32 × 11 kW three-phase, 2 × 7.4 kW single-phase).
Every home has an iMSys (sml_meter + smgw: TAF 10 every minute, TAF 7 to the DSO's pEMP).

* 30 car homes are real EEBUS homes behind a control unit (`output: spine`):
  control unit ─EEBUS LPC (I-09)─► hems ─EEBUS OPEV/CEVC (I-03)─► evse ─I-01─► bev, with the
  house (`household_load`, a `heat_pump` in every third one) on the meter, and the `gcp`
  feeding the grid node (I-38). Most HEMS charge on arrival (`strategy: none`, what a plugged
  car does today); every fifth runs the `rules` strategy (charges by the departure).
* 4 car homes are legacy: 2 control units with relay contacts and 2 ripple-control
  receivers (I-27/I-28). Relay contacts do not reach the real HEMS/wallbox yet (neither has a
  contact input), so these stay `household_14a` stand-ins (base load + one car).
* 23 homes without a car are `household_14a` with a base load only.

Cars leave the next morning (06:00–07:45) with the owner's target 80 %; one single-phase
car (home 5_6, 100 kWh at 10 %, leaving 05:30) cannot reach it even undimmed — on purpose,
so the test shows that such a car is reported, not hidden.

Deterministic (seeded); `--check` fails when the file on disk differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "bidicharge" / "scenarios" / "dimming_14a.yaml"
SEED = 14

# the Dorfnetz's load buses per feeder (physics.lv_grid: 9, 9, 16, 12, 7, 4 = 57)
FEEDERS = (9, 9, 16, 12, 7, 4)
CAR_HOMES = (
    "1_2 1_4 1_6 1_7 1_9 2_2 2_3 2_5 2_7 2_8 3_1 3_3 3_4 3_6 3_8 3_9 3_11 3_13 3_14 3_16 "
    "4_2 4_3 4_5 4_7 4_8 4_10 4_12 5_1 5_3 5_5 5_6 6_1 6_3 6_4"
).split()
SINGLE_PHASE = {"2_7", "5_6"}  # 7.4 kW, 32 A on one phase
RELAY_HOMES = {"2_2", "4_2"}  # control unit with relay contacts, legacy HEMS
RIPPLE_HOMES = {"3_3", "5_1"}  # only a ripple-control receiver (group rs-1)
MODULE_3 = {"1_4", "1_7", "2_7", "3_1", "3_4", "3_13", "3_16", "4_3", "4_12", "5_3", "5_6"}
UNREACHABLE = "5_6"  # 100 kWh at 10 %, 7.4 kW, leaves 05:30: short even at full power
ARRIVALS_MIN = (2, 5, -3, 4, -4, -1, -5, 1, -2, 0, 3, 4, -1, 2, 5, 1, 4, -4, 3, -5, -2, 5, -3, 0, -4, -1, 2, -2,
                1, 5, 0, 3, -5, 2)  # minutes after 18:00, per car home in order


def homes() -> list[str]:
    return [f"{f}_{k}" for f, n in enumerate(FEEDERS, start=1) for k in range(1, n + 1)]


def flow(d: dict[str, object]) -> str:
    """One YAML flow mapping (the scenario's house style: one component per line)."""
    parts = []
    for k, v in d.items():
        if isinstance(v, dict):
            parts.append(f"{k}: {flow(v)}")
        elif isinstance(v, list | tuple):
            parts.append(f"{k}: [" + ", ".join(flow(x) if isinstance(x, dict) else str(x) for x in v) + "]")
        elif isinstance(v, bool):
            parts.append(f"{k}: {'true' if v else 'false'}")
        elif isinstance(v, str) and (":" in v or v.startswith(("0", "1", "2"))):
            parts.append(f'{k}: "{v}"')
        else:
            parts.append(f"{k}: {v}")
    return "{" + ", ".join(parts) + "}"


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def generate() -> str:
    rng = np.random.default_rng(SEED)
    lines = HEADER.splitlines()
    lines.append("components:")
    aemp_gateways, gwa_gateways, points = [], [], []
    ripple_homes = []
    arrival = dict(zip(CAR_HOMES, ARRIVALS_MIN, strict=True))
    for i, h in enumerate(homes()):
        serial, gateway = 10000 + i, f"EBZ{i + 1:011d}"
        base_W = 1600 + (397 * i) % 900
        car = h in arrival
        single = h in SINGLE_PHASE
        power_W, phases = (7400, 1) if single else (11000, 3)
        device = {"id": f"wallbox_{h}", "rated_power_W": power_W, "phases": phases}
        point: dict[str, object] = {"household": f"loadbus_{h}", "serial": serial, "gateway": gateway}
        smgw_connect: dict[str, object] = {"meters": [f"meter_{h}.lmn"], "emts": ["pemp.meter_data"]}
        eebus_home = car and h not in RELAY_HOMES and h not in RIPPLE_HOMES
        meter_connect: dict[str, object] = {}
        if car:
            capacity_kWh = 100 if h == UNREACHABLE else int(rng.choice((58, 64, 77, 82)))
            soc0 = 0.10 if h == UNREACHABLE else round(float(rng.uniform(0.2, 0.45)), 2)
            depart = 5 * 60 + 30 if h == UNREACHABLE else int(6 * 60 + 15 * rng.integers(0, 8))
            arrive_min = 18 * 60 + arrival[h]
            if eebus_home:
                lines += real_home(h, capacity_kWh=capacity_kWh, soc0=soc0, depart_min=depart,
                                   arrive_min=arrive_min, power_W=power_W, phases=phases, base_W=base_W,
                                   heat_pump=len(aemp_gateways) % 3 == 2, rules=len(aemp_gateways) % 5 == 4)
                meter_connect = {"plants": [f"house_{h}.grid"] + ([f"heatpump_{h}.grid"]
                                                                 if len(aemp_gateways) % 3 == 2 else [])}
            else:
                energy_Wh = round(capacity_kWh * 1000 * (0.8 - soc0) / 0.94)
                lines.append(f"  home_{h}: " + flow({
                    "component": "household_14a",
                    "config": {"household_id": f"loadbus_{h}", "base_load_W": base_W, "car_power_W": power_W,
                               "car_phases": phases, "car_arrives_at": f"2024-01-17T{hhmm(arrive_min)}:00+01:00",
                               "car_energy_Wh": energy_Wh},
                    "connect": {"meter": f"meter_{h}.han", "grid": "grid.connections"}}))
            point["devices"] = [device]
            point["modules"] = ["module_1", "module_3"] if h in MODULE_3 else ["module_1"]
            if h in RIPPLE_HOMES:
                point = {**point, "ripple_group": "rs-1"}
                ripple_homes.append(f"home_{h}.relay_input")
            else:
                point = {**point, "control_unit": f"cu_{h}"}
                smgw_connect["cls_devices"] = [f"cu_{h}.cls"]
                aemp_gateways.append(f"smgw_{h}.cls")
                cu: dict[str, object] = {
                    "component": "control_unit",
                    "config": {"unit_id": f"unit-loadbus_{h}", "output": "spine" if eebus_home else "relay",
                               "devices": [device]}}
                if not eebus_home:
                    cu["connect"] = {"home": f"home_{h}.grid_guard"}
                lines.append(f"  cu_{h}: " + flow(cu))
            # keep the master data's key order: household, serial, gateway, unit/group, devices, modules
            order = ("household", "serial", "gateway", "control_unit", "ripple_group", "devices", "modules")
            point = {k: point[k] for k in order if k in point}
        else:
            lines.append(f"  home_{h}: " + flow({
                "component": "household_14a", "config": {"household_id": f"loadbus_{h}", "base_load_W": base_W},
                "connect": {"meter": f"meter_{h}.han", "grid": "grid.connections"}}))
        meter = {"component": "sml_meter", "config": {"serial": serial}}
        if meter_connect:
            meter["connect"] = meter_connect
        lines.append(f"  meter_{h}: " + flow(meter))
        lines.append(f"  smgw_{h}: " + flow({"component": "smgw", "config": {"gateway_id": gateway},
                                             "connect": smgw_connect}))
        gwa_gateways.append(f"smgw_{h}.admin")
        points.append(point)
    lines += [
        "  grid: {component: lv_mv_grid, config: {network: dorfnetz}}",
        "  grid_controller: {component: grid_controller, config: {enabled: true},",
        "                    connect: {dso: dso.grid_controller, relays: [ripple_rs1.ripple]}}",
        "  ripple_rs1: {component: control_relays, config: {group: rs-1, switching_delay_s: 30},",
        f"               connect: {{homes: [{', '.join(ripple_homes)}]}}}}",
        "  pemp: {component: pemp, connect: {dso: dso.meter_data}}",
        "  dso: {component: dso_backend, connect: {metering: dso_metering.master_data, cls: cls_management.dso,"
        " aemp: aemp.dso, grid: grid.scada}}",
        "  aemp: {component: aemp, connect: {gateways: [",
        "    " + ", ".join(aemp_gateways) + "]}}",
        "  cls_management: {component: cls_management, connect: {aemp: aemp.orders}}",
        "  gwa: {component: gwa, config: {pemp: pemp, aemp: aemp}, connect: {gateways: [",
        "    " + ", ".join(gwa_gateways) + "]}}",
        "  dso_metering:",
        "    component: dso_metering",
        "    config:",
        "      points:",
    ]
    lines += [f"        - {flow(p)}" for p in points]
    return "\n".join(lines) + "\n"


def real_home(h: str, *, capacity_kWh: int, soc0: float, depart_min: int, arrive_min: int,
              power_W: int, phases: int, base_W: int, heat_pump: bool, rules: bool) -> list[str]:
    """hems + evse + bev + household_load (+ heat_pump) + gcp for one EEBUS home."""
    # the drive home leaves at 17:40, the scenario's start (its target is no owner's wish: 5 %); the next morning's trip
    # carries the owner's departure target
    trips = [
        {"days": ["wed"], "depart": "17:40", "arrive": hhmm(arrive_min), "distance_km": 10, "target_soc": 0.05},
        {"days": ["thu"], "depart": hhmm(depart_min), "arrive": "17:30", "distance_km": 45},
    ]
    annual_kWh = round(base_W * 4.0)  # H0 on a January evening ≈ 2 × its mean: about the stand-ins' base load
    out = [
        f"  hems_{h}: " + flow({
            "component": "hems",
            "config": {"strategy": "rules" if rules else "none", "contractual_max_W": power_W,
                       "ev": {"capacity_kWh": capacity_kWh, "wallbox_efficiency": 0.99, "wallbox_standby_W": 5.0}},
            "connect": {"chargers": [f"wallbox_{h}.eebus"], "meter": f"meter_{h}.han",
                        "grid_guard": f"cu_{h}.energy_manager"}}),
        f"  car_{h}: " + flow({
            "component": "bev",
            "config": {"capacity_kWh": capacity_kWh, "initial_soc": round(soc0 + 10 * 0.18 / capacity_kWh, 3),
                       "max_charge_W": power_W, "departure_soc": 0.8, "min_soc": 0.1, "trips": trips}}),
        # An AC wallbox passes AC to the car's on-board charger, whose losses are the car's own
        # (its charge_efficiency); the wallbox's are about 1 %. So its minimum, 6 A x 3 x 230 V =
        # 4,140 W, stays under the §14a 4.2 kW at the grid (with 0.96 it was 4,312 W, above the
        # allowance, and the HEMS paused every dimmed car instead of charging it at 6 A).
        f"  wallbox_{h}: " + flow({
            "component": "evse",
            "config": {"max_power_W": power_W, "phases": phases, "bidirectional": False, "efficiency": 0.99},
            "connect": {"vehicle": f"car_{h}.charger"}}),
        f"  house_{h}: " + flow({"component": "household_load",
                                 "config": {"annual_energy_kWh": annual_kWh, "profile": "H0"}}),
    ]
    if heat_pump:
        out.append(f"  heatpump_{h}: " + flow({"component": "heat_pump",
                                               "config": {"rated_electric_W": 3000, "mean_outside_C": 0.0}}))
    out.append(f"  gcp_{h}: " + flow({
        "component": "gcp", "config": {"fuse_A": 50, "household_id": f"loadbus_{h}"},
        "connect": {"chargers": [f"wallbox_{h}.grid"], "meter": f"meter_{h}.gcp", "grid": "grid.connections"}}))
    return out


HEADER = """\
# §14a EnWG in a German village grid. GENERATED by tools/gen_dimming_14a.py: edit the tool, not this file.
#
# Kerber Dorfnetz (400 kVA, 57 homes), a winter Wednesday evening: 34 of 57 homes (60 %)
# plug in a car at about 18:00 (11 kW three-phase; two 7.4 kW single-phase) and leave the next
# morning. Every home has an iMSys (sml_meter + smgw: TAF 10 every minute, TAF 7 to the DSO's
# pEMP). 30 car homes are real EEBUS homes: control unit -EEBUS LPC (I-09)-> hems -EEBUS (I-03)->
# evse -> bev, with household_load (+ heat_pump) and a gcp on the grid node. 2 car homes have a
# control unit with relay contacts and 2 only a ripple-control receiver (I-27/I-28): legacy
# household_14a stand-ins, as are the 23 homes without a car (base load only).
# Without control (grid_controller.enabled: false) the transformer overloads.
name: dimming_14a
description: "Dorfnetz at 18:00, 60 % of homes charging 11 kW cars, DSO dims via SMGW/CLS/control unit and the HEMS (§14a EnWG)"
start: 2024-01-17T17:40:00+01:00
duration: 14h
step: 1min
seed: 14
trace: full"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the scenario file is not up to date")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run tools/gen_dimming_14a.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

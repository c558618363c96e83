"""Key figures of a home study, computed from its time series and component reports.

Definitions (energies in kWh over the study span):
- PV generation: energy the PV systems fed into the house grid.
- Grid import / export: the GCP's exchange with the grid.
- Self-consumption = (PV generation − export) / PV generation.
- Self-sufficiency (autarky) = 1 − import / consumption, where consumption = household +
  heat pump + EVSE draw when charging (the grid-side energy of the car) + home-battery and
  stage losses implicitly (they raise import).
- Energy cost = Σ import × dynamic price − Σ export × feed-in rate (EUR).
- EV charged / discharged: at the vehicle battery's terminals.
- Departures: per trip, the SoC at departure against the owner's target.
- Equivalent full cycles: (charged + discharged) / (2 × capacity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bidicharge.runtime.study import StudyResult


def _sum_kWh(values: np.ndarray, dt_s: float) -> float:
    return float(np.sum(values) * dt_s / 3.6e6)


def home_kpis(result: StudyResult) -> dict[str, Any]:
    dt = result.scenario.step_s
    s = result.series
    zeros = np.zeros(len(result.times_s))
    grid = sum((s[f"{g}.grid_power_W"] for g in result.of_kind("gcp")), zeros)
    imp = np.clip(grid, 0, None)
    exp = np.clip(-grid, 0, None)
    pv = sum((-s[f"{p}.power_W"] for p in result.of_kind("pv_system")), zeros)
    house = sum((s[f"{h}.power_W"] for h in result.of_kind("household_load")), zeros)
    hp = sum((s[f"{h}.power_W"] for h in result.of_kind("heat_pump")), zeros)
    evse_grid = sum((s[f"{e}.grid_power_W"] for e in result.of_kind("evse")), zeros)
    consumption = house + hp + np.clip(evse_grid, 0, None)
    k: dict[str, Any] = {
        "span_days": result.scenario.duration_s / 86400.0,
        "pv_generation_kWh": _sum_kWh(pv, dt),
        "household_kWh": _sum_kWh(house, dt),
        "grid_import_kWh": _sum_kWh(imp, dt),
        "grid_export_kWh": _sum_kWh(exp, dt),
        "peak_import_kW": float(imp.max() / 1000.0) if len(imp) else 0.0,
    }
    if result.of_kind("heat_pump"):
        k["heat_pump_kWh"] = _sum_kWh(hp, dt)
    pv_kWh = k["pv_generation_kWh"]
    cons_kWh = _sum_kWh(consumption, dt)
    k["consumption_kWh"] = cons_kWh
    k["self_consumption"] = (pv_kWh - k["grid_export_kWh"]) / pv_kWh if pv_kWh > 0 else None
    k["self_sufficiency"] = 1.0 - k["grid_import_kWh"] / cons_kWh if cons_kWh > 0 else None
    tariffs = result.of_kind("energy_provider_backend")
    if tariffs:
        price = s[f"{tariffs[0]}.import_EUR_per_kWh"]
        feed = s[f"{tariffs[0]}.feed_in_EUR_per_kWh"]
        k["energy_cost_EUR"] = float(np.sum(imp * price - exp * feed) * dt / 3.6e6)
        k["import_cost_EUR"] = float(np.sum(imp * price) * dt / 3.6e6)
        k["feed_in_revenue_EUR"] = float(np.sum(exp * feed) * dt / 3.6e6)
    evs = result.of_kind("bev")
    departures: list[dict[str, Any]] = []
    charged = discharged = efc = driven = 0.0
    for name in evs:
        rep = result.reports[name]
        charged += rep["charged_Wh"] / 1000.0
        discharged += rep["discharged_Wh"] / 1000.0
        efc += rep["equivalent_full_cycles"]
        driven += rep["driven_Wh"] / 1000.0
        departures.extend({"ev": name, **d} for d in rep["departures"])
    if evs:
        k["ev_charged_kWh"] = charged
        k["ev_discharged_kWh"] = discharged
        k["ev_driven_kWh"] = driven
        k["ev_equivalent_full_cycles"] = efc
        k["departures"] = len(departures)
        k["departures_met"] = sum(1 for d in departures if d["met"])
        k["departure_misses"] = [d for d in departures if not d["met"]]
    batteries = result.of_kind("home_battery")
    if batteries:
        k["battery_equivalent_full_cycles"] = sum(result.reports[b]["equivalent_full_cycles"] for b in batteries)
    gcps = result.of_kind("gcp")
    if gcps:
        k["overload_steps"] = sum(result.reports[g]["overload_steps"] for g in gcps)
    k["trace_records"] = len(result.trace)
    return k


KPI_LABELS: dict[str, tuple[str, str]] = {
    "span_days": ("Span", "d"),
    "pv_generation_kWh": ("PV generation", "kWh"),
    "household_kWh": ("Household demand", "kWh"),
    "heat_pump_kWh": ("Heat pump", "kWh"),
    "consumption_kWh": ("Consumption (house + HP + EV)", "kWh"),
    "grid_import_kWh": ("Grid import", "kWh"),
    "grid_export_kWh": ("Grid export", "kWh"),
    "peak_import_kW": ("Peak import", "kW"),
    "self_consumption": ("Self-consumption", "%"),
    "self_sufficiency": ("Self-sufficiency (autarky)", "%"),
    "energy_cost_EUR": ("Energy cost (net of feed-in)", "EUR"),
    "ev_charged_kWh": ("EV charged", "kWh"),
    "ev_discharged_kWh": ("EV discharged", "kWh"),
    "ev_driven_kWh": ("EV driven", "kWh"),
    "ev_equivalent_full_cycles": ("EV equivalent full cycles", ""),
    "battery_equivalent_full_cycles": ("Home battery equivalent full cycles", ""),
    "departures_met": ("Departures met", ""),
    "overload_steps": ("Steps over the main fuse", ""),
    "trace_records": ("Trace records", ""),
}


def format_kpi(key: str, value: Any, kpis: dict[str, Any]) -> str:
    if value is None:
        return "–"
    unit = KPI_LABELS.get(key, ("", ""))[1]
    if key == "departures_met":
        return f"{value} / {kpis.get('departures', 0)}"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if isinstance(value, float):
        return f"{value:,.2f} {unit}".strip()
    return f"{value} {unit}".strip()

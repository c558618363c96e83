"""Key figures of a study, computed from its time series and component reports.

`study_kpis` gives each part of a scenario its own section: the home (when it has a grid
connection point, PV, a household or a home battery), the low-voltage grid under §14a, the
fleet of a technical aggregator, and the markets/frequency side. A scenario without homes
gets no home figures (an empty "self-sufficiency" of a grid study would mislead).

Home definitions (energies in kWh over the study span):
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


HOME_KINDS = ("gcp", "pv_system", "household_load", "home_battery", "hems")


def grid_kpis(result: StudyResult) -> dict[str, Any]:
    """The low-voltage grid (`lv_mv_grid`) and the DSO's §14a log (`dso_backend`)."""
    k: dict[str, Any] = {}
    grids = result.of_kind("lv_mv_grid")
    if grids:
        s = result.series
        k["peak_transformer_loading_pct"] = max(result.reports[g]["peak_transformer_loading_pct"] for g in grids)
        k["transformer_overload_min"] = sum(result.reports[g]["overload_minutes"] for g in grids)
        k["min_voltage_pu"] = min(float(np.min(s[f"{g}.vmin_pu"])) for g in grids) if len(result.times_s) else None
    for dso in result.of_kind("dso_backend"):
        rep = result.reports[dso]
        log = rep["dimming_log"]
        k["dimming_events"] = k.get("dimming_events", 0) + len(log)
        k["dimmed_households"] = k.get("dimmed_households", 0) + len({h for r in log for h in r["households"]})
        k["energy_not_served_kWh"] = k.get("energy_not_served_kWh", 0.0) + sum(
            r["energy_not_served_Wh"] for r in log) / 1000.0
        k["compensation_14a_EUR"] = k.get("compensation_14a_EUR", 0.0) + sum(
            c.get("total_EUR", 0.0) for c in rep["compensation"].values())
    return k


def fleet_kpis(result: StudyResult) -> dict[str, Any]:
    """A technical aggregator's pool: departures, V2G energy, how well it followed what it sold."""
    k: dict[str, Any] = {}
    dt = result.scenario.step_s
    for agg in result.of_kind("tech_aggregator"):
        s = result.series
        sold, pool = s[f"{agg}.sold_W"], s[f"{agg}.pool_W"]
        k["fleet_cars"] = k.get("fleet_cars", 0) + int(result.reports[agg]["cars"])
        k["fleet_sold_kWh"] = k.get("fleet_sold_kWh", 0.0) + _sum_kWh(sold, dt)
        k["fleet_delivered_kWh"] = k.get("fleet_delivered_kWh", 0.0) + _sum_kWh(pool, dt)
        k["fleet_tracking_rmse_kW"] = float(np.sqrt(np.mean((pool - sold) ** 2)) / 1000.0) if len(pool) else 0.0
    cars = [c for f in result.of_kind("fleet_bev") for c in result.reports[f]["cars"]]
    if cars:
        departed = [c for c in cars if c["departed"]]
        k["fleet_departures"] = len(departed)
        k["fleet_departures_met"] = sum(1 for c in departed if c["departure_soc"] >= c["target_soc"] - 1e-3)
        k["fleet_discharged_kWh"] = sum(c["discharged_Wh"] for c in cars) / 1000.0
    return k


def market_kpis(result: StudyResult) -> dict[str, Any]:
    """Frequency (`hv_grid`) and the commercial aggregator's pool in the markets."""
    k: dict[str, Any] = {}
    s = result.series
    for g in result.of_kind("hv_grid"):
        f = s[f"{g}.frequency_Hz"]
        if len(f):
            k["frequency_min_Hz"] = float(np.min(f))
            k["frequency_max_Hz"] = float(np.max(f))
    for agg in result.of_kind("comm_aggregator"):
        rep = result.reports[agg]
        k["pool_cars"] = k.get("pool_cars", 0) + int(rep["cars"])
        k["pool_cars_at_target"] = k.get("pool_cars_at_target", 0) + int(rep["cars_at_target"])
        k["pool_revenue_EUR"] = k.get("pool_revenue_EUR", 0.0) + float(rep["revenue_EUR"])
        k["pool_fcr_max_MW"] = max([k.get("pool_fcr_max_MW", 0.0), *rep["fcr_MW_by_block"].values()])
        k["pool_shortfall_kWh"] = k.get("pool_shortfall_kWh", 0.0) + float(rep["shortfall_Wh"]) / 1000.0
    return k


def study_kpis(result: StudyResult) -> dict[str, Any]:
    """The sections that apply to this scenario, in one flat table (home first)."""
    k: dict[str, Any] = {"span_days": result.scenario.duration_s / 86400.0}
    if any(result.of_kind(kind) for kind in HOME_KINDS):
        k.update(home_kpis(result))
    k.update(grid_kpis(result))
    k.update(fleet_kpis(result))
    k.update(market_kpis(result))
    k.pop("trace_records", None)
    k["trace_records"] = len(result.trace)  # last row of the table
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
    "peak_transformer_loading_pct": ("Peak transformer loading", "%"),
    "transformer_overload_min": ("Transformer above 100 %", "min"),
    "min_voltage_pu": ("Lowest node voltage", "pu"),
    "dimming_events": ("§14a dimming events", ""),
    "dimmed_households": ("Households dimmed", ""),
    "energy_not_served_kWh": ("Energy not served by dimming", "kWh"),
    "compensation_14a_EUR": ("§14a compensation (modules 1–3)", "EUR"),
    "fleet_cars": ("Fleet cars", ""),
    "fleet_sold_kWh": ("Fleet schedule sold (net)", "kWh"),
    "fleet_delivered_kWh": ("Fleet delivered (net)", "kWh"),
    "fleet_tracking_rmse_kW": ("Fleet tracking error (RMSE)", "kW"),
    "fleet_departures": ("Fleet departures", ""),
    "fleet_departures_met": ("Fleet departures with target", ""),
    "fleet_discharged_kWh": ("Fleet V2G discharged", "kWh"),
    "frequency_min_Hz": ("Lowest frequency", "Hz"),
    "frequency_max_Hz": ("Highest frequency", "Hz"),
    "pool_cars": ("Pool cars", ""),
    "pool_cars_at_target": ("Pool cars at target SoC", ""),
    "pool_revenue_EUR": ("Pool market revenue", "EUR"),
    "pool_fcr_max_MW": ("Pool FCR sold (largest block)", "MW"),
    "pool_shortfall_kWh": ("Pool activation shortfall", "kWh"),
    "trace_records": ("Trace records", ""),
}


def format_kpi(key: str, value: Any, kpis: dict[str, Any]) -> str:
    if value is None:
        return "–"
    unit = KPI_LABELS.get(key, ("", ""))[1]
    if key == "departures_met":
        return f"{value} / {kpis.get('departures', 0)}"
    if key == "fleet_departures_met":
        return f"{value} / {kpis.get('fleet_departures', 0)}"
    if key == "pool_cars_at_target":
        return f"{value} / {kpis.get('pool_cars', 0)}"
    if unit == "%" and key.endswith("_pct"):
        return f"{value:.1f} %"
    if unit == "%":
        return f"{100 * value:.1f} %"
    if unit == "Hz":
        return f"{value:.3f} Hz"
    if isinstance(value, float):
        return f"{value:,.2f} {unit}".strip()
    return f"{value} {unit}".strip()

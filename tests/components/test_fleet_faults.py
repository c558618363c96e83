"""Technical aggregator when its backends fail: the CPO backend unreachable for 40 minutes
mid-evening, the OEM backend unreachable at a second offer.

    commercial ──I-23──► tech_agg ──I-14 ✗──► cpo ──I-04──► park (20 EVSEs) ──I-01──► 20 cars
                            └──I-13 ✗──► oem ◄──I-02── cars

The EVSEs keep the schedules they were sent (the day plan); the aggregator records the fault,
re-dispatches when the CPO backend answers again, and every owner's rule still holds.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import pytest
import yaml

from bidicharge.components.interfaces.i23_flexibility import PriceCurve
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import StudyResult, run_study

OUTAGE = (6 * 3600.0, 6 * 3600.0 + 2400.0)  # 18:00 to 18:40, seconds after the start


@pytest.fixture(scope="module")
def result() -> StudyResult:
    from bidicharge.components.cpo_backend import component as csms

    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["components"]["cars"]["config"]["n_cars"] = 20
    raw["components"]["cars"]["config"]["deviations"] = {}
    sc = parse_scenario(copy.deepcopy(raw), file="fleet_v2g.yaml", base_dir=".")
    original = csms.CpoBackend.handle

    def flaky(self: Any, port: str, message: object, link: Any) -> Any:
        # I-14 (the aggregator's port) is down; the stations keep talking OCPP on I-04
        if port == "aggregator" and OUTAGE[0] <= link.local.now - sc.start_s < OUTAGE[1]:
            raise ConnectionError("connection refused")
        return original(self, port, message, link)

    csms.CpoBackend.handle = flaky  # type: ignore[method-assign]
    try:
        return run_study(sc)
    finally:
        csms.CpoBackend.handle = original  # type: ignore[method-assign]


def test_an_unreachable_cpo_backend_is_recorded_and_dispatch_resumes(result: StudyResult) -> None:
    report = result.reports["tech_agg"]
    start = report["start_s"]
    faults = [t - start for t, iface, _ in report["faults"] if iface == "I-14"]
    assert faults and min(faults) >= OUTAGE[0] and max(faults) < OUTAGE[1]
    assert len(faults) == 8  # every step of the outage
    after = [r for r in result.trace.select(interface="I-14", message="SetChargingSchedules")
             if OUTAGE[1] <= r.time_s - start < OUTAGE[1] + 3600]
    assert after, "schedules go out again once the CPO backend answers"
    assert len(report["delivered_W"]) == 95  # the outage's intervals are booked (their average)


def test_the_owners_rules_hold_through_the_outage(result: StudyResult) -> None:
    unreachable = set(result.reports["tech_agg"]["unreachable_targets"])
    for c in result.reports["cars"]["cars"]:
        assert c["min_soc_discharging"] >= c["min_soc_for_discharge"] - 1e-6, c["car_id"]
        if not c["v2g_consent"]:
            assert c["discharged_Wh"] == 0.0
        if c["departed"] and c["car_id"] not in unreachable:
            assert c["departure_soc"] >= c["target_soc"] - 1e-3, c["car_id"]


def test_an_unreachable_oem_backend_leaves_the_last_known_fleet(result: StudyResult) -> None:
    import bidicharge.components.oem_backend as oem_mod
    from bidicharge.components.tech_aggregator import TechAggregator
    from bidicharge.runtime.assembly import assemble
    from bidicharge.runtime.trace import TraceRecorder

    raw = yaml.safe_load((resources.files("bidicharge.scenarios") / "fleet_v2g.yaml").read_text())
    raw["components"]["cars"]["config"]["n_cars"] = 20
    sc = parse_scenario(raw, file="fleet_v2g.yaml", base_dir=".")
    comps = assemble(sc, TraceRecorder())
    for c in comps.values():
        c.start(sc.start_s)
    agg = comps["tech_agg"]
    assert isinstance(agg, TechAggregator)
    curve = PriceCurve(start_s=sc.start_s, step_s=3600.0, price_EUR_per_MWh=tuple([50.0] * 24))
    first = agg.make_offer(curve)
    original = oem_mod.OemBackend.handle

    def down(self: Any, port: str, message: object, link: Any) -> Any:
        raise ConnectionError("no route to host")

    oem_mod.OemBackend.handle = down  # type: ignore[method-assign]
    try:
        second = agg.make_offer(curve)
    finally:
        oem_mod.OemBackend.handle = original  # type: ignore[method-assign]
    assert [f[1] for f in agg.faults] == ["I-13"]
    assert second.n_cars == first.n_cars == 20

"""The technical aggregator's FCR sharing (tech_aggregator/balancing.py) and the CPO backend's
check of frequency-watt curves (cpo_backend/activation.py), from tables."""

from __future__ import annotations

import pytest

from bidicharge.components.cpo_backend.activation import curve_problem
from bidicharge.components.interfaces.i14_cpo_aggregator import EvseFrequencyDroop, EvseLive, FreqWattPoint
from bidicharge.components.tech_aggregator.balancing import Headroom, must_charge, share_upward

ROOMS = {"a": Headroom(baseline_W=0.0, upward_W=11_000.0, downward_W=11_000.0),
         "b": Headroom(baseline_W=2_000.0, upward_W=5_000.0, downward_W=9_000.0)}


@pytest.mark.parametrize(("request_W", "expected", "shortfall_W"), [
    (0.0, {"a": 0.0, "b": 2_000.0}, 0.0),
    (8_000.0, {"a": -5_500.0, "b": -500.0}, 0.0),  # pro rata to the upward headroom 11:5
    (-10_000.0, {"a": 5_500.0, "b": 6_500.0}, 0.0),  # pro rata to the downward headroom 11:9
    (20_000.0, {"a": -11_000.0, "b": -3_000.0}, 4_000.0),  # more than the pool has: said, not hidden
])
def test_share_upward(request_W: float, expected: dict[str, float], shortfall_W: float) -> None:
    setpoints, shortfall = share_upward(request_W, ROOMS)
    assert setpoints == pytest.approx(expected)
    assert shortfall == pytest.approx(shortfall_W)


def live(departure_s: float | None, energy_Wh: float | None) -> EvseLive:
    return EvseLive(evse_id="wb", connected=True, vehicle_id=None, soc=0.6, power_W=0.0, setpoint_W=None,
                    max_charge_power_W=11_000.0, max_discharge_power_W=11_000.0, imported_Wh=0.0, exported_Wh=0.0,
                    departure_s=departure_s, energy_request_Wh=energy_Wh)


@pytest.mark.parametrize(("departure_s", "energy_Wh", "expected"), [
    (None, 5_000.0, False),  # no departure known
    (10_000.0, 0.0, False),  # nothing wanted
    (10_000.0, 11_000.0, False),  # 1 h of charging + 30 min margin < 10 000 s
    (5_000.0, 11_000.0, True),  # 3600 + 1800 >= 5000: charges at full power, takes no part
])
def test_must_charge(departure_s: float | None, energy_Wh: float | None, expected: bool) -> None:
    assert must_charge(live(departure_s, energy_Wh), now_s=0.0) is expected


def test_curve_problems_are_named() -> None:
    ok = EvseFrequencyDroop(evse_id="wb", baseline_W=0.0, curve=(FreqWattPoint(frequency_Hz=49.8, power_W=-1.0),
                                                                  FreqWattPoint(frequency_Hz=50.2, power_W=1.0)))
    assert curve_problem(ok) is None
    backwards = EvseFrequencyDroop(evse_id="wb", baseline_W=0.0, curve=tuple(reversed(ok.curve)))
    assert curve_problem(backwards) == "curve frequencies must increase"
    assert "1 to 20 points" in str(curve_problem(EvseFrequencyDroop(evse_id="wb", baseline_W=0.0, curve=())))

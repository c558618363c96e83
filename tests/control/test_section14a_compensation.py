"""§14a grid-fee compensation (modules 1, 2, 3) and the DSO's dimming log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidicharge.control.grid_controller import UnitId
from bidicharge.control.section14a_compensation import (
    EXAMPLE_MODULE3,
    CompensationError,
    Customer,
    DimmingStep,
    FeeLevel,
    IntervalEnergy,
    Module,
    Tariffs,
    compensation,
    customer_dimming_summary,
    dimming_log,
)
from bidicharge.physics.lv_grid import HouseholdId

YEAR = (date(2025, 1, 1), date(2026, 1, 1))
M1, M2, M3 = Module.MODULE_1, Module.MODULE_2, Module.MODULE_3


def customer(modules: set[Module], *, separate: bool = True, smart: bool = True, period=YEAR) -> Customer:
    return Customer(
        customer_id="c1",
        modules=frozenset(modules),
        period_start=period[0],
        period_end=period[1],
        separately_metered=separate,
        smart_meter=smart,
    )


def daily(
    kWh_per_quarter_hour: dict[time, float], days: int = 365, start: date = YEAR[0]
) -> list[IntervalEnergy]:
    out = []
    for d in range(days):
        day = datetime.combine(start + timedelta(days=d), time(0))
        for t, kWh in kWh_per_quarter_hour.items():
            out.append(IntervalEnergy(start=day.replace(hour=t.hour, minute=t.minute), energy_Wh=kWh * 1000))
    return out


def test_module1_is_the_flat_reduction_pro_rata() -> None:
    year = compensation(customer({M1}), [])
    assert year.module1_EUR == pytest.approx(137.43)  # BS|Netz 2025, net
    quarter = compensation(customer({M1}, period=(date(2025, 1, 1), date(2025, 4, 1))), [])
    assert quarter.module1_EUR == pytest.approx(137.43 * 90 / 365)


def test_module2_reduces_the_grid_energy_price_to_forty_percent() -> None:
    energy = daily({time(22, 0): 10.0})  # 10 kWh a night, 3650 kWh a year
    c = compensation(customer({M2}), energy)
    assert c.energy_kWh == pytest.approx(3650)
    # paid 40 % of 9.35 ct = 3.74 ct/kWh instead of 9.35: 5.61 ct/kWh back
    assert c.module2_EUR == pytest.approx(3650 * 0.0561)
    assert c.module1_EUR == 0 and c.module3_EUR == 0


def test_module2_is_capped_at_100_MWh_a_year() -> None:
    energy = daily({time(12, 0): 400.0})  # 146 MWh
    c = compensation(customer({M2}), energy)
    assert c.module2_EUR == pytest.approx(100_000 * 0.0561)


@pytest.mark.parametrize(
    ("at", "level"),
    [
        (time(3, 0), FeeLevel.LOW),
        (time(5, 45), FeeLevel.LOW),
        (time(6, 0), FeeLevel.STANDARD),
        (time(17, 0), FeeLevel.HIGH),
        (time(19, 45), FeeLevel.HIGH),
        (time(20, 0), FeeLevel.STANDARD),
    ],
)
def test_module3_windows(at: time, level: FeeLevel) -> None:
    assert EXAMPLE_MODULE3.level_at(datetime.combine(date(2025, 5, 1), at)) is level


def test_module3_rewards_night_charging_and_costs_in_the_evening_peak() -> None:
    night = compensation(customer({M1, M3}), daily({time(2, 0): 10.0}))
    evening = compensation(customer({M1, M3}), daily({time(18, 0): 10.0}))
    assert night.module1_EUR == evening.module1_EUR == pytest.approx(137.43)
    assert night.module3_EUR == pytest.approx(3650 * (9.35 - 1.87) / 100)
    assert evening.module3_EUR == pytest.approx(3650 * (9.35 - 14.0) / 100)
    assert night.total_EUR > evening.total_EUR


def test_module3_only_in_its_active_quarters() -> None:
    tariff = Tariffs(
        module3=type(EXAMPLE_MODULE3)(
            price_ct_per_kWh=EXAMPLE_MODULE3.price_ct_per_kWh,
            windows=EXAMPLE_MODULE3.windows,
            active_quarters=frozenset({1, 4}),
        )
    )
    c = compensation(customer({M1, M3}), daily({time(2, 0): 10.0}), tariff)
    winter_days = 31 + 28 + 31 + 31 + 30 + 31
    assert c.module3_EUR == pytest.approx(winter_days * 10 * (9.35 - 1.87) / 100)


@pytest.mark.parametrize(
    ("modules", "separate", "smart", "message"),
    [
        ({M1, M2}, True, True, "not allowed"),
        ({M2, M3}, True, True, "not allowed"),
        ({M3}, True, True, "not allowed"),
        (set(), True, True, "not allowed"),
        ({M2}, False, True, "separate meter"),
        ({M1, M3}, True, False, "smart meter"),
    ],
)
def test_module_choice_is_checked(modules: set[Module], separate: bool, smart: bool, message: str) -> None:
    with pytest.raises(CompensationError, match=message):
        compensation(customer(modules, separate=separate, smart=smart), [])


def test_energy_outside_the_period_does_not_count() -> None:
    energy = daily({time(22, 0): 10.0}, days=10, start=date(2024, 12, 27))
    c = compensation(customer({M2}), energy)
    assert c.energy_kWh == pytest.approx(50)  # the nights of 2025-01-01 .. 2025-01-05


def homes(*uids: str) -> dict[UnitId, HouseholdId]:
    return {UnitId(u): HouseholdId(f"home-{u}") for u in uids}


def test_dimming_log_records_events_with_duration_devices_and_energy_not_served() -> None:
    h = homes("a", "b")
    steps = [
        DimmingStep(now_s=0, dt_s=60, limit_W={}, demand_W={}, household_of=h),
        DimmingStep(
            now_s=60,
            dt_s=60,
            limit_W={UnitId("a"): 4_200},
            demand_W={UnitId("a"): 11_000},
            household_of=h,
            triggers=("transformer",),
        ),
        DimmingStep(
            now_s=120,
            dt_s=60,
            limit_W={UnitId("a"): 4_200, UnitId("b"): 5_000},
            demand_W={UnitId("a"): 11_000, UnitId("b"): 11_000},
            household_of=h,
            triggers=("line_3_1",),
        ),
        DimmingStep(now_s=180, dt_s=60, limit_W={}, demand_W={}, household_of=h),
        DimmingStep(
            now_s=240, dt_s=60, limit_W={UnitId("b"): 4_200}, demand_W={UnitId("b"): 3_000}, household_of=h
        ),
    ]
    first, second = dimming_log(steps)
    assert (first.event_id, first.start_s, first.end_s, first.duration_s) == ("dim-1", 60, 180, 120)
    assert first.affected_units == ("a", "b")
    assert first.affected_households == ("home-a", "home-b")
    assert first.triggers == ("transformer", "line_3_1")
    assert first.lowest_limit_W == 4_200
    assert first.energy_not_served_Wh == pytest.approx((6_800 + 6_800 + 6_000) / 60)
    assert second.energy_not_served_Wh == 0  # the car wanted less than its limit
    assert customer_dimming_summary([first, second], HouseholdId("home-b")) == (2, 180, pytest.approx(100))


@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(4_200, 11_000), st.floats(0, 22_000)),
        max_size=50,
    )
)
def test_energy_not_served_is_never_negative_and_adds_up(rows: list[tuple[bool, float, float]]) -> None:
    h = homes("a")
    steps = [
        DimmingStep(
            now_s=60.0 * i,
            dt_s=60.0,
            limit_W={UnitId("a"): limit} if dimmed else {},
            demand_W={UnitId("a"): demand},
            household_of=h,
        )
        for i, (dimmed, limit, demand) in enumerate(rows)
    ]
    records = dimming_log(steps)
    expected = sum(max(d - lim, 0) / 60 for dimmed, lim, d in rows if dimmed)
    assert sum(r.energy_not_served_Wh for r in records) == pytest.approx(expected, abs=1e-6)
    assert all(r.energy_not_served_Wh >= 0 and r.duration_s > 0 for r in records)

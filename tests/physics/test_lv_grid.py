"""Kerber LV networks: the reference congestion table, and the fast and 3-phase solvers against pandapower.

```
  10 kV ──[trafo 400 kVA Dyn5]── main busbar ──┬── feeder 1 ── loadbus_1_1 … loadbus_1_9
                                               ├── …
                                               └── feeder 6 ── … loadbus_6_4      (Dorfnetz, 57 homes)
```
"""

from __future__ import annotations

import numpy as np
import pytest

from bidicharge.physics.lv_grid import (
    LANDNETZ,
    HouseholdId,
    KerberNetwork,
    LvGrid,
    PhasePower,
    build_lv_grid,
    solve,
    solve_3ph,
    solve_fast,
    solve_fast_batch,
)


@pytest.fixture(scope="module")
def dorf() -> LvGrid:
    return build_lv_grid()


@pytest.fixture(scope="module")
def land() -> LvGrid:
    return build_lv_grid(LANDNETZ)


def every_home(grid: LvGrid, power_W: float) -> dict[HouseholdId, float]:
    return {h: power_W for h in grid.household_ids}


def test_every_household_is_addressable_by_its_load_bus(dorf: LvGrid) -> None:
    assert dorf.kind is KerberNetwork.DORFNETZ
    assert len(dorf.household_ids) == 57 == len(set(dorf.household_ids))
    assert dorf.household_ids[0] == "loadbus_1_1"
    assert all(h in dorf.bus_names for h in dorf.household_ids)
    assert dorf.transformer_rating_VA == 400_000 and dorf.design_load_W == 6_000
    with pytest.raises(ValueError, match="unknown household"):
        solve_fast(dorf, {HouseholdId("nowhere"): 1.0})


# grid_and_markets.md §5, congestion demonstration (pandapower, worst case g = 1)
@pytest.mark.parametrize(
    ("which", "extra_W", "trafo_pct", "vmin_pu", "lines_over"),
    [
        ("dorf", 0, 88, 0.955, 0),
        ("dorf", 11_000, 265, 0.856, 9),
        ("dorf", 4_200, 153, 0.920, 0),
        ("land", 0, 68, 0.947, 0),
        ("land", 11_000, 172, 0.862, 5),
        ("land", 4_200, 106, 0.917, 0),
    ],
)
def test_reference_congestion_table(
    request: pytest.FixtureRequest,
    which: str,
    extra_W: float,
    trafo_pct: float,
    vmin_pu: float,
    lines_over: int,
) -> None:
    grid: LvGrid = request.getfixturevalue(which)
    result = solve(grid, every_home(grid, grid.design_load_W + extra_W))
    assert result.transformer_loading_pct == pytest.approx(trafo_pct, rel=0.02)
    assert result.vmin_pu == pytest.approx(vmin_pu, abs=0.003)
    assert int((result.line_loading_pct > 100).sum()) == lines_over


def test_pv_feed_in_raises_the_voltage_beyond_three_percent(dorf: LvGrid) -> None:
    noload = solve_fast(dorf, {})
    pv = solve_fast(dorf, every_home(dorf, -10_000))
    assert (pv.bus_voltage_pu - noload.bus_voltage_pu).max() == pytest.approx(0.066, abs=0.003)
    assert pv.transformer_loading_pct == pytest.approx(137, rel=0.02)
    assert pv.transformer_power_W < 0  # the village exports


@pytest.mark.parametrize("extra_W", [0, 4_200, 11_000])
def test_fast_solver_equals_pandapower(dorf: LvGrid, extra_W: float) -> None:
    rng = np.random.default_rng(3)
    powers = {
        h: float(p) for h, p in zip(dorf.household_ids, rng.uniform(-8_000, 6_000 + extra_W, 57), strict=True)
    }
    ref = solve(dorf, powers)
    fast = solve_fast(dorf, powers)
    assert fast.transformer_loading_pct == pytest.approx(ref.transformer_loading_pct, abs=1e-3)
    assert fast.transformer_power_W == pytest.approx(ref.transformer_power_W, abs=1.0)
    np.testing.assert_allclose(fast.line_loading_pct, ref.line_loading_pct, atol=1e-3)
    np.testing.assert_allclose(fast.bus_voltage_pu, ref.bus_voltage_pu, atol=1e-6)


def test_batch_equals_one_case_at_a_time(dorf: LvGrid) -> None:
    rng = np.random.default_rng(5)
    day = rng.uniform(0, 17_000, (30, 57))
    batch = solve_fast_batch(dorf, day)
    assert batch.converged.all()
    for i in (0, 17, 29):
        one = solve_fast(dorf, day[i])
        assert batch.transformer_loading_pct[i] == pytest.approx(one.transformer_loading_pct)
        np.testing.assert_allclose(batch.bus_voltage_pu[i], one.bus_voltage_pu)


def test_a_solve_depends_only_on_its_arguments(dorf: LvGrid) -> None:
    powers = every_home(dorf, 2_000)
    first = solve(dorf, powers)
    solve(dorf, every_home(dorf, 17_000))  # a different case in between
    again = solve(dorf, powers)
    assert again.transformer_loading_pct == first.transformer_loading_pct
    np.testing.assert_array_equal(again.bus_voltage_pu, first.bus_voltage_pu)


def test_three_phase_solver_equals_balanced_for_balanced_loads(dorf: LvGrid) -> None:
    powers = every_home(dorf, dorf.design_load_W)
    balanced = solve(dorf, powers)
    three = solve_3ph(dorf, {h: PhasePower.symmetric(p) for h, p in powers.items()})
    assert three.transformer_loading_pct == pytest.approx(balanced.transformer_loading_pct, rel=1e-4)
    assert three.vmin_pu == pytest.approx(balanced.vmin_pu, abs=1e-5)


def test_single_phase_chargers_load_one_phase_harder(dorf: LvGrid) -> None:
    homes = dorf.household_ids[:20]
    balanced = solve_3ph(dorf, {h: 2_000 + 4_200.0 for h in homes})
    one_phase = solve_3ph(dorf, {h: PhasePower.with_single_phase_device(2_000, 4_200, "a") for h in homes})
    assert one_phase.converged and balanced.converged
    assert one_phase.vmin_pu < balanced.vmin_pu - 0.02
    assert one_phase.vmax_pu > balanced.vmax_pu  # the unloaded phases rise (neutral shift)
    assert one_phase.transformer_loading_pct > balanced.transformer_loading_pct * 1.5


def test_sensitivities_point_at_the_homes_below_an_asset(dorf: LvGrid) -> None:
    share = dorf.line_share()
    first_line = dorf.line_names.index("line_1_1")
    feeder1 = [i for i, h in enumerate(dorf.household_ids) if h.startswith("loadbus_1_")]
    others = [i for i in range(57) if i not in feeder1]
    assert share[first_line, feeder1] == pytest.approx(1.0, abs=0.01)
    assert share[first_line, others] == pytest.approx(0.0, abs=0.01)
    # linear voltage sensitivity matches a finite difference of the full power flow
    sens = dorf.voltage_sensitivity_pu_per_W()
    last = dorf.household_ids[-1]
    base = np.full(57, 2_000.0)
    bumped = base.copy()
    bumped[-1] += 1_000
    dv = solve_fast(dorf, bumped).bus_voltage_pu - solve_fast(dorf, base).bus_voltage_pu
    bus = dorf.bus_index(last)
    assert sens[bus, -1] * 1_000 == pytest.approx(dv[bus], rel=0.05)

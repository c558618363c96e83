"""§14a grid-fee compensation per customer (modules 1, 2, 3) and the DSO's dimming log.

In exchange for being dimmable, the customer of a SteuVE pays a reduced grid fee
(BNetzA BK8-22/010-A, the parallel decision to BK6-22-300 (verify number)):

* **Module 1** — a flat annual reduction of the grid fee (110–190 € gross per year depending on
  the DSO; default: BS|Netz 2025, 137.43 € net), pro rata for the billing period.
* **Module 2** — the separately metered energy of the SteuVE pays the grid energy price reduced
  **to 40 %** (−60 %), for at most 100 MWh/a (cap pro rata; verify). Default price: 9.35 ct/kWh,
  chosen so the reduced price is the reference's BS|Netz 2025 example of 3.74 ct/kWh (verify).
* **Module 3** — since 2025-04-01, time-variable grid fees (low / standard / high windows set by
  the DSO), only together with module 1 and with a smart meter. The windows and prices below are
  illustrative; every DSO publishes its own (``EXAMPLE_MODULE3``).

Modules 1 and 2 exclude each other; module 3 needs module 1.

The dimming log: the DSO documents every dimming (kept at least two years and published,
BK6-22-300): when, how long, which devices, what triggered it and the energy not served
(demand above the limit while dimmed). :func:`dimming_log` folds per-step controller output
into those records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Final

from bidicharge.control.grid_controller import FEED_IN_KINDS, ControllableUnit, Decision, UnitId
from bidicharge.physics.lv_grid import HouseholdId

MODULE1_FLAT_EUR_PER_YEAR: Final = 137.43  # BS|Netz 2025, net (grid_and_markets.md §2)
MODULE2_REDUCED_SHARE: Final = 0.40  # grid energy price reduced to 40 %
MODULE2_CAP_KWH_PER_YEAR: Final = 100_000.0  # ≤ 100 MWh/a (verify)
GRID_ENERGY_PRICE_CT_PER_KWH: Final = 9.35  # 0.4 × 9.35 = 3.74 ct/kWh, the BS|Netz 2025 example (verify)
LOG_RETENTION_DAYS: Final = 2 * 365  # BK6-22-300: dimming records kept at least two years


class Module(StrEnum):
    MODULE_1 = "module_1"
    MODULE_2 = "module_2"
    MODULE_3 = "module_3"


ALLOWED_COMBINATIONS: Final = (
    frozenset({Module.MODULE_1}),
    frozenset({Module.MODULE_2}),
    frozenset({Module.MODULE_1, Module.MODULE_3}),
)


class FeeLevel(StrEnum):
    LOW = "low"
    STANDARD = "standard"
    HIGH = "high"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeWindow:
    """A daily window [start, end) in local time with its fee level; end 00:00 means midnight."""

    start: time
    end: time
    level: FeeLevel

    def contains(self, t: time) -> bool:
        if self.end == time(0, 0):
            return t >= self.start
        return self.start <= t < self.end


@dataclass(frozen=True, slots=True, kw_only=True)
class Module3Tariff:
    price_ct_per_kWh: Mapping[FeeLevel, float]
    windows: tuple[FeeWindow, ...]
    active_quarters: frozenset[int] = frozenset({1, 2, 3, 4})
    """Quarters in which the windows apply; outside them the standard price holds."""

    def level_at(self, when: datetime) -> FeeLevel:
        if (when.month - 1) // 3 + 1 not in self.active_quarters:
            return FeeLevel.STANDARD
        t = when.timetz().replace(tzinfo=None)
        for w in self.windows:
            if w.contains(t):
                return w.level
        return FeeLevel.STANDARD


EXAMPLE_MODULE3: Final = Module3Tariff(
    # illustrative only: low at night, high in the evening peak (each DSO sets its own)
    price_ct_per_kWh={
        FeeLevel.LOW: 1.87,
        FeeLevel.STANDARD: GRID_ENERGY_PRICE_CT_PER_KWH,
        FeeLevel.HIGH: 14.0,
    },
    windows=(
        FeeWindow(start=time(0, 0), end=time(6, 0), level=FeeLevel.LOW),
        FeeWindow(start=time(17, 0), end=time(20, 0), level=FeeLevel.HIGH),
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariffs:
    module1_flat_EUR_per_year: float = MODULE1_FLAT_EUR_PER_YEAR
    grid_energy_price_ct_per_kWh: float = GRID_ENERGY_PRICE_CT_PER_KWH
    module2_reduced_share: float = MODULE2_REDUCED_SHARE
    module2_cap_kWh_per_year: float = MODULE2_CAP_KWH_PER_YEAR
    module3: Module3Tariff = EXAMPLE_MODULE3


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalEnergy:
    start: datetime  # local time of the interval start (15-minute values from the SMGW, TAF 7)
    energy_Wh: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    customer_id: str
    modules: frozenset[Module]
    period_start: date
    period_end: date  # exclusive
    separately_metered: bool = False
    smart_meter: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Compensation:
    customer_id: str
    module1_EUR: float
    module2_EUR: float
    module3_EUR: float
    """Saving against the standard price (negative if the customer drew mostly in high windows)."""
    energy_kWh: float

    @property
    def total_EUR(self) -> float:
        return self.module1_EUR + self.module2_EUR + self.module3_EUR


class CompensationError(ValueError):
    """The customer's module choice or metering does not allow the requested compensation."""


def _check(customer: Customer) -> None:
    if customer.modules not in ALLOWED_COMBINATIONS:
        names = sorted(m.value for m in customer.modules)
        raise CompensationError(
            f"{customer.customer_id}: modules {names} not allowed; choose module 1, module 2 or modules 1+3"
        )
    if Module.MODULE_2 in customer.modules and not customer.separately_metered:
        raise CompensationError(f"{customer.customer_id}: module 2 needs a separate meter for the SteuVE")
    if Module.MODULE_3 in customer.modules and not customer.smart_meter:
        raise CompensationError(f"{customer.customer_id}: module 3 needs a smart meter (iMSys)")
    if customer.period_end <= customer.period_start:
        raise CompensationError(f"{customer.customer_id}: empty billing period")


def compensation(
    customer: Customer, energy: Sequence[IntervalEnergy], tariffs: Tariffs = Tariffs()
) -> Compensation:
    """The grid-fee reduction of one customer for one billing period (EUR, net)."""
    _check(customer)
    inside = [
        e for e in energy if customer.period_start <= e.start.date() < customer.period_end and e.energy_Wh > 0
    ]
    energy_kWh = math.fsum(e.energy_Wh for e in inside) / 1000.0
    days = (customer.period_end - customer.period_start).days
    year_share = days / 365.0
    m1 = m2 = m3 = 0.0
    if Module.MODULE_1 in customer.modules:
        m1 = tariffs.module1_flat_EUR_per_year * year_share
    if Module.MODULE_2 in customer.modules:
        eligible_kWh = min(energy_kWh, tariffs.module2_cap_kWh_per_year * year_share)
        m2 = (
            eligible_kWh
            * tariffs.grid_energy_price_ct_per_kWh
            * (1.0 - tariffs.module2_reduced_share)
            / 100.0
        )
    if Module.MODULE_3 in customer.modules:
        prices = tariffs.module3.price_ct_per_kWh
        standard = prices[FeeLevel.STANDARD]
        m3 = (
            math.fsum(
                e.energy_Wh / 1000.0 * (standard - prices[tariffs.module3.level_at(e.start)]) for e in inside
            )
            / 100.0
        )
    return Compensation(
        customer_id=customer.customer_id,
        module1_EUR=m1,
        module2_EUR=m2,
        module3_EUR=m3,
        energy_kWh=energy_kWh,
    )


# ---------------------------------------------------------------------------------------------
# Dimming log


@dataclass(frozen=True, slots=True, kw_only=True)
class DimmingStep:
    """What held during [now_s, now_s + dt_s): the limits in force and the units' demand."""

    now_s: float
    dt_s: float
    limit_W: Mapping[UnitId, float]
    demand_W: Mapping[UnitId, float]
    household_of: Mapping[UnitId, HouseholdId]
    triggers: tuple[str, ...] = ()
    """Assets whose violation caused dimming in this step (e.g. "transformer", a line name)."""


def dimming_step(
    decision: Decision,
    units: Iterable[ControllableUnit],
    *,
    now_s: float,
    dt_s: float,
    demand_W: Mapping[UnitId, float] | None = None,
) -> DimmingStep:
    """The log's view of one controller cycle (limits after the cycle's commands and releases)."""
    active = decision.state.active
    return DimmingStep(
        now_s=now_s,
        dt_s=dt_s,
        limit_W={uid: a.limit_W for uid, a in active.items()},
        demand_W=dict(demand_W) if demand_W is not None else {uid: a.demand_W for uid, a in active.items()},
        household_of={u.unit_id: u.household_id for u in units},
        triggers=tuple(dict.fromkeys(v.asset for v in decision.violations if v.kind not in FEED_IN_KINDS)),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DimmingLogRecord:
    event_id: str
    start_s: float
    end_s: float
    affected_units: tuple[UnitId, ...]
    affected_households: tuple[HouseholdId, ...]
    triggers: tuple[str, ...]
    lowest_limit_W: float
    energy_not_served_Wh: float
    energy_not_served_by_unit_Wh: Mapping[UnitId, float] = field(default_factory=dict)
    household_of_unit: Mapping[UnitId, HouseholdId] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(slots=True)
class _Open:
    start_s: float
    end_s: float
    units: dict[UnitId, HouseholdId]
    triggers: dict[str, None]
    lowest_W: float
    ens_Wh: dict[UnitId, float]


def dimming_log(steps: Iterable[DimmingStep], *, event_prefix: str = "dim") -> tuple[DimmingLogRecord, ...]:
    """One record per dimming event: a run of consecutive steps with at least one limit in force."""
    records: list[DimmingLogRecord] = []
    current: _Open | None = None

    def close(ev: _Open) -> None:
        records.append(
            DimmingLogRecord(
                event_id=f"{event_prefix}-{len(records) + 1}",
                start_s=ev.start_s,
                end_s=ev.end_s,
                affected_units=tuple(sorted(ev.units)),
                affected_households=tuple(sorted(set(ev.units.values()))),
                triggers=tuple(ev.triggers),
                lowest_limit_W=ev.lowest_W,
                energy_not_served_Wh=math.fsum(ev.ens_Wh.values()),
                energy_not_served_by_unit_Wh=dict(sorted(ev.ens_Wh.items())),
                household_of_unit=dict(ev.units),
            )
        )

    for step in steps:
        gap = current is not None and step.now_s > current.end_s + 1e-9
        if current is not None and (not step.limit_W or gap):
            close(current)
            current = None
        if not step.limit_W:
            continue
        if current is None:
            current = _Open(step.now_s, step.now_s, {}, {}, math.inf, {})
        current.end_s = step.now_s + step.dt_s
        for t in step.triggers:
            current.triggers[t] = None
        for uid, limit in step.limit_W.items():
            current.units[uid] = step.household_of[uid]
            current.lowest_W = min(current.lowest_W, limit)
            lost = max(step.demand_W.get(uid, 0.0) - limit, 0.0) * step.dt_s / 3600.0
            current.ens_Wh[uid] = current.ens_Wh.get(uid, 0.0) + lost
    if current is not None:
        close(current)
    return tuple(records)


def customer_dimming_summary(
    records: Iterable[DimmingLogRecord], household_id: HouseholdId
) -> tuple[int, float, float]:
    """(events, total dimmed time s, energy not served Wh) of one customer, for the bill's annex."""
    events = 0
    duration = 0.0
    ens = 0.0
    for r in records:
        if household_id not in r.affected_households:
            continue
        events += 1
        duration += r.duration_s
        ens += math.fsum(
            wh
            for uid, wh in r.energy_not_served_by_unit_Wh.items()
            if r.household_of_unit.get(uid) == household_id
        )
    return events, duration, ens

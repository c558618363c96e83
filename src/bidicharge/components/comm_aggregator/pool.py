"""The aggregator's pool of cars, modelled inside the scenario until the technical aggregator
(I-23) and the CPO backend / OCPP 2.1 path carry it.

Cars are drawn once from the run's seeded generator and stay plugged in over the run (a depot
or workplace pool). Each car has power limits, a SoC window, the owner's V2G consent and a
target SoC for the end of the run. The pool's arrays are stepped vectorised; the allocation
of a requested change over the cars is ``control.frequency_reserve.allocate_pool`` (each car
within its limits, SoC window and consent). A car's floor for discharging rises towards its
target as the end approaches, so that it can still reach the target at full charging power.

Activation path (what the latency parameters stand for):

* central: TSO → IEC 104 (I-24) → aggregator → technical aggregator → CPO backend → OCPP 2.1
  set-point → EVSE → ISO 15118-20 → car: ``central_latency_s`` after the aggregator's decision;
* local (OCPP 2.1 LocalFrequency): the EVSE measures the frequency and applies the droop share
  the aggregator gave it: ``local_latency_s`` after the frequency changed.

Then the car's power stage ramps at ``ramp_W_per_s``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bidicharge.control.aggregator_bidding import EnvelopeInterval, PoolEnvelope
from bidicharge.control.frequency_reserve import PoolCar, allocate_pool

Arr = npt.NDArray[np.float64]
#: a car this close (in time) to needing full power for its target charges at full power
MUST_CHARGE_MARGIN_S = 1800.0


class PoolConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["model", "tech_aggregator"] = Field(
        "model", description="model: the cars below, inside the aggregator; tech_aggregator: the real chain on "
        "I-23 (port flexibility) → I-14 → OCPP 2.1 → ISO 15118-20 (chain_pool.py); the fields below then do not apply")
    cars: int = Field(500, ge=1, le=100_000)
    capacity_kWh: tuple[float, float] = (50.0, 80.0)  # uniform range per car
    max_charge_W: float = Field(11_000.0, gt=0)
    max_discharge_W: float = Field(11_000.0, ge=0)
    initial_soc: tuple[float, float] = (0.45, 0.75)
    min_soc: float = Field(0.2, ge=0, lt=1)
    max_soc: float = Field(0.95, gt=0, le=1)
    target_soc: float = Field(0.6, gt=0, le=1, description="owner's SoC when the cars leave")
    leave_after_h: float = Field(24.0, gt=0, description="the cars leave this long after the run's start")
    consent_share: float = Field(0.95, ge=0, le=1, description="share of cars whose owners allow V2G")
    efficiency: float = Field(0.93, gt=0, le=1, description="per direction, grid ↔ battery")
    ramp_W_per_s: float = Field(22_000.0, gt=0, description="car power-stage slew rate")

    @model_validator(mode="after")
    def _order(self) -> PoolConfig:
        if not self.min_soc < self.target_soc <= self.max_soc:
            raise ValueError("need min_soc < target_soc <= max_soc")
        if self.capacity_kWh[0] > self.capacity_kWh[1] or self.initial_soc[0] > self.initial_soc[1]:
            raise ValueError("ranges are (low, high)")
        return self


@dataclass(slots=True)
class _Pending:
    effective_s: float
    setpoints_W: Arr
    base_W: Arr


class CarPool:
    """Vectorised car states; powers + = charging (grid side)."""

    def __init__(self, cfg: PoolConfig, rng: np.random.Generator, end_s: float) -> None:
        n = cfg.cars
        self.cfg = cfg
        self.ids = [f"car{i:05d}" for i in range(n)]
        self.capacity_Wh = rng.uniform(*cfg.capacity_kWh, n) * 1000.0
        self.soc = rng.uniform(*cfg.initial_soc, n)
        self.consent = rng.random(n) < cfg.consent_share
        self.power_W = np.zeros(n)
        self.setpoint_W = np.zeros(n)
        self.base_W = np.zeros(n)  # the operating points the cars' set-points are relative to
        self.discharged_without_consent_Wh = 0.0
        self.end_s = end_s
        self._pending: deque[_Pending] = deque()

    # --- what the cars may do -----------------------------------------------------------
    def floor_soc(self, now: float) -> Arr:
        """Lowest SoC now from which full charging still reaches the target by the end."""
        left_h = max(0.0, self.end_s - now) / 3600.0
        reachable = self.cfg.max_charge_W * self.cfg.efficiency * left_h / self.capacity_Wh
        return np.maximum(self.cfg.min_soc, self.cfg.target_soc - reachable)

    def must_charge(self, now: float) -> npt.NDArray[np.bool_]:
        """Cars that have to charge at full power now to leave with their target (with a
        ``MUST_CHARGE_MARGIN_S`` safety margin): they are not offered for reserves."""
        return self.soc < self.floor_soc(now + MUST_CHARGE_MARGIN_S)

    def operating_points(self, now: float, power_W: Arr) -> Arr:
        return np.where(self.must_charge(now), self.cfg.max_charge_W, power_W)

    def pool_cars(self, now: float, power_W: Arr) -> list[PoolCar]:
        floor = self.floor_soc(now)
        must = self.must_charge(now)
        power = np.where(must, self.cfg.max_charge_W, power_W)
        c = self.cfg
        return [
            PoolCar(car_id=self.ids[i], power_W=float(power[i]), max_charge_W=c.max_charge_W,
                    max_discharge_W=c.max_discharge_W if self.consent[i] else 0.0, soc=float(self.soc[i]),
                    min_soc=float(floor[i]), max_soc=c.max_soc, capacity_Wh=float(self.capacity_Wh[i]),
                    consent=bool(self.consent[i] and not must[i]))
            for i in range(len(self.ids))
        ]

    def envelope(self, now: float, intervals: int, interval_s: float = 900.0) -> PoolEnvelope:
        """Per quarter-hour from ``now``: the pool's power range and stored-energy range."""
        c = self.cfg
        dis = np.where(self.consent, c.max_discharge_W, 0.0).sum()
        ivs = []
        for k in range(intervals):
            floor = self.floor_soc(now + (k + 1) * interval_s)
            low_soc = np.where(self.consent, floor, np.minimum(floor, self.soc))
            ivs.append(EnvelopeInterval(
                min_power_W=-float(dis), max_power_W=c.max_charge_W * len(self.ids),
                min_energy_Wh=float((low_soc * self.capacity_Wh).sum()),
                max_energy_Wh=float((c.max_soc * self.capacity_Wh).sum()),
            ))
        return PoolEnvelope(initial_energy_Wh=float((self.soc * self.capacity_Wh).sum()), intervals=tuple(ivs),
                            charge_efficiency=c.efficiency, discharge_efficiency=c.efficiency)

    def stored_Wh(self) -> float:
        return float((self.soc * self.capacity_Wh).sum())

    # --- allocation and delivery -------------------------------------------------------
    def allocate(self, now: float, base_W: Arr, request_upward_W: float, horizon_s: float) -> tuple[Arr, float]:
        """Set-points that move the pool by ``request_upward_W`` from ``base_W``; and the shortfall."""
        result = allocate_pool(request_upward_W, self.pool_cars(now, base_W), horizon_s=horizon_s)
        return np.fromiter((result.setpoints_W[i] for i in self.ids), np.float64, len(self.ids)), result.shortfall_W

    def command(self, setpoints_W: Arr, base_W: Arr, effective_s: float) -> None:
        """Set-points (and the operating points they deviate from) that reach the cars at ``effective_s``."""
        self._pending.append(_Pending(effective_s=effective_s, setpoints_W=setpoints_W, base_W=base_W))

    @property
    def delivered_upward_W(self) -> float:
        return float(self.base_W.sum() - self.power_W.sum())

    def step(self, now: float, dt_s: float) -> None:
        while self._pending and self._pending[0].effective_s <= now + 1e-9:
            pending = self._pending.popleft()
            self.setpoint_W, self.base_W = pending.setpoints_W, pending.base_W
        move = np.clip(self.setpoint_W - self.power_W, -self.cfg.ramp_W_per_s * dt_s, self.cfg.ramp_W_per_s * dt_s)
        start = self.power_W
        self.power_W = start + move
        mean = (start + self.power_W) / 2.0
        eta = self.cfg.efficiency
        battery_W = np.where(mean >= 0, mean * eta, mean / eta)
        self.discharged_without_consent_Wh += float(-np.minimum(mean[~self.consent], 0.0).sum()) * dt_s / 3600.0
        self.soc = self.soc + battery_W * dt_s / 3600.0 / self.capacity_Wh

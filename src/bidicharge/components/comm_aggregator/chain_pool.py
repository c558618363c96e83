"""The commercial aggregator's pool when it is real: a technical aggregator on I-23
(``pool: {source: tech_aggregator}``, port ``flexibility``), instead of the modelled ``pool.py``.

What goes down the chain (the seed's I-25, "without delay"):

* the FCR held (``ReserveProvision``) whenever it changes — with the path: ``central`` (the
  aggregator follows the TSO's frequency from I-24 and sends each change as a
  ``ReserveActivation``) or ``local`` (the EVSEs follow the frequency themselves on their
  OCPP 2.1 ``LocalFrequency`` curves; the aggregator sends nothing per change);
* on the central path, every change of the requested upward power by at least
  ``threshold_W`` (``ReserveActivation``), answered with what the pool cannot deliver.

What comes back: ``ReserveStatus`` every ``status_interval_s`` — the pool's metered power and
baseline from the CPO backend's live data (I-14, OCPP meter values), which the aggregator
reports to the TSO on I-24. No latency is modelled here: every delay is the chain's own (study
step, meter interval, ISO 15118-20 charge-loop cadence, EVSE ramp).
"""

from __future__ import annotations

import math

from bidicharge.components.interfaces.i23_flexibility import (
    ReserveActivation,
    ReserveActivationAnswer,
    ReserveProvision,
    ReserveProvisionAnswer,
    ReserveStatus,
    ReserveStatusRequest,
)
from bidicharge.runtime.ports import Link


class ChainPool:
    def __init__(self, link: Link, *, path: str, status_interval_s: float) -> None:
        self.link = link
        self.path = path
        self.status_interval_s = status_interval_s
        self.held_W = 0.0
        self.shortfall_W = 0.0
        self.status: ReserveStatus | None = None
        self.notes: list[tuple[float, str]] = []  # (time, what the technical side could not hold)
        self.activations = 0
        self._provided: float | None = None
        self._last_request = math.nan
        self._next_status = -math.inf

    @property
    def power_W(self) -> float:
        return 0.0 if self.status is None else self.status.power_W

    @property
    def baseline_W(self) -> float:
        return 0.0 if self.status is None else self.status.baseline_W

    @property
    def delivered_upward_W(self) -> float:
        return 0.0 if self.status is None else self.status.upward_W

    def step(self, now: float, *, fcr_W: float, request_upward_W: float, frequency_Hz: float,
             threshold_W: float) -> None:
        if fcr_W != self._provided:
            answer = self.link.request(ReserveProvision(time_s=now, capacity_W=fcr_W, path=self.path))
            assert isinstance(answer, ReserveProvisionAnswer)
            self.held_W, self._provided, self._last_request = answer.held_W, fcr_W, math.nan
            if answer.reason:
                self.notes.append((now, f"held {answer.held_W:.0f} of {fcr_W:.0f} W: {answer.reason}"))
        if self.path == "central" and not abs(request_upward_W - self._last_request) < threshold_W:
            self.activations += 1
            answer = self.link.request(ReserveActivation(
                activation_id=f"fcr-{self.activations}", time_s=now, upward_W=round(request_upward_W, 1),
                frequency_Hz=frequency_Hz))
            assert isinstance(answer, ReserveActivationAnswer)
            self.shortfall_W, self._last_request = answer.shortfall_W, request_upward_W
        if now >= self._next_status - 1e-9:
            self._next_status = now + self.status_interval_s
            status = self.link.request(ReserveStatusRequest())
            assert isinstance(status, ReserveStatus)
            self.status = status

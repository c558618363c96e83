"""FCR/aFRR figures measured on a study's trace (what crossed I-51 and I-24), not on private state.

* the frequency: the plant operators' ``M_ME_NC_1`` reports of the frequency measured at their
  plants (I-51, IOA 1002) — the first place the step shows on any interface;
* the pool: the aggregator's reports of its delivered change (I-24, IOA 1001), of what it is
  asked to deliver (IOA 1005) and of the FCR it holds (IOA 1002); aFRR set-points are the
  TSO's ``C_SE_NC_1 act`` on IOA 2001.

Reports are spontaneous on change (a threshold), so a value holds until the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bidicharge.components.interfaces.i2x_markets import I24, I51
from bidicharge.components.tso_control_center.telecontrol import summary_values
from bidicharge.control.frequency_reserve import fcr_activation
from bidicharge.runtime.trace import TraceRecord


def series(records: Iterable[TraceRecord], interface: str, message: str, ioa: int) -> tuple[list[float], list[float]]:
    """(times, values) of one information object in the trace."""
    times, values = [], []
    for r in records:
        if r.interface == interface and r.message == message:
            v = summary_values(r.summary).get(ioa)
            if v is not None:
                times.append(r.time_s)
                values.append(v)
    return times, values


def hold(times: list[float], values: list[float], grid: npt.NDArray[np.float64], initial: float = 0.0) -> npt.NDArray[np.float64]:
    """Sample-and-hold of a reported series on a time grid."""
    if not times:
        return np.full_like(grid, initial)
    idx = np.searchsorted(np.asarray(times), grid, side="right") - 1
    out = np.asarray(values)[np.maximum(idx, 0)]
    return np.where(idx >= 0, out, initial)


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResponse:
    step_at_s: float
    full_at_s: float | None
    direction: int  # +1 under-frequency (upward), −1 over-frequency

    @property
    def time_to_full_s(self) -> float | None:
        return None if self.full_at_s is None else self.full_at_s - self.step_at_s


def step_responses(records: list[TraceRecord], *, deviation_Hz: float = 0.2, full_share: float = 0.99) -> list[StepResponse]:
    """For every frequency step to ±``deviation_Hz`` seen on I-51, the time until the pool
    reported at least ``full_share`` of its contracted FCR on I-24."""
    ft, fv = series(records, "I-51", "M_ME_NC_1 spont", I51.FREQUENCY_HZ)
    pt, pv = series(records, "I-24", "M_ME_NC_1 spont", I24.POOL_UPWARD_W)
    ct, cv = series(records, "I-24", "M_ME_NC_1 spont", I24.FCR_CONTRACTED_W)
    out: list[StepResponse] = []
    prev = 50.0
    for t, f in zip(ft, fv, strict=True):
        if abs(prev - 50.0) < deviation_Hz / 2 <= abs(f - 50.0):
            direction = 1 if f < 50.0 else -1
            contracted = float(hold(ct, cv, np.array([t]))[0])
            full = None
            for tp, p in zip(pt, pv, strict=True):
                if tp >= t and contracted > 0 and direction * p >= full_share * contracted:
                    full = tp
                    break
            out.append(StepResponse(step_at_s=t, full_at_s=full, direction=direction))
        prev = f
    return out


def fcr_tracking_rmse_W(records: list[TraceRecord], start_s: float, end_s: float, dt_s: float = 1.0) -> tuple[float, float]:
    """RMSE between the FCR the frequency asks for (from the I-51 frequency and the FCR held,
    both as reported) and the pool's reported delivery; and the contracted FCR (mean)."""
    grid = np.arange(start_s, end_s, dt_s)
    ft, fv = series(records, "I-51", "M_ME_NC_1 spont", I51.FREQUENCY_HZ)
    pt, pv = series(records, "I-24", "M_ME_NC_1 spont", I24.POOL_UPWARD_W)
    ct, cv = series(records, "I-24", "M_ME_NC_1 spont", I24.FCR_CONTRACTED_W)
    f = hold(ft, fv, grid, 50.0)
    contracted = hold(ct, cv, grid)
    requested = np.array([fcr_activation(x) for x in f]) * contracted
    delivered = hold(pt, pv, grid)
    return float(np.sqrt(np.mean((requested - delivered) ** 2))), float(contracted.mean())


def afrr_tracking(records: list[TraceRecord], start_s: float, end_s: float, *, tolerance_W: float) -> tuple[float, float]:
    """aFRR: median time from each set-point (I-24 C_SE_NC_1 act, IOA 2001) to the pool's
    reported delivery within ``tolerance_W`` of it (before the next set-point), and the RMSE
    of delivery against the set-point in force, on a 1-s grid."""
    st, sv = series(records, "I-24", "C_SE_NC_1 act", I24.AFRR_SETPOINT_W)
    pt, pv = series(records, "I-24", "M_ME_NC_1 spont", I24.POOL_UPWARD_W)
    delays = []
    for k, (t, v) in enumerate(zip(st, sv, strict=True)):
        nxt = st[k + 1] if k + 1 < len(st) else end_s
        for tp, p in zip(pt, pv, strict=True):
            if t <= tp < nxt and abs(p - v) <= tolerance_W:
                delays.append(tp - t)
                break
    grid = np.arange(start_s, end_s, 1.0)
    rmse = float(np.sqrt(np.mean((hold(st, sv, grid) - hold(pt, pv, grid)) ** 2)))
    return (float(np.median(delays)) if delays else float("nan")), rmse


# --- the real chain (scenario fcr_chain): delivery measured at the cars, on I-01 -----------------

def car_powers_W(records: Iterable[TraceRecord]) -> tuple[list[float], list[dict[str, float]]]:
    """The cars' own measurement: ``EVPresentActivePower`` of every ISO 15118-20 AC charge-loop
    request on I-01 (W, + charging), as (times, per-car values held since the last request)."""
    import json

    times: list[float] = []
    held: dict[str, float] = {}
    snapshots: list[dict[str, float]] = []
    for r in records:
        if r.interface != "I-01" or r.message != "AC_ChargeLoopReq":
            continue
        loop = json.loads(r.summary).get("bpt_dynamic_ac_cl_req_control_mode") or {}
        present = loop.get("ev_present_active_power")
        if present is None:
            continue
        held[r.source] = float(present["value"]) * 10.0 ** int(present["exponent"])
        if times and times[-1] == r.time_s:
            snapshots[-1] = dict(held)
        else:
            times.append(r.time_s)
            snapshots.append(dict(held))
    return times, snapshots


def chain_step_response(records: list[TraceRecord], *, deviation_Hz: float = 0.2,
                        full_share: float = 0.99) -> StepResponse | None:
    """The first frequency step to −``deviation_Hz`` seen on I-51, and when the cars' summed
    power (I-01) had moved up by ``full_share`` of the FCR held (I-24, IOA 1002) from what it
    was before the step."""
    ft, fv = series(records, "I-51", "M_ME_NC_1 spont", I51.FREQUENCY_HZ)
    ct, cv = series(records, "I-24", "M_ME_NC_1 spont", I24.FCR_CONTRACTED_W)
    step_at = next((t for t, f in zip(ft, fv, strict=True) if f <= 50.0 - deviation_Hz / 2), None)
    if step_at is None:
        return None
    contracted = float(hold(ct, cv, np.array([step_at]))[0])
    times, snapshots = car_powers_W(records)
    before = [s for t, s in zip(times, snapshots, strict=True) if t < step_at]
    if not before or contracted <= 0:
        return StepResponse(step_at_s=step_at, full_at_s=None, direction=1)
    baseline = sum(before[-1].values())
    full = next((t for t, s in zip(times, snapshots, strict=True)
                 if t >= step_at and baseline - sum(s.values()) >= full_share * contracted), None)
    return StepResponse(step_at_s=step_at, full_at_s=full, direction=1)

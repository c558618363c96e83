"""A bidirectional electricity meter: import (OBIS 1.8.0) and export (2.8.0) registers in Wh,
and quarter-hour interval values (the 15-minute metering period of German settlement).

Registers never decrease. Interval boundaries are aligned to the epoch (UTC quarter hours);
a step that crosses a boundary is split in proportion to time.
"""

from __future__ import annotations

from dataclasses import dataclass

INTERVAL_S = 900.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterState:
    import_Wh: float = 0.0
    export_Wh: float = 0.0
    interval_start_s: float | None = None
    interval_import_Wh: float = 0.0
    interval_export_Wh: float = 0.0
    power_W: float = 0.0  # last measured (positive = import)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalValue:
    start_s: float
    import_Wh: float
    export_Wh: float


def step(state: MeterState, now_s: float, power_W: float, dt_s: float) -> tuple[MeterState, list[IntervalValue]]:
    """Integrate `power_W` over [now_s, now_s + dt_s); return closed quarter-hour intervals."""
    closed: list[IntervalValue] = []
    imp, exp = state.import_Wh, state.export_Wh
    start = state.interval_start_s if state.interval_start_s is not None else (now_s // INTERVAL_S) * INTERVAL_S
    i_imp, i_exp = state.interval_import_Wh, state.interval_export_Wh
    t = now_s
    end = now_s + dt_s
    while t < end - 1e-9:
        boundary = start + INTERVAL_S
        seg_end = min(end, boundary)
        e = power_W * (seg_end - t) / 3600.0
        if e >= 0:
            imp += e
            i_imp += e
        else:
            exp -= e
            i_exp -= e
        t = seg_end
        if t >= boundary - 1e-9:
            closed.append(IntervalValue(start_s=start, import_Wh=i_imp, export_Wh=i_exp))
            start, i_imp, i_exp = boundary, 0.0, 0.0
    return (
        MeterState(
            import_Wh=imp,
            export_Wh=exp,
            interval_start_s=start,
            interval_import_Wh=i_imp,
            interval_export_Wh=i_exp,
            power_W=power_W,
        ),
        closed,
    )

"""OCPP 2.1 V2X operation modes applied to the power stage: a pure function of the limits in force
(:class:`AppliedLimits`, from the charging profile's current period), the local setpoint (the
energy manager's, or the wallbox's default) and the grid frequency the EVSE measures.

Sign convention of bidicharge and OCPP 2.1: positive W charges the vehicle, negative discharges
it. ``operationMode`` (OCPP 2.1 Part 2 §Q, ``OperationModeEnumType``; default ``ChargingOnly``):

=====================  =======================================================================
``Idle``               0 W.
``ChargingOnly``       the local setpoint, never discharging.
``CentralSetpoint``    the profile's ``setpoint`` (Q02/Q03: the CSMS, or an actor behind it such
                       as the aggregator on I-14, decides); without one the local setpoint.
``ExternalSetpoint``   the local (external) system's setpoint (Q04); a ``setpoint`` relayed in
                       the profile takes its place.
``ExternalLimits``     the local setpoint within the limits (Q05).
``CentralFrequency``   frequency support decided centrally: the ``setpoint`` the CSMS computed
                       from the frequency (updated with UpdateDynamicSchedule on a ``Dynamic``
                       profile); once an AFRRSignal is active and the period has a
                       ``v2xSignalWattCurve``, ``v2xBaseline`` + curve(signal) instead.
                       Without either, ``v2xBaseline`` (else 0).
``LocalFrequency``     frequency support decided by the station itself: ``v2xBaseline`` +
                       ``v2xFreqWattCurve``(measured frequency), re-evaluated every step (a
                       droop curve; under-frequency points carry negative power = discharge).
``LocalLoadBalancing`` the station balances itself: the local setpoint within the limits and
                       within the station's own connection share (``local_limit_W`` /
                       ``local_export_limit_W`` of its settings). *Interpretation:* OCPP 2.1 leaves
                       the algorithm to the station and carries no site measurement; ours is the
                       share of the site connection the installer gave the wallbox.
=====================  =======================================================================

In every mode the result stays within ``limit`` and ``dischargeLimit`` ("the overshoot when
following setpoint must remain within these values", ChargingSchedulePeriodType.setpoint).
Curves are interpolated linearly between their points and held flat beyond the ends.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

NOMINAL_FREQUENCY_HZ = 50.0

Curve = tuple[tuple[float, float], ...]  # (x, power_W) points, x ascending: Hz or aFRR signal


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedLimits:
    """What the power stage must do now (W; positive = into the vehicle). ``None`` = no constraint."""

    operation_mode: str = "ChargingOnly"
    limit_W: float | None = None
    setpoint_W: float | None = None
    max_discharge_W: float | None = None  # magnitude ≥ 0 (OCPP's dischargeLimit is ≤ 0)
    setpoint_per_phase_W: tuple[float | None, float | None, float | None] | None = None
    profile_id: int | None = None
    baseline_W: float | None = None  # v2xBaseline
    freq_watt_curve: Curve | None = None  # v2xFreqWattCurve: (Hz, W)
    signal_watt_curve: Curve | None = None  # v2xSignalWattCurve: (aFRR signal, W)
    afrr_signal: int | None = None  # the AFRRSignal in force (its timestamp has passed)


def curve_from(points: Sequence[Any] | None, x_field: str) -> Curve | None:
    """A wire curve (``V2XFreqWattPointType``/``V2XSignalWattPointType`` objects) as sorted pairs."""
    if not points:
        return None
    return tuple(sorted((float(getattr(p, x_field)), float(p.power)) for p in points))


def curve_power_W(curve: Curve, x: float) -> float:
    """Linear interpolation between the points; flat beyond the first and last."""
    xs = [p[0] for p in curve]
    if x <= xs[0]:
        return curve[0][1]
    if x >= xs[-1]:
        return curve[-1][1]
    i = bisect_right(xs, x)
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def v2x_power_W(local_W: float, limits: AppliedLimits, *, frequency_Hz: float | None = None,
                local_limit_W: float | None = None, local_export_limit_W: float | None = None) -> float:
    """The power-stage setpoint under ``limits`` (see the table in the module docstring).

    ``frequency_Hz``: the EVSE's measurement (``None``: none wired; LocalFrequency then uses the
    nominal 50 Hz — the station refuses such profiles up front, see ``StationCore``)."""
    if limits.profile_id is None:
        return local_W
    mode = limits.operation_mode
    baseline = limits.baseline_W or 0.0
    if mode == "Idle":
        return 0.0
    if mode == "LocalFrequency" and limits.freq_watt_curve is not None:
        f = NOMINAL_FREQUENCY_HZ if frequency_Hz is None else frequency_Hz
        wanted = baseline + curve_power_W(limits.freq_watt_curve, f)
    elif mode == "CentralFrequency":
        if limits.afrr_signal is not None and limits.signal_watt_curve is not None:
            wanted = baseline + curve_power_W(limits.signal_watt_curve, limits.afrr_signal)
        elif limits.setpoint_W is not None:
            wanted = limits.setpoint_W
        else:
            wanted = baseline
    elif mode in ("CentralSetpoint", "ExternalSetpoint") and limits.setpoint_W is not None:
        wanted = limits.setpoint_W  # ExternalSetpoint: a CSMS may relay the external system's value itself
    else:
        wanted = local_W
    if mode == "ChargingOnly":
        wanted = max(0.0, wanted)
    if mode == "LocalLoadBalancing":
        if local_limit_W is not None:
            wanted = min(wanted, local_limit_W)
        if local_export_limit_W is not None:
            wanted = max(wanted, -local_export_limit_W)
    if limits.limit_W is not None:
        wanted = min(wanted, limits.limit_W)
    if limits.max_discharge_W is not None:
        wanted = max(wanted, -limits.max_discharge_W)
    return wanted

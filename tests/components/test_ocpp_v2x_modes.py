"""OCPP 2.1 V2X operation modes with behaviour at the power stage (issue 4, item 3).

* the mode table of :func:`bidicharge.components.evse.ocpp_v2x.v2x_power_W`, case by case;
* LocalFrequency in a study: a wallbox measuring an ``hv_grid`` in the prequalification double
  pulse (−200 mHz after 300 s) discharges per its ``v2xFreqWattCurve`` in the next step;
* CentralFrequency on the station core: the CSMS's setpoint, its UpdateDynamicSchedule updates,
  and an AFRRSignal that takes effect at its timestamp through the ``v2xSignalWattCurve``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from bidicharge.components.cpo_backend.engine import CsmsEngine, SchedulePeriod
from bidicharge.components.cpo_backend.store import CsmsStore
from bidicharge.components.evse.ocpp_station_core import StationCore
from bidicharge.components.evse.ocpp_v2x import AppliedLimits, curve_power_W, v2x_power_W
from bidicharge.protocols.ocppj import OcppVersion, v2_1
from bidicharge.runtime.component import COMPONENT_TYPES, Component, ComponentConfig, Phase, component_type
from bidicharge.runtime.ports import requires
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.study import run_study

FCR_CURVE = ((49.8, -11000.0), (49.99, 0.0), (50.01, 0.0), (50.2, 11000.0))  # Hz, W (+ charges)
SIGNAL_CURVE = ((-100, -8000.0), (0, 0.0), (100, 8000.0))  # aFRR signal (%), W


def lim(mode: str, **kw: Any) -> AppliedLimits:
    return AppliedLimits(operation_mode=mode, profile_id=1, **kw)


@pytest.mark.parametrize(("local_W", "limits", "frequency_Hz", "expected_W"), [
    (7000, AppliedLimits(), None, 7000),  # no profile: the local setpoint
    (7000, lim("Idle"), None, 0),
    (-3000, lim("ChargingOnly"), None, 0),  # never discharges
    (7000, lim("ChargingOnly", limit_W=4000), None, 4000),
    (7000, lim("CentralSetpoint", setpoint_W=-5000), None, -5000),
    (7000, lim("CentralSetpoint", setpoint_W=-5000, max_discharge_W=2000), None, -2000),  # within dischargeLimit
    (-4000, lim("ExternalSetpoint"), None, -4000),  # the external (local) system decides
    (-9000, lim("ExternalLimits", max_discharge_W=6000), None, -6000),
    (7000, lim("LocalFrequency", freq_watt_curve=FCR_CURVE), 49.8, -11000),  # full under-frequency
    (7000, lim("LocalFrequency", freq_watt_curve=FCR_CURVE), 49.9, pytest.approx(-11000 * 0.09 / 0.19)),
    (7000, lim("LocalFrequency", freq_watt_curve=FCR_CURVE), 50.0, 0),  # dead band
    (7000, lim("LocalFrequency", freq_watt_curve=FCR_CURVE, baseline_W=2000), 50.3, 13000),  # flat beyond, + baseline
    (7000, lim("LocalFrequency", freq_watt_curve=FCR_CURVE, baseline_W=2000, limit_W=11000), 50.3, 11000),
    (7000, lim("CentralFrequency", setpoint_W=-3000), 49.8, -3000),  # the CSMS decides, not the local frequency
    (7000, lim("CentralFrequency", setpoint_W=-3000, signal_watt_curve=SIGNAL_CURVE, afrr_signal=50), None, 4000),
    (7000, lim("CentralFrequency", baseline_W=1000, signal_watt_curve=SIGNAL_CURVE, afrr_signal=-100), None, -7000),
    (7000, lim("CentralFrequency"), None, 0),  # nothing sent yet: baseline 0
])
def test_operation_mode_table(local_W: float, limits: AppliedLimits, frequency_Hz: float | None,
                              expected_W: float) -> None:
    assert v2x_power_W(local_W, limits, frequency_Hz=frequency_Hz) == expected_W


def test_local_load_balancing_keeps_the_wallboxs_share_of_the_site() -> None:
    limits = lim("LocalLoadBalancing", max_discharge_W=9000)
    assert v2x_power_W(11000, limits, local_limit_W=6000, local_export_limit_W=4000) == 6000
    assert v2x_power_W(-11000, limits, local_limit_W=6000, local_export_limit_W=4000) == -4000
    assert v2x_power_W(-11000, limits) == -9000  # no share configured: the profile's limits only


def test_curve_interpolates_and_holds_its_ends() -> None:
    assert curve_power_W(FCR_CURVE, 40.0) == -11000 and curve_power_W(FCR_CURVE, 60.0) == 11000
    assert curve_power_W(FCR_CURVE, 50.105) == pytest.approx(5500)


# ---- LocalFrequency in a study: hv_grid double pulse -> the wallbox's own droop ---------------

SENDER_KIND = "test_ocpp_v2x_sender"


class SenderConfig(ComponentConfig):
    pass


class LocalFrequencySender(Component):
    """Stands in for the technical aggregator: one LocalFrequency profile to wb_1 over the CSMS."""

    kind = SENDER_KIND
    catalogue_id = "C-TECH-AGG"
    Config = SenderConfig
    PORTS = (requires("cpo", "I-14", "in-memory"),)
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ()
    answers: ClassVar[list[str]] = []

    def step(self, now: float, dt_s: float) -> None:
        if now - self.context.start_s != 60:
            return
        link = self.link("cpo")
        assert link is not None
        cpo: Any = link.peer
        for evse in ("wb_1", "wb_2"):
            request = cpo.engine.charging_profile_request(evse, OcppVersion.V2_1, 1, [SchedulePeriod(
                operation_mode="LocalFrequency", freq_watt_curve=FCR_CURVE)])
            self.answers.append(str(cpo.call_station(evse, request).status))


if SENDER_KIND not in COMPONENT_TYPES:
    component_type(LocalFrequencySender)


def test_local_frequency_wallbox_discharges_per_its_curve_in_the_next_step() -> None:
    bev = {"capacity_kWh": 60, "initial_soc": 0.6, "min_soc": 0.2, "departure_soc": 0.8}
    raw = {
        "name": "v2x_local_frequency", "start": "2024-06-03T10:00:00+02:00", "duration": "20min", "step": "10s",
        "seed": 1, "trace": "full",
        "components": {
            "grid": {"component": "hv_grid", "config": {"frequency": {"mode": "double_pulse"}}},
            "cpo": {"component": "cpo_backend"},
            "ev_1": {"component": "bev", "config": bev},
            "ev_2": {"component": "bev", "config": bev},
            "wb_1": {"component": "evse", "config": {"max_power_W": 11000},
                     "connect": {"vehicle": "ev_1.charger", "backend": "cpo.ocpp", "frequency": "grid.distribution"}},
            # no frequency measurement: a LocalFrequency profile is refused, not silently run on 50 Hz
            "wb_2": {"component": "evse", "config": {"max_power_W": 11000},
                     "connect": {"vehicle": "ev_2.charger", "backend": "cpo.ocpp"}},
            "agg": {"component": SENDER_KIND, "connect": {"cpo": "cpo.aggregator"}},
        },
    }
    LocalFrequencySender.answers.clear()
    result = run_study(parse_scenario(raw, file="v2x_local_frequency.yaml", base_dir="."))
    assert LocalFrequencySender.answers == ["Accepted", "Rejected"]
    t = result.times_s - result.scenario.start_s
    f = result.column("grid.frequency_Hz")
    setpoint = result.column("wb_1.setpoint_W")
    power = result.column("ev_1.power_W")
    step = int(result.scenario.step_s)
    (pulse,) = [i for i in range(1, len(t)) if f[i] < 49.81 and f[i - 1] > 49.99][:1]
    # the grid's frequency of step `pulse` is what the wallbox measures in the step after it
    assert setpoint[pulse] == pytest.approx(curve_power_W(FCR_CURVE, f[pulse - 1]))
    assert setpoint[pulse + 1] == pytest.approx(-11000)
    assert power[pulse + 1] < -10000  # the car gives (stage ramp 2 kW/s: 10 kW within the 10 s step)
    before = (t >= 70) & (t < pulse * step)
    assert (setpoint[before] == 0).all()  # nominal frequency: the dead band, no charging either
    assert (result.column("wb_2.setpoint_W") == 11000).all()  # wb_2 charges as before
    assert (result.column("grid.injection_MW")[pulse + 2:pulse + 5] > 0.009).all()  # it counts in the grid


# ---- CentralFrequency on the station core: setpoint, UpdateDynamicSchedule, AFRRSignal -------

class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)


def central_frequency_station() -> tuple[StationCore, Clock, list[AppliedLimits]]:
    clock = Clock()
    applied: list[AppliedLimits] = []
    core = StationCore(identity="wb", now=lambda: clock.now, power_stage=lambda _e, limits: applied.append(limits))
    core.begin_transaction(1, None)
    csms = CsmsEngine(CsmsStore("sqlite://"), now=lambda: clock.now)
    csms._next_profile_id = 7
    profile = csms.charging_profile_request("wb", OcppVersion.V2_1, 1, [SchedulePeriod(
        operation_mode="CentralFrequency", setpoint_W=-2000, signal_watt_curve=SIGNAL_CURVE)],
        start=clock.now, purpose="TxDefaultProfile", kind="Dynamic")
    assert core.on_set_profile(profile).status == "Accepted"
    return core, clock, applied


def test_central_frequency_follows_the_csms_setpoint_and_its_dynamic_updates() -> None:
    core, clock, applied = central_frequency_station()
    assert v2x_power_W(11000, applied[-1]) == -2000
    update = CsmsEngine.dynamic_update_request(7, setpoint_W=-6500)
    assert core.on_update_dynamic_schedule(update).status == "Accepted"
    assert v2x_power_W(11000, core.evses[1].applied) == -6500
    unknown = core.on_update_dynamic_schedule(CsmsEngine.dynamic_update_request(99, setpoint_W=0))
    assert unknown.status == "Rejected" and unknown.status_info.reason_code == "UnknownProfile"


def test_an_afrr_signal_changes_the_power_at_its_timestamp() -> None:
    core, clock, applied = central_frequency_station()
    at = clock.now + timedelta(seconds=30)
    assert core.on_afrr_signal(v2_1.AFRRSignalRequest(timestamp=at, signal=-50)).status == "Accepted"
    assert v2x_power_W(11000, core.evses[1].applied) == -2000  # not yet: the setpoint still holds
    clock.now = at - timedelta(seconds=1)
    core.refresh()
    assert v2x_power_W(11000, core.evses[1].applied) == -2000
    clock.now = at
    core.refresh()
    assert v2x_power_W(11000, core.evses[1].applied) == -4000  # curve(-50) = -4 kW
    core.on_afrr_signal(v2_1.AFRRSignalRequest(timestamp=at + timedelta(seconds=4), signal=100))
    clock.now = at + timedelta(seconds=4)
    core.refresh()
    assert v2x_power_W(11000, core.evses[1].applied) == 8000


def test_afrr_signal_without_a_signal_curve_is_refused() -> None:
    core = StationCore(identity="wb", now=lambda: datetime(2024, 6, 3, tzinfo=UTC))
    answer = core.on_afrr_signal(v2_1.AFRRSignalRequest(timestamp=datetime(2024, 6, 3, tzinfo=UTC), signal=10))
    assert answer.status == "Rejected" and answer.status_info.reason_code == "NoProfile"

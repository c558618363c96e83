"""Typed readings from a scanned device, for the HEMS side (the inverse of the profiles).

Real devices differ: some serve only the legacy 1xx models, some only IEEE 1547 7xx, some
leave points unimplemented. These functions prefer 7xx/802, fall back to 1xx/124, and
refuse values that cannot be true (SoC outside 0..100 %, a PV inverter drawing more than
standby power, a frequency outside 45..65 Hz) with `RemoteProtocolError`, so that the HEMS
keeps its last good value and says why (issue 6 "bad input"). Signs follow the project
convention: battery `power_W` positive = charging, meter power positive = import.
"""

from __future__ import annotations

from .battery import BatteryMeasurement
from .client import ScannedDevice, ScannedModel
from .errors import ModbusException, RemoteProtocolError
from .meter import MeterMeasurement
from .points import PointValue
from .pv_inverter import InverterState, PvInverterMeasurement

METER_MODEL_IDS = (203, 204, 202, 201)
_STATES = frozenset(float(s.value) for s in InverterState)
STANDBY_W = 50.0  # an inverter may draw this much at night and report it as negative power


def _bad(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, wire_code=ModbusException.SERVER_DEVICE_FAILURE)


def _models(device: ScannedDevice, *model_ids: int) -> list[ScannedModel]:
    return [m for model_id in model_ids for m in device.models if m.model_id == model_id]


def _first(device: ScannedDevice, *sources: tuple[int, str]) -> float | None:
    """The first implemented numeric value among (model id, point) sources."""
    for model_id, path in sources:
        for model in _models(device, model_id):
            value: PointValue = model.values.get(path)
            if isinstance(value, int | float):
                return float(value)
    return None


def _need(value: float | None, what: str) -> float:
    if value is None:
        raise _bad(f"device does not report {what}")
    return value


def _frequency(device: ScannedDevice, *sources: tuple[int, str]) -> float:
    hz = _first(device, *sources)
    if hz is None:
        return 50.0
    if not 45 <= hz <= 65:
        raise _bad(f"frequency {hz} Hz is not plausible")
    return hz


def pv_measurement(device: ScannedDevice) -> PvInverterMeasurement:
    ac_W = _need(_first(device, (701, "W"), (103, "W"), (102, "W"), (101, "W")), "AC power")
    rating = _first(device, (702, "WMaxRtg"), (120, "WRtg")) or 0.0
    if ac_W < -max(STANDBY_W, 0.01 * rating):
        raise _bad(f"PV inverter reports {ac_W} W (drawing power)")
    strings = _models(device, 160)
    power: tuple[float, ...] = ()
    voltage: tuple[float, ...] = ()
    if strings:
        values = strings[0].values
        n = sum(1 for path in values if path.endswith(".DCW"))
        power = tuple(float(values.get(f"module[{i}].DCW") or 0) for i in range(n))
        voltage = tuple(float(values.get(f"module[{i}].DCV") or 0) for i in range(n))
    state = _first(device, (103, "St"), (102, "St"), (101, "St"))
    return PvInverterMeasurement(
        ac_power_W=ac_W,
        energy_Wh=_first(device, (701, "TotWhInj"), (103, "WH"), (102, "WH"), (101, "WH")) or 0.0,
        string_power_W=power,
        string_voltage_V=voltage,
        voltage_V=_first(device, (701, "LNV"), (103, "PhVphA"), (101, "PhVphA")) or 230.0,
        frequency_Hz=_frequency(device, (701, "Hz"), (103, "Hz"), (101, "Hz")),
        temperature_C=_first(device, (701, "TmpCab"), (103, "TmpCab")) or 0.0,
        state=InverterState(int(state)) if state in _STATES else InverterState.MPPT,
    )


def battery_measurement(device: ScannedDevice) -> BatteryMeasurement:
    out_W = _need(_first(device, (802, "W"), (701, "W"), (103, "W")), "battery power")
    soc_pct = _need(_first(device, (802, "SoC"), (713, "SoC"), (124, "ChaState")), "state of charge")
    if not 0 <= soc_pct <= 100:
        raise _bad(f"state of charge {soc_pct} % is not plausible")
    soh_pct = _first(device, (802, "SoH"), (713, "SoH"))
    if soh_pct is not None and not 0 <= soh_pct <= 100:
        raise _bad(f"state of health {soh_pct} % is not plausible")
    return BatteryMeasurement(
        power_W=-out_W,  # SunSpec: positive = discharging
        soc=soc_pct / 100,
        soh=1.0 if soh_pct is None else soh_pct / 100,
        dc_voltage_V=_first(device, (802, "V"), (124, "InBatV"), (103, "DCV")) or 0.0,
        charged_Wh=_first(device, (701, "TotWhAbs")) or 0.0,
        discharged_Wh=_first(device, (701, "TotWhInj"), (103, "WH")) or 0.0,
        cycles=int(_first(device, (802, "NCyc")) or 0),
        voltage_V=_first(device, (701, "LNV"), (103, "PhVphA")) or 230.0,
        frequency_Hz=_frequency(device, (701, "Hz"), (103, "Hz")),
    )


def meter_measurement(device: ScannedDevice) -> MeterMeasurement:
    meters = _models(device, *METER_MODEL_IDS)
    if not meters:
        raise _bad("device has no meter model (201-204)")
    model_id = meters[0].model_id
    total = _need(_first(device, (model_id, "W")), "meter power")
    phases = [_first(device, (model_id, f"Wph{p}")) for p in "ABC"]
    if any(p is None for p in phases):  # single-phase or phase values unimplemented
        phases = [total, 0.0, 0.0] if model_id == 201 else [total / 3] * 3
    volts = [_first(device, (model_id, f"PhVph{p}"), (model_id, "PhV")) or 230.0 for p in "ABC"]
    return MeterMeasurement(
        phase_power_W=(float(phases[0] or 0), float(phases[1] or 0), float(phases[2] or 0)),
        phase_voltage_V=(volts[0], volts[1], volts[2]),
        frequency_Hz=_frequency(device, (model_id, "Hz")),
        import_energy_Wh=_first(device, (model_id, "TotWhImp")) or 0.0,
        export_energy_Wh=_first(device, (model_id, "TotWhExp")) or 0.0,
    )

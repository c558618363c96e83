"""IEEE 1547-2018 grid-support settings of a DER as SunSpec models 703, 705-712, 715.

The values are the IEEE 1547-2018 defaults for a Category B / abnormal-performance
Category II inverter (Table 8 volt-var, Table 10 volt-watt, Tables 11/12 voltage trip,
Tables 14/15 frequency trip, Table 24 frequency droop); they are served so that a HEMS or
a DERMS can read and change them. The physics in bidicharge does not yet act on the
curves: writes are range- and symbol-checked, stored and read back.
"""

from __future__ import annotations

from .common import model
from .image import ModelImage
from .points import PointValue

N_CURVES = 2  # a default curve and one the operator may load


def _curves(points: dict[str, tuple[float, ...]], extra: dict[str, PointValue]) -> dict[str, PointValue]:
    values: dict[str, PointValue] = {}
    n = len(next(iter(points.values())))
    for crv in range(N_CURVES):
        values[f"Crv[{crv}].ActPt"] = n
        values[f"Crv[{crv}].ReadOnly"] = 1 if crv == 0 else 0
        values |= {f"Crv[{crv}].{key}": value for key, value in extra.items()}
        for name, series in points.items():
            values |= {f"Crv[{crv}].Pt[{i}].{name}": v for i, v in enumerate(series)}
    return values


def enter_service() -> ModelImage:
    # IEEE 1547-2018 §4.10.3: enter service between 91.7 % and 105 % of VN, 59.5..60.1 Hz
    # (here 49.5..50.1 Hz for 50 Hz systems), 300 s delay, 300 s ramp.
    return model(
        703,
        {"V_SF": -1, "Hz_SF": -2, "ES": 1, "ESVHi": 105, "ESVLo": 91.7, "ESHzHi": 50.1, "ESHzLo": 49.5}
        | {"ESDlyTms": 300, "ESRndTms": 0, "ESRmpTms": 300, "ESDlyRemTms": 0},
    )


def volt_var() -> ModelImage:
    # Table 8, Category B: V1..V4 = 92, 98, 102, 108 % VN; Q = +44, 0, 0, -44 % of VAr max
    values: dict[str, PointValue] = {"V_SF": -2, "DeptRef_SF": -1, "RspTms_SF": 0, "Ena": 0, "RvrtTms": 0}
    values |= {"AdptCrvReq": 0, "AdptCrvRslt": 0, "RvrtRem": 0, "RvrtCrv": 0}
    values |= _curves(
        {"V": (92, 98, 102, 108), "Var": (44, 0, 0, -44)},
        {
            "DeptRef": 1,
            "Pri": 1,
            "VRef": 100,
            "VRefAuto": 100,
            "VRefAutoEna": 0,
            "VRefAutoTms": 300,
            "RspTms": 5,
        },
    )
    return model(705, values, counts={"Crv": N_CURVES, "Pt": 4})


def volt_watt() -> ModelImage:
    # Table 10: P = 100 % at 106 % VN down to 20 % at 110 % VN
    values: dict[str, PointValue] = {"V_SF": -2, "DeptRef_SF": -1, "RspTms_SF": 0, "Ena": 0, "RvrtTms": 0}
    values |= {"AdptCrvReq": 0, "AdptCrvRslt": 0, "RvrtRem": 0, "RvrtCrv": 0}
    values |= _curves({"V": (106, 110), "W": (100, 20)}, {"DeptRef": 0, "RspTms": 10})
    return model(706, values, counts={"Crv": N_CURVES, "Pt": 2})


_TRIP = {
    # model: (axis point, axis scale factor, must-trip, may-trip, momentary-cessation) as ((x...), (s...))
    707: ("V", "V_SF", ((88, 50), (21, 2)), ((88, 50), (21, 2)), ((50, 50), (0.16, 0.16))),  # Table 11
    708: (
        "V",
        "V_SF",
        ((110, 120), (13, 0.16)),
        ((110, 120), (13, 0.16)),
        ((110, 110), (0.16, 0.16)),
    ),  # Table 12
    709: ("Hz", "Hz_SF", ((47.5, 47), (300, 0.16)), ((47.5, 47), (300, 0.16)), ((47, 47), (0.16, 0.16))),
    710: ("Hz", "Hz_SF", ((51.5, 52), (300, 0.16)), ((51.5, 52), (300, 0.16)), ((52, 52), (0.16, 0.16))),
}


def trip_curve(model_id: int) -> ModelImage:
    """Models 707-710: low/high voltage and frequency ride-through and trip curves."""
    axis, axis_sf, must, may, cess = _TRIP[model_id]
    values: dict[str, PointValue] = {axis_sf: -2, "Tms_SF": -2, "Ena": 1, "AdptCrvReq": 0, "AdptCrvRslt": 0}
    for crv in range(N_CURVES):
        values[f"Crv[{crv}].ReadOnly"] = 1 if crv == 0 else 0
        for name, (xs, ts) in (("MustTrip", must), ("MayTrip", may), ("MomCess", cess)):
            values[f"Crv[{crv}].{name}.ActPt"] = len(xs)
            for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
                values[f"Crv[{crv}].{name}.Pt[{i}].{axis}"] = x
                values[f"Crv[{crv}].{name}.Pt[{i}].Tms"] = t
    return model(model_id, values, counts={"Crv": N_CURVES, "Pt": 2})


def freq_droop() -> ModelImage:
    # Table 24: dead band 36 mHz, droop 5 %, open-loop response time 5 s
    values: dict[str, PointValue] = {"Db_SF": -3, "K_SF": -3, "RspTms_SF": 0, "Ena": 1, "AdptCtlReq": 0}
    values |= {"AdptCtlRslt": 0, "RvrtTms": 0, "RvrtRem": 0, "RvrtCtl": 0}
    for ctl in range(N_CURVES):
        values |= {f"Ctl[{ctl}].DbOf": 0.036, f"Ctl[{ctl}].DbUf": 0.036, f"Ctl[{ctl}].KOf": 0.05}
        values |= {f"Ctl[{ctl}].KUf": 0.05, f"Ctl[{ctl}].RspTms": 5, f"Ctl[{ctl}].PMin": 0}
        values[f"Ctl[{ctl}].ReadOnly"] = 1 if ctl == 0 else 0
    return model(711, values, counts={"Ctl": N_CURVES})


def watt_var() -> ModelImage:
    # Table 9 (watt-var, Category B): Q = 0 up to 50 % P, -44 % at 100 % P
    values: dict[str, PointValue] = {
        "W_SF": -1,
        "DeptRef_SF": -1,
        "Ena": 0,
        "AdptCrvReq": 0,
        "AdptCrvRslt": 0,
    }
    values |= {"RvrtTms": 0, "RvrtRem": 0, "RvrtCrv": 0}
    values |= _curves({"W": (20, 50, 100), "Var": (0, 0, -44)}, {"DeptRef": 1, "Pri": 1})
    return model(712, values, counts={"Crv": N_CURVES, "Pt": 3})


def der_control() -> ModelImage:
    # 715: remote control allowed, heartbeats at 0, operation "normal"
    return model(715, {"LocRemCtl": 0, "DERHb": 0, "ControllerHb": 0, "AlarmReset": 0, "OpCtl": 0})


def grid_support_models() -> list[ModelImage]:
    return [
        enter_service(),
        volt_var(),
        volt_watt(),
        *(trip_curve(model_id) for model_id in (707, 708, 709, 710)),
        freq_droop(),
        watt_var(),
    ]

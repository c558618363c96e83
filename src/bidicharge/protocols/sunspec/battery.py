"""A home battery as a SunSpec device: models 1, 103, 120, 124, 701, 702, 704, 713, 802.

The battery inverter is seen through 103/701 (AC side) and 702 (ratings); the battery bank
through 713 (storage capacity) and 802 (battery base model). Controls:

* 704 `WSetEna` + `WSet` (IEEE 1547-2018 §4.6.2 "constant active power"): the active-power
  setpoint, SunSpec sign (positive = injection = discharging), within ± 702 `WMaxRtg`.
* 124 `StorCtl_Mod` bit 0 CHARGE / bit 1 DISCHARGE with `InWRte` / `OutWRte` in % of
  `WChaMax` / 702 `WMax` (legacy storage control): caps on charge and discharge power.
* 702 `WChaRteMax` / `WDisChaRteMax`: settings that cap charge and discharge power.
* 802 `SoCRsvMin` / `SocRsvMax`: the SoC band the battery must keep.

The typed side follows the project convention (`core/units`): `power_W` positive means
power INTO the battery (charging). Registers 103/701/802 `W` are positive when discharging.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import DeviceInfo, common_model, model, scale_factor_for
from .image import DeviceImage

BATTERY_MODELS = (1, 103, 120, 124, 701, 702, 704, 713, 802)

_CHA_ST = {"idle": 6, "charging": 4, "discharging": 3, "full": 5, "empty": 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryRating:
    capacity_Wh: float
    max_charge_W: float
    max_discharge_W: float
    nominal_voltage_V: float = 230.0
    battery_voltage_V: float = 400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryMeasurement:
    power_W: float  # positive = charging
    soc: float  # 0..1
    soh: float = 1.0
    dc_voltage_V: float = 400.0
    charged_Wh: float = 0.0  # lifetime AC energy absorbed
    discharged_Wh: float = 0.0  # lifetime AC energy delivered
    cycles: int = 0
    voltage_V: float = 230.0
    frequency_Hz: float = 50.0


@dataclass(frozen=True, slots=True, kw_only=True)
class BatterySetpoints:
    power_setpoint_W: float | None  # positive = charge; None = the battery decides
    max_charge_W: float
    max_discharge_W: float
    soc_min: float  # 0..1
    soc_max: float


class BatteryProfile:
    def __init__(self, info: DeviceInfo, rating: BatteryRating) -> None:
        self.info = info
        self.rating = rating
        self.w_sf = scale_factor_for(max(rating.max_charge_W, rating.max_discharge_W))
        self.wh_sf = scale_factor_for(rating.capacity_Wh, signed=False)

    def build(self, *, base_address: int = 40000) -> DeviceImage:
        r, w_sf, wh_sf = self.rating, self.w_sf, self.wh_sf
        w_max = max(r.max_charge_W, r.max_discharge_W)
        return DeviceImage(
            [
                common_model(self.info),
                model(
                    103,
                    {"A_SF": -2, "V_SF": -1, "W_SF": w_sf, "Hz_SF": -2, "VA_SF": w_sf, "PF_SF": -2}
                    | {"WH_SF": 0, "DCA_SF": -2, "DCV_SF": -1, "DCW_SF": w_sf, "Tmp_SF": -1},
                ),
                model(
                    120,
                    {"DERTyp": 82, "WRtg_SF": w_sf, "WRtg": w_max, "VARtg_SF": w_sf, "VARtg": w_max}
                    | {"WHRtg_SF": wh_sf, "WHRtg": r.capacity_Wh, "MaxChaRte_SF": w_sf}
                    | {
                        "MaxChaRte": r.max_charge_W,
                        "MaxDisChaRte_SF": w_sf,
                        "MaxDisChaRte": r.max_discharge_W,
                    },
                ),
                model(
                    124,
                    {"WChaMax_SF": w_sf, "WChaMax": r.max_charge_W, "WChaDisChaGra_SF": 0, "StorCtl_Mod": 0}
                    | {"MinRsvPct_SF": -1, "MinRsvPct": 0, "ChaState_SF": -1, "StorAval_SF": wh_sf}
                    | {"InBatV_SF": -1, "InOutWRte_SF": -1, "OutWRte": 100, "InWRte": 100, "ChaGriSet": 1}
                    | {"InOutWRte_RvrtTms": 0},
                ),
                model(
                    701,
                    {"ACType": 2, "A_SF": -2, "V_SF": -1, "Hz_SF": -3, "W_SF": w_sf, "PF_SF": -3}
                    | {"VA_SF": w_sf, "Var_SF": w_sf, "TotWh_SF": 0, "TotVarh_SF": 0, "Tmp_SF": -1},
                ),
                model(
                    702,
                    {
                        "W_SF": w_sf,
                        "PF_SF": -3,
                        "VA_SF": w_sf,
                        "Var_SF": w_sf,
                        "V_SF": -1,
                        "A_SF": -1,
                        "S_SF": 0,
                    }
                    | {"WMaxRtg": w_max, "VAMaxRtg": w_max, "WChaRteMaxRtg": r.max_charge_W}
                    | {"WDisChaRteMaxRtg": r.max_discharge_W, "VNomRtg": r.nominal_voltage_V, "WMax": w_max}
                    | {"WChaRteMax": r.max_charge_W, "WDisChaRteMax": r.max_discharge_W},
                ),
                model(
                    704,
                    {"PF_SF": -3, "WMaxLimPct_SF": -1, "WSet_SF": 0, "WSetPct_SF": -1, "VarSet_SF": 0}
                    | {"VarSetPct_SF": -1, "WMaxLimPctEna": 0, "WMaxLimPct": 100, "WSetEna": 0, "WSetMod": 1}
                    | {
                        "WSet": 0,
                        "VarSetEna": 0,
                        "WSetRvrt": 0,
                        "WSetEnaRvrt": 0,
                        "WSetRvrtTms": 0,
                        "WSetRvrtRem": 0,
                    },
                ),
                model(713, {"WH_SF": wh_sf, "Pct_SF": -1, "WHRtg": r.capacity_Wh, "Sta": 0}),
                model(
                    802,
                    {
                        "AHRtg_SF": 0,
                        "WHRtg_SF": wh_sf,
                        "WChaDisChaMax_SF": w_sf,
                        "DisChaRte_SF": 0,
                        "SoC_SF": -1,
                    }
                    | {"DoD_SF": -1, "SoH_SF": -1, "V_SF": -1, "CellV_SF": -3, "A_SF": -1, "AMax_SF": -1}
                    | {"W_SF": w_sf, "AHRtg": round(r.capacity_Wh / r.battery_voltage_V)}
                    | {
                        "WHRtg": r.capacity_Wh,
                        "WChaRteMax": r.max_charge_W,
                        "WDisChaRteMax": r.max_discharge_W,
                    }
                    | {"SoCMax": 100, "SoCMin": 0, "SocRsvMax": 100, "SoCRsvMin": 0, "LocRemCtl": 0, "Typ": 4}
                    | {"State": 3},
                ),
            ],
            base_address=base_address,
        )

    def update(self, device: DeviceImage, m: BatteryMeasurement) -> None:
        out_W = -m.power_W  # SunSpec DER sign: positive = discharging into the AC side
        state = "charging" if m.power_W > 0 else "discharging" if m.power_W < 0 else "idle"
        if m.soc >= 0.999 and m.power_W >= 0:
            state = "full"
        elif m.soc <= 0.001 and m.power_W <= 0:
            state = "empty"
        current_A = out_W / (3 * m.voltage_V)
        dc_A = out_W / m.dc_voltage_V if m.dc_voltage_V else 0.0
        available_Wh = m.soc * self.rating.capacity_Wh * m.soh
        device.model(103).update(
            # 103 currents are unsigned magnitudes; the direction is in W
            {"A": abs(current_A) * 3, "AphA": abs(current_A), "AphB": abs(current_A), "AphC": abs(current_A)}
            | {"PhVphA": m.voltage_V, "PhVphB": m.voltage_V, "PhVphC": m.voltage_V, "W": out_W}
            | {"Hz": m.frequency_Hz, "VA": abs(out_W), "PF": 100, "WH": round(m.discharged_Wh) or None}
            | {"DCA": abs(dc_A), "DCV": m.dc_voltage_V, "DCW": out_W, "TmpCab": 25.0, "St": 4},
        )
        device.model(124).update(
            {
                "ChaState": m.soc * 100,
                "StorAval": available_Wh,
                "InBatV": m.dc_voltage_V,
                "ChaSt": _CHA_ST[state],
            }
        )
        device.model(701).update(
            {"St": 1, "InvSt": 3, "ConnSt": 1, "W": out_W, "VA": abs(out_W), "PF": 1, "A": current_A * 3}
            | {"LNV": m.voltage_V, "Hz": m.frequency_Hz}
            | {"TotWhInj": round(m.discharged_Wh) or None, "TotWhAbs": round(m.charged_Wh) or None},
        )
        device.model(713).update({"WHAvail": available_Wh, "SoC": m.soc * 100, "SoH": m.soh * 100})
        device.model(802).update(
            {"SoC": m.soc * 100, "SoH": m.soh * 100, "DoD": (1 - m.soc) * 100, "NCyc": m.cycles}
            | {"ChaSt": _CHA_ST[state], "V": m.dc_voltage_V, "A": dc_A, "W": out_W},
        )

    def setpoints(self, device: DeviceImage) -> BatterySetpoints:
        r = self.rating
        der, ratings, storage, bank = (
            device.model(704),
            device.model(702),
            device.model(124),
            device.model(802),
        )
        setpoint_W: float | None = None
        if der.get("WSetEna") == 1:
            if der.get("WSetMod") == 0:  # W_MAX_PCT: WSetPct is % of WMax
                pct, w_max = der.get("WSetPct"), ratings.get("WMax")
                if isinstance(pct, int | float) and isinstance(w_max, int | float):
                    setpoint_W = -float(pct) * float(w_max) / 100
            else:
                w_set = der.get("WSet")
                if isinstance(w_set, int | float):
                    setpoint_W = -float(w_set)
        max_charge = _num(ratings.get("WChaRteMax"), r.max_charge_W)
        max_discharge = _num(ratings.get("WDisChaRteMax"), r.max_discharge_W)
        mode = storage.get("StorCtl_Mod")
        if isinstance(mode, int) and mode & 0b01:
            max_charge = min(
                max_charge, _num(storage.get("WChaMax"), r.max_charge_W) * _pct(storage.get("InWRte"))
            )
        if isinstance(mode, int) and mode & 0b10:
            max_discharge = min(
                max_discharge, _num(ratings.get("WMax"), r.max_discharge_W) * _pct(storage.get("OutWRte"))
            )
        if setpoint_W is not None:
            setpoint_W = max(-max_discharge, min(max_charge, setpoint_W))
        soc_min = _num(bank.get("SoCRsvMin"), 0.0) / 100
        soc_max = _num(bank.get("SocRsvMax"), 100.0) / 100
        return BatterySetpoints(
            power_setpoint_W=setpoint_W,
            max_charge_W=max(0.0, max_charge),
            max_discharge_W=max(0.0, max_discharge),
            soc_min=soc_min,
            soc_max=soc_max,
        )


def _num(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) else default


def _pct(value: object) -> float:
    return max(0.0, _num(value, 100.0)) / 100

"""A PV inverter as a SunSpec device: models 1, 103, 120-123, 160, 701-712, 714, 715.

Legacy (1xx) and IEEE 1547 (7xx) views of the same inverter are served side by side, as
many field devices do. Curtailment arrives by 123 `WMaxLimPct` + `WMaxLim_Ena` or by 704
`WMaxLimPct` + `WMaxLimPctEna`, or by lowering `WMax` (121/702); the strictest limit wins
(IEEE 1547-2018 §4.6.2: the limit caps the active power the DER may produce). Sign: 103
and 701 `W` are positive when the inverter feeds the grid. Models 703 and 705-712 carry
the IEEE 1547 grid-support settings (`der_functions`), 715 the remote-control heartbeat.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .common import DeviceInfo, common_model, model, scale_factor_for
from .der_functions import der_control, enter_service, grid_support_models
from .image import DeviceImage, ModelImage

INVERTER_MODELS = (1, 103, 120, 121, 122, 123, 160, 701, 702, 703, 704, *range(705, 713), 714, 715)


class InverterState(enum.IntEnum):
    """Model 103 `St` (the 701 `InvSt` follows from it)."""

    OFF = 1
    SLEEPING = 2
    STARTING = 3
    MPPT = 4
    THROTTLED = 5
    SHUTTING_DOWN = 6
    FAULT = 7
    STANDBY = 8


_INV_ST_701 = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7}


@dataclass(frozen=True, slots=True, kw_only=True)
class PvInverterRating:
    max_power_W: float
    max_apparent_power_VA: float
    nominal_voltage_V: float = 230.0
    max_current_A: float = 32.0
    n_strings: int = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class PvInverterMeasurement:
    """What the physics reports; AC power is what flows into the grid (>= 0)."""

    ac_power_W: float
    energy_Wh: float  # lifetime AC energy produced
    string_power_W: tuple[float, ...]  # DC power per MPPT string
    string_voltage_V: tuple[float, ...]
    voltage_V: float = 230.0  # phase to neutral, balanced
    frequency_Hz: float = 50.0
    temperature_C: float = 35.0
    state: InverterState = InverterState.MPPT


@dataclass(frozen=True, slots=True, kw_only=True)
class PvInverterSetpoints:
    """What the controls currently ask of the physics."""

    max_power_W: float  # the active-power cap in force, from every limit that is enabled
    limit_pct: float | None  # the percentage limit in force, None when disabled
    connected: bool = True


class PvInverterProfile:
    """Maps typed measurements into the register image and the controls back out."""

    def __init__(self, info: DeviceInfo, rating: PvInverterRating) -> None:
        self.info = info
        self.rating = rating
        w_sf = scale_factor_for(max(rating.max_power_W, rating.max_apparent_power_VA))
        self.w_sf = w_sf
        self.n = rating.n_strings

    def build(self, *, base_address: int = 40000) -> DeviceImage:
        r, w_sf = self.rating, self.w_sf
        models: list[ModelImage] = [
            common_model(self.info),
            model(
                103,
                {
                    "A_SF": -2,
                    "V_SF": -1,
                    "W_SF": w_sf,
                    "Hz_SF": -2,
                    "VA_SF": w_sf,
                    "VAr_SF": w_sf,
                    "PF_SF": -2,
                }
                | {"WH_SF": 0, "DCA_SF": -2, "DCV_SF": -1, "DCW_SF": w_sf, "Tmp_SF": -1},
            ),
            model(
                120,
                {"DERTyp": 4, "WRtg_SF": w_sf, "WRtg": r.max_power_W, "VARtg_SF": w_sf}
                | {"VARtg": r.max_apparent_power_VA, "ARtg_SF": -1, "ARtg": r.max_current_A},
            ),
            model(121, {"WMax_SF": w_sf, "WMax": r.max_power_W, "VRef_SF": -1, "VRef": r.nominal_voltage_V}),
            model(122, {"WAval_SF": w_sf, "VArAval_SF": w_sf, "Ris_SF": 0, "TmSrc": "NTP", "StActCtl": 0}),
            model(
                123,
                {"Conn": 1, "WMaxLimPct_SF": -1, "WMaxLimPct": 100, "WMaxLim_Ena": 0, "OutPFSet_SF": -3}
                | {"WMaxLimPct_RvrtTms": 0}
                | {"VArPct_SF": -1},
            ),
            model(
                160,
                {"DCA_SF": -2, "DCV_SF": -1, "DCW_SF": w_sf, "DCWH_SF": 0, "N": self.n}
                | {f"module[{i}].ID": i + 1 for i in range(self.n)}
                | {f"module[{i}].IDStr": f"string {i + 1}" for i in range(self.n)},
                counts={"module": self.n},
            ),
            model(
                701,
                {"ACType": 2, "A_SF": -2, "V_SF": -1, "Hz_SF": -3, "W_SF": w_sf, "PF_SF": -3, "VA_SF": w_sf}
                | {"Var_SF": w_sf, "TotWh_SF": 0, "TotVarh_SF": 0, "Tmp_SF": -1},
            ),
            model(
                702,
                {"W_SF": w_sf, "PF_SF": -3, "VA_SF": w_sf, "Var_SF": w_sf, "V_SF": -1, "A_SF": -1, "S_SF": 0}
                | {
                    "WMaxRtg": r.max_power_W,
                    "VAMaxRtg": r.max_apparent_power_VA,
                    "VNomRtg": r.nominal_voltage_V,
                }
                | {"AMaxRtg": r.max_current_A, "WMax": r.max_power_W, "VAMax": r.max_apparent_power_VA}
                | {"VNom": r.nominal_voltage_V},
            ),
            enter_service(),
            model(
                704,
                {"PF_SF": -3, "WMaxLimPct_SF": -1, "WSet_SF": 0, "WSetPct_SF": -1, "VarSet_SF": 0}
                | {"VarSetPct_SF": -1, "WMaxLimPctEna": 0, "WMaxLimPct": 100, "WSetEna": 0, "VarSetEna": 0}
                | {
                    "WMaxLimPctRvrt": 100,
                    "WMaxLimPctEnaRvrt": 0,
                    "WMaxLimPctRvrtTms": 0,
                    "WMaxLimPctRvrtRem": 0,
                },
            ),
            *grid_support_models()[1:],
            model(
                714,
                {"DCA_SF": -2, "DCV_SF": -1, "DCW_SF": w_sf, "DCWH_SF": 0, "Tmp_SF": -1, "NPrt": self.n}
                | {f"Prt[{i}].PrtTyp": 0 for i in range(self.n)}
                | {f"Prt[{i}].ID": i + 1 for i in range(self.n)}
                | {f"Prt[{i}].IDStr": f"string {i + 1}" for i in range(self.n)},
                counts={"Prt": self.n},
            ),
            der_control(),
        ]
        return DeviceImage(models, base_address=base_address)

    def update(self, device: DeviceImage, m: PvInverterMeasurement) -> None:
        """Write one measurement into the image (the controls stay as the client set them)."""
        if len(m.string_power_W) != self.n or len(m.string_voltage_V) != self.n:
            raise ValueError(f"expected {self.n} strings")
        current_A = m.ac_power_W / (3 * m.voltage_V) if m.voltage_V else 0.0
        dc_W = sum(m.string_power_W)
        st = int(m.state)
        device.model(103).update(
            {"A": current_A * 3, "AphA": current_A, "AphB": current_A, "AphC": current_A}
            | {"PhVphA": m.voltage_V, "PhVphB": m.voltage_V, "PhVphC": m.voltage_V, "W": m.ac_power_W}
            | {"Hz": m.frequency_Hz, "VA": m.ac_power_W, "VAr": 0, "PF": 100, "WH": round(m.energy_Wh)}
            | {"DCW": dc_W, "DCV": max(m.string_voltage_V, default=0), "TmpCab": m.temperature_C, "St": st},
        )
        strings = device.model(160)
        for i, (p_W, v_V) in enumerate(zip(m.string_power_W, m.string_voltage_V, strict=True)):
            strings.update(
                {
                    f"module[{i}].DCW": p_W,
                    f"module[{i}].DCV": v_V,
                    f"module[{i}].DCA": p_W / v_V if v_V else 0,
                }
                | {f"module[{i}].DCSt": st},
            )
        limited = self.setpoints(device).limit_pct is not None
        device.model(122).update(
            {"PVConn": 0b111 if m.state != InverterState.OFF else 0b010, "ECPConn": 1, "StorConn": None}
            | {"ActWh": round(m.energy_Wh), "WAval": min(dc_W, self.rating.max_power_W), "VArAval": 0}
            | {"StActCtl": 0b1 if limited else 0},
        )
        dc_ports = device.model(714)
        dc_ports.update(
            {
                "DCW": dc_W,
                "DCA": sum(p / v for p, v in zip(m.string_power_W, m.string_voltage_V, strict=True) if v),
            }
        )
        for i, (p_W, v_V) in enumerate(zip(m.string_power_W, m.string_voltage_V, strict=True)):
            dc_ports.update(
                {f"Prt[{i}].DCW": p_W, f"Prt[{i}].DCV": v_V, f"Prt[{i}].DCA": p_W / v_V if v_V else 0}
                | {f"Prt[{i}].DCSta": 1 if p_W > 0 else 0, f"Prt[{i}].Tmp": m.temperature_C},
            )
        device.model(701).update(
            {"St": 0 if m.state == InverterState.OFF else 1, "InvSt": _INV_ST_701[st], "ConnSt": 1}
            | {"W": m.ac_power_W, "VA": m.ac_power_W, "Var": 0, "PF": 1, "A": current_A * 3}
            | {"LNV": m.voltage_V, "LLV": round(m.voltage_V * 3**0.5, 1), "Hz": m.frequency_Hz}
            | {"TotWhInj": round(m.energy_Wh), "TmpCab": m.temperature_C}
            | {f"WL{k}": m.ac_power_W / 3 for k in (1, 2, 3)}
            | {f"VL{k}": m.voltage_V for k in (1, 2, 3)},
        )

    def setpoints(self, device: DeviceImage) -> PvInverterSetpoints:
        cap = float(self.rating.max_power_W)
        for source in (device.model(121).get("WMax"), device.model(702).get("WMax")):
            if isinstance(source, int | float):
                cap = min(cap, float(source))
        pct: float | None = None
        legacy, der = device.model(123), device.model(704)
        for enabled, value in (
            (legacy.get("WMaxLim_Ena"), legacy.get("WMaxLimPct")),
            (der.get("WMaxLimPctEna"), der.get("WMaxLimPct")),
        ):
            if enabled == 1 and isinstance(value, int | float):
                pct = float(value) if pct is None else min(pct, float(value))
        if pct is not None:
            cap = min(cap, self.rating.max_power_W * pct / 100)
        return PvInverterSetpoints(max_power_W=cap, limit_pct=pct, connected=legacy.get("Conn") != 0)

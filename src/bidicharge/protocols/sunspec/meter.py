"""A grid-connection meter as a SunSpec device: models 1 and 203 (wye-connected
three-phase meter, integer + scale factor).

Sign: the meter's `W` is positive when power flows from the grid into the house (import,
"energy delivered" in the SunSpec meter model), negative when exporting; `TotWhImp` and
`TotWhExp` are the import and export registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import DeviceInfo, common_model, model, scale_factor_for
from .image import DeviceImage

METER_MODELS = (1, 203)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterRating:
    max_power_W: float = 44_000.0  # 3 x 63 A x 230 V is ~43.5 kW


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterMeasurement:
    phase_power_W: tuple[float, float, float]  # positive = import
    phase_voltage_V: tuple[float, float, float] = (230.0, 230.0, 230.0)
    frequency_Hz: float = 50.0
    import_energy_Wh: float = 0.0
    export_energy_Wh: float = 0.0

    @property
    def power_W(self) -> float:
        return sum(self.phase_power_W)


class MeterProfile:
    def __init__(self, info: DeviceInfo, rating: MeterRating | None = None) -> None:
        self.info = info
        self.rating = rating or MeterRating()
        self.w_sf = scale_factor_for(self.rating.max_power_W)

    def build(self, *, base_address: int = 40000) -> DeviceImage:
        w_sf = self.w_sf
        return DeviceImage(
            [
                common_model(self.info),
                model(
                    203,
                    {"A_SF": -2, "V_SF": -1, "Hz_SF": -2, "W_SF": w_sf, "VA_SF": w_sf, "VAR_SF": w_sf}
                    | {"PF_SF": -2, "TotWh_SF": 0, "Evt": 0},
                ),
            ],
            base_address=base_address,
        )

    def update(self, device: DeviceImage, m: MeterMeasurement) -> None:
        currents = [p / v if v else 0.0 for p, v in zip(m.phase_power_W, m.phase_voltage_V, strict=True)]
        values: dict[str, float | int | None] = {
            "A": sum(currents),
            "PhV": sum(m.phase_voltage_V) / 3,
            "PPV": round(sum(m.phase_voltage_V) / 3 * 3**0.5, 1),
            "Hz": m.frequency_Hz,
            "W": m.power_W,
            "VA": abs(m.power_W),
            "VAR": 0,
            "PF": 1,
            # an accumulator at 0 reads as "not accumulated" in SunSpec, which is what it is
            "TotWhImp": round(m.import_energy_Wh),
            "TotWhExp": round(m.export_energy_Wh),
        }
        for phase, (p_W, v_V, a_A) in zip(
            "ABC", zip(m.phase_power_W, m.phase_voltage_V, currents, strict=True), strict=True
        ):
            values |= {f"Aph{phase}": a_A, f"PhVph{phase}": v_V, f"Wph{phase}": p_W, f"VAph{phase}": abs(p_W)}
            values |= {f"PFph{phase}": 1}
        for pair in ("AB", "BC", "CA"):
            values[f"PhVph{pair}"] = values["PPV"]
        device.model(203).update(values)

    def setpoints(self, device: DeviceImage) -> None:
        """A meter has no controls."""
        return None

"""Pieces every SunSpec device shares: model 1 (Common) and the choice of scale factors."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ._generated.models import MODELS
from .image import ModelImage
from .points import PointValue


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """What model 1 (Common) says about a device."""

    manufacturer: str = "bidicharge"
    model: str
    serial_number: str
    version: str = "0.1.0"
    options: str = ""
    device_address: int = 1


def common_model(info: DeviceInfo) -> ModelImage:
    image = ModelImage(MODELS[1])
    image.update(
        {
            "Mn": info.manufacturer,
            "Md": info.model,
            "Opt": info.options or None,
            "Vr": info.version,
            "SN": info.serial_number,
            "DA": info.device_address,
        }
    )
    return image


def model(
    model_id: int, values: Mapping[str, PointValue], counts: Mapping[str, int] | None = None
) -> ModelImage:
    image = ModelImage(MODELS[model_id], counts)
    image.update(values)
    return image


def scale_factor_for(max_abs: float, *, bits: int = 16, signed: bool = True, resolution: float = 1.0) -> int:
    """Smallest exponent at which `max_abs` fits the register, but not finer than `resolution`.

    E.g. 11 kW in an int16 gets 0 (1 W steps), 40 kW gets 1 (10 W steps).
    """
    top = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 2
    sf = round(math.log10(resolution)) if resolution > 0 else 0
    while max_abs / 10.0**sf > top:
        sf += 1
    return sf

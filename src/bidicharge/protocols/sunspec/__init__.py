"""SunSpec over Modbus (SunSpec Modbus Specification 1.0, Information Model Specification
1.0, IEEE 1547-2018 models 7xx): register maps generated from the model definitions that
pysunspec2 ships, encoded with scale factors, served and read without I/O.

* `DeviceImage` / `ModelImage`: a server's register map; `read()`, `write()` (whole
  read-write points, range-checked, all or nothing; errors carry the Modbus exception).
* `PvInverterProfile`, `BatteryProfile`, `MeterProfile`: typed measurements in, typed
  setpoints out.
* `DeviceScan`, `write_requests`: the client side (discovery, decoding, writes);
  `pv_measurement`, `battery_measurement`, `meter_measurement`: typed, plausibility-checked
  readings from a scanned device.
"""

from bidicharge.architecture.registry import ProtocolSpec

from ._generated.models import MODELS
from .battery import BATTERY_MODELS, BatteryMeasurement, BatteryProfile, BatteryRating, BatterySetpoints
from .client import (
    DeviceScan,
    ReadRequest,
    ScannedDevice,
    ScannedModel,
    WriteRequest,
    decode_model,
    write_requests,
)
from .common import DeviceInfo
from .errors import LocalProtocolError, ModbusException, RemoteProtocolError, SunSpecError
from .image import DEFAULT_BASE_ADDRESS, DeviceImage, ModelImage, PointWrite
from .meter import METER_MODELS, MeterMeasurement, MeterProfile, MeterRating
from .points import PointValue
from .pv_inverter import (
    INVERTER_MODELS,
    InverterState,
    PvInverterMeasurement,
    PvInverterProfile,
    PvInverterRating,
    PvInverterSetpoints,
)
from .readings import battery_measurement, meter_measurement, pv_measurement
from .reversion import ReversionRule, ReversionTimers

PROTOCOL = ProtocolSpec(
    name="SunSpec Modbus/TCP",
    package=__name__,
    interfaces=("I-08",),
    standard="SunSpec Modbus 1.0 / Information Model 1.0; IEEE 1547-2018 DER models 701-713; battery 802",
)

__all__ = [
    "BATTERY_MODELS",
    "DEFAULT_BASE_ADDRESS",
    "INVERTER_MODELS",
    "METER_MODELS",
    "MODELS",
    "PROTOCOL",
    "BatteryMeasurement",
    "BatteryProfile",
    "BatteryRating",
    "BatterySetpoints",
    "DeviceImage",
    "DeviceInfo",
    "DeviceScan",
    "InverterState",
    "LocalProtocolError",
    "MeterMeasurement",
    "MeterProfile",
    "MeterRating",
    "ModbusException",
    "ModelImage",
    "PointValue",
    "PointWrite",
    "PvInverterMeasurement",
    "PvInverterProfile",
    "PvInverterRating",
    "PvInverterSetpoints",
    "ReadRequest",
    "ReversionRule",
    "ReversionTimers",
    "RemoteProtocolError",
    "ScannedDevice",
    "ScannedModel",
    "SunSpecError",
    "WriteRequest",
    "battery_measurement",
    "decode_model",
    "meter_measurement",
    "pv_measurement",
    "write_requests",
]

"""Errors of the SunSpec register-map core, saying whose fault a failure is.

A `RemoteProtocolError` carries the Modbus exception code the server answers with
(Modbus Application Protocol V1.1b3 §7): 2 for an address outside the map or a write to a
read-only register, 3 for a value a control does not accept. `LocalProtocolError` is our
own bug: a physical value that the chosen type and scale factor cannot represent.
"""

from __future__ import annotations

import enum


class ModbusException(enum.IntEnum):
    """Modbus exception codes (Modbus Application Protocol V1.1b3 §7)."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SERVER_DEVICE_FAILURE = 0x04


class SunSpecError(Exception):
    """Base class of the SunSpec errors."""


class LocalProtocolError(SunSpecError):
    """We asked for something the register map cannot hold (our bug)."""


class RemoteProtocolError(SunSpecError):
    """A peer's request or response is not acceptable; `wire_code` is the Modbus answer."""

    def __init__(self, message: str, *, wire_code: ModbusException) -> None:
        super().__init__(f"{message} (Modbus exception {wire_code.value} {wire_code.name})")
        self.wire_code = wire_code

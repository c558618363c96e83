"""SPINE errors and the result numbers they are answered with (SPINE 1.3.0, ResultDataType).

A command a device cannot execute is answered with ``resultData{errorNumber, description}``
(cmdClassifier ``result``); the connection and the device stay up.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorNumber(IntEnum):
    """``ErrorNumberType`` (SPINE Resource Specification, result data)."""

    NO_ERROR = 0
    GENERAL_ERROR = 1
    TIMEOUT = 2
    OVERLOAD = 3
    DESTINATION_UNKNOWN = 4
    DESTINATION_UNREACHABLE = 5
    COMMAND_NOT_SUPPORTED = 6
    COMMAND_REJECTED = 7
    RESTRICTED_FUNCTION_EXCHANGE_COMBINATION_NOT_SUPPORTED = 8
    BINDING_IS_NECESSARY_FOR_THIS_COMMAND = 9


class SpineError(Exception):
    """Base of SPINE errors."""


class LocalProtocolError(SpineError):
    """Our application asked for something SPINE forbids (unknown feature, no such peer)."""


class RemoteProtocolError(SpineError):
    """A peer's datagram or command is wrong; answered with ``error_number`` on the wire."""

    def __init__(self, description: str, *, error_number: ErrorNumber = ErrorNumber.GENERAL_ERROR) -> None:
        super().__init__(description)
        self.description = description
        self.error_number = error_number

"""Whose fault a SHIP failure is, and what goes on the wire because of it.

SHIP 1.0.1 clause 13.4.7 closes a connection with a ``connectionClose`` carrying a
reason; the websocket close codes used by ship-go are kept as ``close_code``
(4001 normal close after ``connectionClose``, 4450 SHIP id mismatch, 4452 node rejected
by application). Handshake errors carry the ``messageProtocolHandshakeError`` number
(SHIP 13.4.4.2.3) or the ``connectionPinError`` number (13.4.4.3.5.2).
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Websocket close codes used with SHIP (ship-go ``ship/const.go``)."""

    NORMAL = 4001
    SHIP_ID_MISMATCH = 4450
    REJECTED_BY_APPLICATION = 4452
    PROTOCOL_ERROR = 1002
    MESSAGE_TOO_BIG = 1009


class HandshakeErrorCode(IntEnum):
    """``messageProtocolHandshakeError.error`` (SHIP 13.4.4.2.3)."""

    RFU = 0
    TIMEOUT = 1
    UNEXPECTED_MESSAGE = 2
    SELECTION_MISMATCH = 3


class ShipError(Exception):
    """Base of SHIP errors."""


class LocalProtocolError(ShipError):
    """We (the application using the core) asked for something the protocol forbids now."""


class RemoteProtocolError(ShipError):
    """The peer broke the protocol; ``close_code``/``reason`` say how we answer on the wire."""

    def __init__(self, reason: str, *, close_code: CloseCode = CloseCode.PROTOCOL_ERROR,
                 handshake_error: HandshakeErrorCode | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.close_code = close_code
        self.handshake_error = handshake_error

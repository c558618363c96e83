"""Who is at fault when OCPP-J goes wrong, and what goes back on the wire.

OCPP 2.0.1 / 2.1 Part 4 (OCPP-J) §4.3 "RPC Framework Error Codes". A ``RemoteProtocolError``
is the peer's fault: it carries the error code and, where the specification wants one, the
already-encoded answer frame (``reply``: a CALLERROR, or in 2.1 a CALLRESULTERROR) that the
adapter sends before going on, and ``close_code`` when the connection must end (flooding).
A ``LocalProtocolError`` is our own bug (e.g. answering a CALL that is not outstanding) and
never reaches the wire.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """OCPP-J RPC error codes (Part 4 §4.3), identical in 2.0.1 and 2.1."""

    FORMAT_VIOLATION = "FormatViolation"
    GENERIC_ERROR = "GenericError"
    INTERNAL_ERROR = "InternalError"
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    PROTOCOL_ERROR = "ProtocolError"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    SECURITY_ERROR = "SecurityError"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"


class OcppError(Exception):
    """Base of every OCPP-J error raised by this package."""


class LocalProtocolError(OcppError):
    """We tried to do something the protocol forbids; a bug on our side."""


class RemoteProtocolError(OcppError):
    """The peer sent something the protocol forbids.

    ``reply`` is the frame to send back (``None`` when the specification says to stay silent,
    e.g. a CALLRESULT for an unknown message id); ``close_code`` is a WebSocket close code when
    the connection has to end.
    """

    def __init__(
        self,
        description: str,
        *,
        wire_code: ErrorCode,
        message_id: str | None = None,
        reply: str | None = None,
        close_code: int | None = None,
    ) -> None:
        super().__init__(f"{wire_code}: {description}")
        self.description = description
        self.wire_code = wire_code
        self.message_id = message_id
        self.reply = reply
        self.close_code = close_code


class CallErrorReply(OcppError):
    """Raised by a request handler to answer a CALL with a specific CALLERROR
    (e.g. ``SecurityError``) instead of a response payload."""

    def __init__(self, code: ErrorCode, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details or {}

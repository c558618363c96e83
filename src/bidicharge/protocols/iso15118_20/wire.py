"""Messages ↔ V2GTP frames: the EXI codec chosen by payload type (ISO 15118-20 Table 12)."""

from __future__ import annotations

from typing import Any

from bidicharge.protocols import exi
from bidicharge.protocols.exi import namespace_of

from .errors import LocalProtocolError, RemoteProtocolError
from .v2gtp import NAMESPACE_OF_PAYLOAD, PAYLOAD_OF_NAMESPACE, Frame, encode_frame


def encode_message(message: object) -> bytes:
    """One V2GTP frame carrying `message` as EXI, with the payload type of its schema set."""
    namespace = namespace_of(message)
    if namespace is None:
        raise LocalProtocolError(f"{type(message).__name__} is not a root message")
    try:
        payload = exi.encode(message, namespace)
    except exi.LocalProtocolError as exc:
        raise LocalProtocolError(f"cannot encode {type(message).__name__}: {exc}") from exc
    return encode_frame(PAYLOAD_OF_NAMESPACE[namespace], payload)


def decode_message(frame: Frame) -> Any:
    """The message in a frame; RemoteProtocolError (answer FAILED) if it is not valid EXI."""
    namespace = NAMESPACE_OF_PAYLOAD.get(frame.payload_type)
    if namespace is None:
        raise RemoteProtocolError(f"V2GTP payload type {frame.payload_type:#06x} not supported")
    try:
        return exi.decode(frame.payload, namespace)
    except exi.RemoteProtocolError as exc:
        raise RemoteProtocolError(f"malformed EXI: {exc}") from None

"""Errors of the SML codec, saying whose fault a failure is.

`RemoteProtocolError` is raised for bytes a peer sent that are not valid SML 1.04
(BSI TR-03109-1 Anlage IV "SML"): bad framing, a CRC mismatch, an unknown TL field.
`LocalProtocolError` is raised when our own code asks to encode something SML cannot
carry (an integer wider than 64 bits, a 7-byte OBIS code).
"""

from __future__ import annotations


class SmlError(Exception):
    """Base class of every SML codec error."""


class LocalProtocolError(SmlError):
    """We asked the encoder for something SML cannot express (our bug)."""


class RemoteProtocolError(SmlError):
    """The peer sent bytes that are not valid SML; `offset` points into the input if known."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message if offset is None else f"{message} (at byte {offset})")
        self.offset = offset

"""Whose fault an ISO 15118-20 failure is, and what goes back on the wire.

* `LocalProtocolError`: the owner asked the core for something the protocol forbids in the
  present state (our bug); nothing is sent.
* `RemoteProtocolError`: the peer sent something the protocol forbids. It carries the
  ISO 15118-20 `ResponseCode` the SECC answers with (``FAILED_SequenceError`` for a message
  out of sequence, ``FAILED_UnknownSession`` for a wrong SessionID, ``FAILED`` for a message
  that cannot be decoded or a value out of range, …). Every ``FAILED*`` answer is followed by
  the end of the session (ISO 15118-20, error handling: after a response with a ``FAILED`` code the
  SECC stops the communication session), and the adapter closes TCP.
"""

from __future__ import annotations

from bidicharge.protocols.exi.messages import common_types as ct


class Iso15118Error(Exception):
    """Base class of every ISO 15118-20 protocol error."""


class LocalProtocolError(Iso15118Error):
    """We asked the core to do something the protocol forbids (our bug)."""


class RemoteProtocolError(Iso15118Error):
    """The peer sent something the protocol forbids; `response_code` is the answer."""

    def __init__(self, message: str, *, response_code: ct.ResponseCode = ct.ResponseCode.FAILED) -> None:
        super().__init__(message)
        self.response_code = response_code


class SequenceError(RemoteProtocolError):
    """A request that the present state does not accept (answered FAILED_SequenceError)."""

    def __init__(self, state: str, message_name: str) -> None:
        super().__init__(
            f"{message_name} not allowed in state {state}", response_code=ct.ResponseCode.FAILED_SequenceError
        )
        self.state = state
        self.message_name = message_name


class UnknownSessionError(RemoteProtocolError):
    """A request whose header carries another SessionID (answered FAILED_UnknownSession)."""

    def __init__(self, got: bytes, expected: bytes) -> None:
        super().__init__(
            f"SessionID {got.hex()} is not {expected.hex()}",
            response_code=ct.ResponseCode.FAILED_UnknownSession,
        )

"""Whose fault an EXI failure is.

`LocalProtocolError`: we were asked to encode something the schema does not allow (our bug).
`RemoteProtocolError`: the peer sent bytes that are not a valid EXI stream for the grammar;
it carries the ISO 15118-20 response code to answer with. A message that cannot be decoded
has no session context, so the suggested answer is the generic ``FAILED`` of
``responseCodeType``; the state machine above decides what the standard requires next.
"""

from __future__ import annotations


class ExiError(Exception):
    """Base of the EXI codec errors."""


class LocalProtocolError(ExiError):
    """Our message does not fit the schema; nothing was sent."""


class RemoteProtocolError(ExiError):
    """The received bytes are not a valid EXI document for the expected grammar."""

    def __init__(self, message: str, *, response_code: str = "FAILED") -> None:
        super().__init__(message)
        self.response_code = response_code

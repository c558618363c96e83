"""Whose fault a protocol failure is, and what goes back on the wire.

IEC 60870-5-104 knows two kinds of answers to bad input from the peer:

* an ASDU it cannot act on is *mirrored* with the P/N bit set and a cause of
  transmission saying why: 44 unknown type identification, 45 unknown cause of
  transmission, 46 unknown common address of ASDU, 47 unknown information object
  address (IEC 60870-5-101 7.2.3, applied by IEC 60870-5-104 clause 9);
* an APCI-level fault (a wrong send sequence number, an acknowledgement of frames
  that were never sent, a malformed APDU, t1 expiry) is answered by closing the TCP
  connection (IEC 60870-5-104 5.1, 5.2).

:class:`RemoteProtocolError` carries which of the two applies: ``wire_answer`` holds
the mirrored ASDU bytes, ``close_connection`` says the link must go.
"""

from __future__ import annotations


class Iec104Error(Exception):
    """Base class of every IEC 104 protocol error."""


class LocalProtocolError(Iec104Error):
    """We asked the core to do something the protocol forbids (our bug)."""


class RemoteProtocolError(Iec104Error):
    """The peer sent something the protocol forbids.

    ``wire_answer`` is the ASDU to send back (a negative mirror), or ``None``;
    ``close_connection`` is true when the standard's answer is to close the link.
    """

    def __init__(
        self, message: str, *, wire_answer: bytes | None = None, close_connection: bool = False
    ) -> None:
        super().__init__(message)
        self.wire_answer = wire_answer
        self.close_connection = close_connection

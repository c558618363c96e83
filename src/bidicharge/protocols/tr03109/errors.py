"""Errors of the smart-meter-gateway core, saying whose fault a failure is.

`RemoteProtocolError` is raised for input a peer sent that the gateway (or an EMT
decoding gateway data) must refuse: a CMS structure that is not DER, a signature that
does not verify, a profile update that is unsigned, signed by someone other than the GWA,
expired or replayed (BSI TR-03109-1: only the gateway administrator configures the
SMGW). `reason` is a short stable code for logs and answers.
`LocalProtocolError` is raised when our own caller asks for something the core cannot do
(an unknown EMT, a key that is not an EC key).
"""

from __future__ import annotations


class Tr03109Error(Exception):
    """Base class of every error of the SMGW core."""


class LocalProtocolError(Tr03109Error):
    """Our own code asked for something impossible (our bug)."""


class RemoteProtocolError(Tr03109Error):
    """A peer sent something to refuse; `reason` is a stable code such as ``bad-signature``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason

"""I-10 aEMP – control unit, through the SMGW's CLS channel: §14a commands in, status back.

In study mode one `ClsRequest` is one TLS connection through the gateway's CLS proxy: the
aEMP names the channel (TLS SNI on the wire) and shows its client certificate; the gateway
decides with `tr03109.cls.decide` against the GWA-set profile and, only when allowed, hands
the payload to the control unit behind it (live mode: `transports.cls_proxy.ClsProxy`).

The payload is what the control unit understands (BK6-22-300 / FNN "Steuerbox" semantics):
a power limit for the controllable unit from `start_s` for `duration_s`, a release, or a
status query. Power is the grid draw of the unit's controllable devices, W, positive.
"""

from __future__ import annotations

from dataclasses import dataclass

from bidicharge.components.interfaces.i15_lmn import Octets


@dataclass(frozen=True, slots=True, kw_only=True)
class DimmingCommand:
    command_id: str  # unique per DSO; a control unit refuses an id it has seen (replay)
    unit_id: str
    limit_W: float
    start_s: float
    duration_s: float  # the limit lapses at start_s + duration_s unless renewed


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitRelease:
    command_id: str
    unit_id: str
    releases_command_id: str
    start_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusQuery:
    unit_id: str


ClsPayload = DimmingCommand | LimitRelease | StatusQuery


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStatus:
    """The control unit's answer (status path back): what it did and what the unit draws."""

    unit_id: str
    command_id: str | None  # the command answered (None for a status query)
    accepted: bool
    reason: str  # "applied", "released", "status", or a refusal code
    limit_W: float | None  # the limit in force now (None: unlimited)
    consumption_W: float  # the controllable devices' draw now
    demand_W: float  # what they would draw without a limit (as the HEMS reports it)
    hems_applied: bool = True  # the HEMS (or relay contact) confirmed the limit


@dataclass(frozen=True, slots=True, kw_only=True)
class ClsRequest:
    channel_id: str  # TLS SNI
    client_certificate_der: Octets  # the aEMP's TLS client certificate
    payload: ClsPayload


@dataclass(frozen=True, slots=True, kw_only=True)
class ClsResponse:
    allowed: bool
    reason: str  # "allowed" or the proxy's refusal (not-permitted, unknown-channel, cls-unreachable, ...)
    status: CommandStatus | None = None

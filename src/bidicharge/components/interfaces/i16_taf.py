"""I-16 pEMP – iMSys: CMS-sealed tariff-use-case messages (TAF 7/9/10/14), and what the
pEMP forwards to the DSO backend on I-35 (grid-state values, 15-minute energies).

On I-16 the payload is the gateway's message exactly as it goes over the WAN: CMS
EnvelopedData(SignedData(document)) (`bidicharge.protocols.tr03109`). The pEMP
acknowledges a sequence number only when it stored the message; the gateway keeps
everything else and resends it (nothing is lost while the pEMP refuses or is away).
"""

from __future__ import annotations

from dataclasses import dataclass

from bidicharge.components.interfaces.i15_lmn import Octets


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterDataPush:
    gateway_id: str  # the TLS client identity on the wire
    emt_id: str
    sequence_no: int
    cms: Octets


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterDataAck:
    sequence_no: int
    stored: bool  # False: refused, the gateway keeps the message
    duplicate: bool = False
    refused: str | None = None  # the refusal code (bad-signature, unknown-gateway, ...)


# ---- I-35 pEMP – DSO backend ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GridStateValue:
    """TAF 10: active power at the connection point (W, + import); None when the meter was silent."""

    meter_id: str
    captured_at_s: float
    power_W: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalValue:
    """TAF 7: energy imported in one 15-minute period (Wh), None when a register value is missing."""

    meter_id: str
    start_s: float
    import_Wh: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterValues:
    gateway_id: str
    grid_state: tuple[GridStateValue, ...] = ()
    intervals: tuple[IntervalValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterValuesReceived:
    count: int

"""I-20 DSO backend – CLS management, and its continuations I-29 (CLS management – aEMP)
and I-26 (DSO backend – aEMP): a §14a control order for one controllable unit, routed to
the gateway and CLS channel that reach its control unit, and the outcome back.

The order carries the I-10 payload unchanged; the outcome carries the control unit's
`CommandStatus` when the command got through, and why not otherwise (so the DSO retries).
"""

from __future__ import annotations

from dataclasses import dataclass

from bidicharge.components.interfaces.i10_cls import ClsPayload, CommandStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlOrder:
    order_id: str
    unit_id: str
    gateway_id: str
    channel_id: str
    payload: ClsPayload


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlOutcome:
    order_id: str
    unit_id: str
    delivered: bool  # reached the control unit (which may still refuse: see status.accepted)
    reason: str
    status: CommandStatus | None = None

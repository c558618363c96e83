"""I-27 grid controller – control relays: ripple-control telegrams (the legacy path).

A telegram addresses a group of receivers and sets their contact step (0 = release). The
receivers switch after their own delay (a ripple telegram takes seconds to tens of seconds
to send, receivers add their programmed delay). On I-28 the relays drive the HEMS's
contact inputs with `i09_control_unit.ContactState`, the same contract as a control unit's
relay output.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RippleTelegram:
    telegram_id: str
    group: str
    step: int  # 0 = release


@dataclass(frozen=True, slots=True, kw_only=True)
class RippleAccepted:
    receivers: int  # receivers of the group that will switch
    switch_at_s: float  # when their contacts change

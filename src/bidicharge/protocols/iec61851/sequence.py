"""The EVSE's view of the control pilot around an ISO 15118-20 session, as a table.

Rules (IEC 61851-1 Annex A; ISO 15118-20 as quoted by Josev):

* A → B when a vehicle is plugged in; the EVSE then oscillates at 5 % (B2) to ask for
  high-level communication (IEC 61851-1 Annex A, 5 % = digital communication).
* [V2G20-1617] the EV is in B before its first PowerDeliveryReq(Start).
* [V2G20-847] the EV switches to C or D within 250 ms after PowerDeliveryReq(Start); only
  then may the EVSE close its contactor.
* After PowerDelivery(Stop) the EV returns to B; the EVSE opens its contactor first
  (never switching under load) and keeps 5 % until the session ends.
* E, F, a voltage between bands, or A while energised: open the contactor at once.

`PilotMonitor` is sans-I/O: feed measured levels and PowerDelivery milestones with `now`,
read `contactor_closed` and `events()`; `next_deadline()` covers the 250 ms rule.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Final

from .pilot import HLC_DUTY, CpState, classify_voltage

STATE_C_AFTER_START_s: Final = 0.25  # [V2G20-847]


class Phase(Enum):
    UNPLUGGED = "Unplugged"
    HLC = "HighLevelCommunication"  # B2 at 5 %
    START_REQUESTED = "StartRequested"  # PowerDeliveryReq(Start) seen, waiting for C/D
    ENERGY_TRANSFER = "EnergyTransfer"  # C2/D2, contactor closed
    STOPPING = "Stopping"  # PowerDelivery(Stop): contactor open, waiting for B
    FAULT = "Fault"


# (phase, CP state) -> next phase; missing pairs are faults (open the contactor)
TRANSITIONS: Final[dict[tuple[Phase, CpState], Phase]] = {
    (Phase.UNPLUGGED, CpState.A): Phase.UNPLUGGED,
    (Phase.UNPLUGGED, CpState.B): Phase.HLC,
    (Phase.HLC, CpState.B): Phase.HLC,
    (Phase.HLC, CpState.A): Phase.UNPLUGGED,
    (Phase.START_REQUESTED, CpState.B): Phase.START_REQUESTED,
    (Phase.START_REQUESTED, CpState.C): Phase.ENERGY_TRANSFER,
    (Phase.START_REQUESTED, CpState.D): Phase.ENERGY_TRANSFER,
    (Phase.ENERGY_TRANSFER, CpState.C): Phase.ENERGY_TRANSFER,
    (Phase.ENERGY_TRANSFER, CpState.D): Phase.ENERGY_TRANSFER,
    (Phase.STOPPING, CpState.C): Phase.STOPPING,
    (Phase.STOPPING, CpState.D): Phase.STOPPING,
    (Phase.STOPPING, CpState.B): Phase.HLC,
    (Phase.FAULT, CpState.A): Phase.UNPLUGGED,
    (Phase.FAULT, CpState.B): Phase.FAULT,
    (Phase.FAULT, CpState.E): Phase.FAULT,
    (Phase.FAULT, CpState.F): Phase.FAULT,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseChanged:
    phase: Phase
    cp_state: CpState | None
    contactor_closed: bool
    duty: float  # the PWM the EVSE should drive now (0 = steady +12 V)


@dataclass(frozen=True, slots=True, kw_only=True)
class PilotFault:
    reason: str


class PilotMonitor:
    def __init__(self) -> None:
        self.phase = Phase.UNPLUGGED
        self.cp_state: CpState | None = CpState.A
        self._deadline: float | None = None
        self._events: deque[PhaseChanged | PilotFault] = deque()

    @property
    def contactor_closed(self) -> bool:
        return self.phase is Phase.ENERGY_TRANSFER

    @property
    def duty(self) -> float:
        return 0.0 if self.phase in (Phase.UNPLUGGED, Phase.FAULT) else HLC_DUTY

    def measure(self, positive_level_V: float, now: float) -> None:
        state = classify_voltage(positive_level_V)
        self.cp_state = state
        if state is None:
            self._fault(f"CP level {positive_level_V} V between bands")
            return
        target = TRANSITIONS.get((self.phase, state))
        if target is None:
            self._fault(f"CP state {state.value} in {self.phase.value}")
        elif target is not self.phase:
            if target is Phase.ENERGY_TRANSFER:
                self._deadline = None
            self._enter(target)

    def power_delivery_start(self, now: float) -> None:
        """PowerDeliveryReq(Start) received: the EV must be in B, and in C/D within 250 ms."""
        if self.phase is not Phase.HLC:
            self._fault(f"PowerDelivery(Start) in {self.phase.value} (EV not in B)")  # [V2G20-1617]
            return
        self._deadline = now + STATE_C_AFTER_START_s
        self._enter(Phase.START_REQUESTED)

    def power_delivery_stop(self, now: float) -> None:
        """PowerDelivery(Stop): open the contactor now, then wait for the EV to return to B."""
        self._deadline = None
        if self.phase in (Phase.ENERGY_TRANSFER, Phase.START_REQUESTED):
            self._enter(Phase.STOPPING if self.cp_state in (CpState.C, CpState.D) else Phase.HLC)

    def next_deadline(self) -> float | None:
        return self._deadline

    def handle_timeout(self, now: float) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            self._fault("EV not in C/D within 250 ms of PowerDelivery(Start)")  # [V2G20-847]

    def events(self) -> Iterator[PhaseChanged | PilotFault]:
        while self._events:
            yield self._events.popleft()

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self._events.append(
            PhaseChanged(
                phase=phase, cp_state=self.cp_state, contactor_closed=self.contactor_closed, duty=self.duty
            )
        )

    def _fault(self, reason: str) -> None:
        self._deadline = None
        self._events.append(PilotFault(reason=reason))
        self._enter(Phase.FAULT)

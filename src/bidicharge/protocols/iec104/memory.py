"""A controlling and a controlled station joined in memory, for studies on simulated time.

The same cores as on TCP, the bytes just move by assignment: ``pump(now)`` hands each
side what the other sent until both are quiet, ``advance(now)`` lets the timers of both
run first. Nothing here reads a clock; the study engine passes its simulated ``now``.
"""

from __future__ import annotations

from .controlled import ControlledStation
from .controlling import ControllingStation

#: Rounds of shuttling before ``pump`` gives up; a conversation that never ends is a bug.
MAX_ROUNDS = 10_000


class MemoryPair:
    def __init__(self, controlling: ControllingStation, controlled: ControlledStation, *, now: float) -> None:
        self.controlling = controlling
        self.controlled = controlled
        self.octets_to_controlled = 0
        self.octets_to_controlling = 0
        if not controlling.started and not controlling.closed:
            controlling.start(now=now)
        self.pump(now)

    def pump(self, now: float) -> None:
        """Deliver in both directions until neither side has anything to send."""
        for _ in range(MAX_ROUNDS):
            down = self.controlling.data_to_send()
            up = self.controlled.data_to_send()
            if not down and not up:
                return
            if down:
                self.octets_to_controlled += len(down)
                self.controlled.receive_data(down, now=now)
            if up:
                self.octets_to_controlling += len(up)
                self.controlling.receive_data(up, now=now)
        raise RuntimeError(f"IEC 104 pair still talking after {MAX_ROUNDS} rounds")

    def next_deadline(self) -> float | None:
        deadlines = [
            d for d in (self.controlling.next_deadline(), self.controlled.next_deadline()) if d is not None
        ]
        return min(deadlines, default=None)

    def advance(self, now: float) -> None:
        """Run both sides' timers due by ``now`` (t2 acknowledgements, t3 tests), then pump."""
        self.controlling.handle_timeout(now)
        self.controlled.handle_timeout(now)
        self.pump(now)

"""Sealed meter-data messages waiting for their EMT, in order, until acknowledged.

Buffering is the rule of TR-03109-1 for an unreachable EMT: the gateway keeps the data
and delivers it when the WAN is back. A message leaves the outbox only when the WAN
adapter acknowledges the EMT's receipt, so an outage delays values and never loses them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .errors import LocalProtocolError
from .taf import MeterDataDocument


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    emt_id: str
    sequence_no: int
    document: MeterDataDocument
    cms: bytes  # ContentInfo(EnvelopedData(ContentInfo(SignedData(document JSON))))


class Outbox:
    def __init__(self) -> None:
        self._queues: dict[str, deque[OutgoingMessage]] = {}
        self._next_seq: dict[str, int] = {}

    def next_sequence_no(self, emt_id: str) -> int:
        return self._next_seq.get(emt_id, 1)

    def put(self, message: OutgoingMessage) -> None:
        if message.sequence_no != self.next_sequence_no(message.emt_id):
            raise LocalProtocolError(f"sequence {message.sequence_no} out of order for {message.emt_id}")
        self._next_seq[message.emt_id] = message.sequence_no + 1
        self._queues.setdefault(message.emt_id, deque()).append(message)

    def pending(self, emt_id: str) -> tuple[OutgoingMessage, ...]:
        return tuple(self._queues.get(emt_id, ()))

    def emts_with_backlog(self) -> tuple[str, ...]:
        return tuple(emt for emt, queue in self._queues.items() if queue)

    def acknowledge(self, emt_id: str, sequence_no: int) -> None:
        """The EMT has everything up to `sequence_no`."""
        queue = self._queues.get(emt_id)
        if not queue or not queue[0].sequence_no <= sequence_no < self.next_sequence_no(emt_id):
            raise LocalProtocolError(f"nothing pending up to {sequence_no} for {emt_id}")
        while queue and queue[0].sequence_no <= sequence_no:
            queue.popleft()

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

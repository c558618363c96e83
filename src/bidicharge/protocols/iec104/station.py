"""What both station roles share: one :class:`~.link.ApciLink` and the event plumbing.

A station is the application layer of one TCP connection (IEC 60870-5-104 clause 6):
bytes in through :meth:`receive_data`, ASDUs out through the link, time through
:meth:`next_deadline` / :meth:`handle_timeout`, results through :meth:`events`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Generic, Literal, TypeVar

from .asdu import Asdu, encode_asdu
from .link import (
    ApciLink,
    ApciParameters,
    AsduReceived,
    DataTransferStarted,
    DataTransferStopped,
    LinkClosed,
    LinkState,
    Role,
)

E = TypeVar("E")
#: Called with "rx" or "tx" and the raw ASDU octets of every ASDU (see :mod:`.describe`).
Tracer = Callable[[Literal["rx", "tx"], bytes], None]


class Station(Generic[E]):
    role: Role

    def __init__(
        self, *, now: float, parameters: ApciParameters | None = None, tracer: Tracer | None = None
    ) -> None:
        self.link = ApciLink(self.role, now=now, parameters=parameters)
        self.tracer = tracer
        self._events: deque[E | DataTransferStarted | DataTransferStopped | LinkClosed] = deque()
        self._reacting = False  # inside _drain_link: sends are answers to the peer

    # --- inputs ----------------------------------------------------------------------

    def receive_data(self, data: bytes, *, now: float) -> None:
        self.link.receive_data(data, now=now)
        self._drain_link(now)

    def handle_timeout(self, now: float) -> None:
        self.link.handle_timeout(now)
        self._drain_link(now)

    def connection_lost(self, reason: str = "connection lost") -> None:
        self.link.connection_lost(reason)
        self._drain_link(0.0)

    # --- outputs ---------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        return self.link.next_deadline()

    def data_to_send(self) -> bytes:
        return self.link.data_to_send()

    def events(self) -> Iterator[E | DataTransferStarted | DataTransferStopped | LinkClosed]:
        while self._events:
            yield self._events.popleft()

    @property
    def closed(self) -> bool:
        return self.link.state is LinkState.CLOSED

    @property
    def started(self) -> bool:
        return self.link.state is LinkState.STARTED

    # --- for the roles ---------------------------------------------------------------

    def _send(self, asdu: Asdu, now: float) -> None:
        self._send_raw(encode_asdu(asdu), now)

    def _send_raw(self, asdu: bytes, now: float) -> None:
        if self._reacting and self.closed:
            # An answer to input that arrived before the link failed: nobody can receive it.
            return
        self.link.send_asdu(asdu, now=now)
        if self.tracer is not None:
            self.tracer("tx", asdu)

    def _drain_link(self, now: float) -> None:
        reacting, self._reacting = self._reacting, True
        try:
            for event in self.link.events():
                if isinstance(event, AsduReceived):
                    if self.tracer is not None:
                        self.tracer("rx", event.asdu)
                    self._on_asdu(event.asdu, now)
                else:
                    self._events.append(event)
                    self._on_link_event(event, now)
        finally:
            self._reacting = reacting

    def _on_asdu(self, raw: bytes, now: float) -> None:
        raise NotImplementedError

    def _on_link_event(
        self, event: DataTransferStarted | DataTransferStopped | LinkClosed, now: float
    ) -> None:
        """Hook for the roles; the event itself is already queued."""

"""Two IEC 104 peers joined in memory: what one sends the other receives, no event loop."""

from __future__ import annotations

from typing import Protocol

from bidicharge.protocols.iec104 import ApduReader, IFrame, SFrame, UFrame


class Peer(Protocol):
    def data_to_send(self) -> bytes: ...
    def receive_data(self, data: bytes, *, now: float) -> None: ...


def frames(data: bytes) -> list[IFrame | SFrame | UFrame]:
    return list(ApduReader().feed(data))


def exchange(
    a: Peer, b: Peer, *, now: float, max_rounds: int = 100
) -> list[tuple[str, IFrame | SFrame | UFrame]]:
    """Shuttle bytes until both are quiet; returns the wire trace as ('a>b' | 'b>a', frame)."""
    trace: list[tuple[str, IFrame | SFrame | UFrame]] = []
    for _ in range(max_rounds):
        from_a, from_b = a.data_to_send(), b.data_to_send()
        if not from_a and not from_b:
            return trace
        if from_a:
            trace += [("a>b", f) for f in frames(from_a)]
            b.receive_data(from_a, now=now)
        if from_b:
            trace += [("b>a", f) for f in frames(from_b)]
            a.receive_data(from_b, now=now)
    raise AssertionError("peers did not go quiet")

"""Two or more SPINE nodes paired in memory, without SHIP or sockets (study mode, tests).

Every datagram reaches its receiver as it would be parsed from EEBUS-JSON, exactly as
SHIP would carry it, so that what works here works on the wire: `wire_copy` is that round
trip (``decode_document(encode_document(d))``) in one pass for plain datagrams, and the real
encoder and decoder for anything else.
"""

from __future__ import annotations

from collections.abc import Callable

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.node import SpineNode
from bidicharge.protocols.spine.wire_copy import wire_copy


class MemoryLink:
    """Routes datagrams between named nodes; peer ids are the other node's name."""

    def __init__(self, *, keep_trace: bool = True,
                 tracer: Callable[[str, str, JsonObject, float], None] | None = None) -> None:
        self.nodes: dict[str, SpineNode] = {}
        self.keep_trace = keep_trace  # False for long studies: the list would grow without bound
        self.tracer = tracer  # (from, to, datagram, now) for the architecture's message traces
        self.trace: list[tuple[str, str, JsonObject]] = []  # (from, to, datagram) for assertions

    def add(self, name: str, node: SpineNode) -> None:
        self.nodes[name] = node

    def connect(self, a: str, b: str, now: float) -> None:
        self.nodes[a].connect(b, now)
        self.nodes[b].connect(a, now)
        self.pump(now)

    def pump(self, now: float, *, max_rounds: int = 1000) -> int:
        """Deliver until quiet; returns the number of datagrams delivered."""
        delivered = 0
        for _ in range(max_rounds):
            moved = False
            for name, node in self.nodes.items():
                for peer, document in node.datagrams_to_send():
                    decoded = wire_copy(document)
                    if self.keep_trace:
                        self.trace.append((name, peer, decoded))
                    if self.tracer is not None:
                        self.tracer(name, peer, decoded, now)
                    self.nodes[peer].receive(name, decoded, now)
                    delivered += 1
                    moved = True
            if not moved:
                return delivered
        raise RuntimeError("SPINE nodes did not go quiet")

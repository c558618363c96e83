"""SPINE over the I-09 link: the control unit's Energy Guard (EEBUS LPC) and the HEMS's
Controllable System exchange their datagrams as `SpineDatagrams` requests and answers.

The same serialisation as SHIP carries (`ship.eebus_json`), so what works here works on
the wire; `MemoryLink` does the same for two nodes in one place.
"""

from __future__ import annotations

from bidicharge.components.interfaces.i09_control_unit import SpineDatagrams
from bidicharge.protocols.ship import eebus_json
from bidicharge.protocols.spine import SpineNode
from bidicharge.runtime.ports import Link

MAX_ROUNDS = 50


def outgoing(node: SpineNode, peer: str) -> tuple[str, ...]:
    """Encode what `node` has queued (for `peer`: a point-to-point link has only it)."""
    return tuple(eebus_json.encode_document(doc) for to, doc in node.datagrams_to_send() if to == peer)


def deliver(node: SpineNode, peer: str, message: SpineDatagrams, now: float) -> None:
    for text in message.datagrams:
        node.receive(peer, eebus_json.decode_document(text), now)


def exchange(node: SpineNode, peer: str, link: Link, now: float) -> int:
    """Send until both sides are quiet (at least one round, to collect the peer's datagrams)."""
    delivered = 0
    for _ in range(MAX_ROUNDS):
        out = outgoing(node, peer)
        answer = link.request(SpineDatagrams(datagrams=out))
        if isinstance(answer, SpineDatagrams):
            deliver(node, peer, answer, now)
            delivered += len(answer.datagrams)
        if not out and not (isinstance(answer, SpineDatagrams) and answer.datagrams):
            return delivered
        delivered += len(out)
    raise RuntimeError(f"SPINE exchange with {peer!r} did not go quiet")

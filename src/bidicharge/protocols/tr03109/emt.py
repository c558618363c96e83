"""The receiving EMT's side of meter data: decrypt, verify, decode, deduplicate.

The EMT decrypts with its encryption key, checks the SignedData up to the SM-PKI root,
checks that the signer is the certificate it knows for the gateway named in the document
and that the document is addressed to it. Delivery is at least once (the gateway resends
what it has no acknowledgement for), so a repeated sequence number is acknowledged again
but stored once; a gap is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from .cms_enveloped import Recipient, decrypt
from .cms_signed import verify
from .document_codec import decode_document
from .engine import SmgwCore
from .errors import RemoteProtocolError
from .taf import MeterDataDocument
from .trust import ChainCache


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    document: MeterDataDocument
    duplicate: bool
    missing_before: tuple[int, ...]  # sequence numbers skipped since the last message of this gateway


def open_meter_data(data: bytes, *, recipient: Recipient, roots: Sequence[x509.Certificate],
                    gateways: Mapping[str, x509.Certificate], now: float,
                    chain_cache: ChainCache | None = None) -> MeterDataDocument:
    """Decrypt, verify and decode one sealed message; `gateways` maps gateway id -> signature certificate."""
    verified = verify(decrypt(data, recipient), roots=roots, now=now, chain_cache=chain_cache)
    doc = decode_document(verified.content)
    expected = gateways.get(doc.gateway_id)
    if expected is None or verified.signer != expected:
        raise RemoteProtocolError(f"signer is not the certificate of gateway {doc.gateway_id!r}",
                                  reason="unknown-gateway")
    return doc


class EmtInbox:
    """One EMT's receiver; `receive` returns what to store, raising for what to refuse."""

    def __init__(self, *, emt_id: str, recipient: Recipient, roots: Sequence[x509.Certificate],
                 gateways: Mapping[str, x509.Certificate]) -> None:
        self.emt_id = emt_id
        self._recipient = recipient
        self._roots = tuple(roots)
        self._gateways = dict(gateways)
        self._last_seq: dict[str, int] = {}
        self.documents: list[MeterDataDocument] = []
        # every gateway signs with the same certificate for years: its path is checked once
        self.chain_cache = ChainCache()

    def receive(self, data: bytes, *, now: float) -> Received:
        doc = open_meter_data(data, recipient=self._recipient, roots=self._roots, gateways=self._gateways, now=now,
                              chain_cache=self.chain_cache)
        if doc.emt_id != self.emt_id:
            raise RemoteProtocolError(f"document is addressed to {doc.emt_id!r}", reason="not-for-us")
        last = self._last_seq.get(doc.gateway_id, 0)
        if doc.sequence_no <= last:
            return Received(document=doc, duplicate=True, missing_before=())
        self._last_seq[doc.gateway_id] = doc.sequence_no
        self.documents.append(doc)
        return Received(document=doc, duplicate=False, missing_before=tuple(range(last + 1, doc.sequence_no)))


def deliver_in_memory(core: SmgwCore, inbox: EmtInbox, *, now: float) -> list[Received]:
    """Study mode without sockets: hand `core`'s backlog for `inbox.emt_id` over in order,
    acknowledging each message the inbox took. A refused message stays pending (and is
    re-raised) — exactly what the WAN adapter does with a 400."""
    received = []
    for message in core.pending(inbox.emt_id):
        received.append(inbox.receive(message.cms, now=now))
        core.acknowledge(inbox.emt_id, message.sequence_no)
    return received

"""The GWA's wake-up packet (BSI TR-03109-1: the gateway accepts no incoming WAN
connection; the GWA may ask it to connect out with a signed, time-limited wake-up).

bidicharge carries the wake-up as CMS SignedData (the GWA's key) over a small JSON body
(gateway id, issue time, nonce) — a documented simplification of the TR's binary
packet with the same checks: signed by this gateway's GWA, for this gateway, issued within
`validity_s` of `now`, and a nonce not seen in that window (``replayed``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from .cms_signed import Signer, sign, verify
from .errors import RemoteProtocolError

FORMAT: Final = "bidicharge-smgw-wakeup/1"
VALIDITY_S: Final = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WakeUp:
    gateway_id: str
    issued_at: float
    nonce: str  # from the GWA's injected generator


def sign_wakeup(wakeup: WakeUp, gwa: Signer, *, now: float) -> bytes:
    body = {"format": FORMAT, "gateway_id": wakeup.gateway_id, "issued_at": wakeup.issued_at, "nonce": wakeup.nonce}
    return sign(json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), gwa, now=now)


class WakeUpGuard:
    def __init__(self, *, gateway_id: str, gwa_certificate: x509.Certificate, roots: Sequence[x509.Certificate],
                 validity_s: float = VALIDITY_S) -> None:
        self._gateway_id = gateway_id
        self._gwa = gwa_certificate
        self._roots = tuple(roots)
        self._validity_s = validity_s
        self._seen: dict[str, float] = {}

    def accept(self, data: bytes, *, now: float) -> WakeUp:
        verified = verify(data, roots=self._roots, now=now)
        if verified.signer != self._gwa:
            raise RemoteProtocolError("wake-up not signed by this gateway's administrator", reason="not-gwa")
        try:
            body = json.loads(verified.content)
            wakeup = WakeUp(gateway_id=str(body["gateway_id"]), issued_at=float(body["issued_at"]),
                            nonce=str(body["nonce"]))
            if body["format"] != FORMAT:
                raise ValueError(body["format"])
        except (ValueError, KeyError, TypeError):
            raise RemoteProtocolError("not a wake-up packet", reason="bad-wakeup") from None
        if wakeup.gateway_id != self._gateway_id:
            raise RemoteProtocolError(f"wake-up for {wakeup.gateway_id!r}", reason="bad-wakeup")
        if not now - self._validity_s <= wakeup.issued_at <= now + 60.0:
            raise RemoteProtocolError("wake-up outside its validity", reason="expired")
        self._seen = {n: t for n, t in self._seen.items() if t >= now - self._validity_s}
        if wakeup.nonce in self._seen:
            raise RemoteProtocolError("wake-up nonce seen before", reason="replayed")
        self._seen[wakeup.nonce] = wakeup.issued_at
        return wakeup

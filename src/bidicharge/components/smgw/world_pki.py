"""The simulated world's SM-PKI: one `DemoSmPki` per (seed, start), identities by name.

Every component of a study that needs a certificate (gateways, GWA, EMTs, control units)
asks for `world_pki(seed, start_s).identity(name)` and gets the same key and certificate
as everybody else, as if all of them had been issued by one Sub-CA before the run. Keys
are derived from the seed and the name (SHA-256 in counter mode), so an identity does not
depend on who asked first; the cache is per process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from bidicharge.protocols.tr03109 import DemoSmPki, Identity


def _stream(label: str) -> Callable[[int], bytes]:
    counter = 0

    def read(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
            counter += 1
        return out[:n]

    return read


class WorldPki:
    def __init__(self, seed: int, start_s: float) -> None:
        self._seed = seed
        self._read = _stream(f"bidicharge-world-pki/{seed}/root")
        self.pki = DemoSmPki(random_bytes=lambda n: self._read(n), now=start_s)
        self._identities: dict[str, Identity] = {}

    def write_pem(self, name: str, directory: Path) -> tuple[Path, Path, Path]:
        """Certificate chain, key and root as PEM files for TLS (live mode): (cert, key, ca)."""
        identity = self.identity(name)
        cert, key, ca = directory / f"{name}.pem", directory / f"{name}.key", directory / "sm-root.pem"
        cert.write_bytes(identity.certificate_pem())
        key.write_bytes(identity.key_pem())
        key.chmod(0o600)
        ca.write_bytes(self.pki.root_pem())
        return cert, key, ca

    def identity(self, name: str) -> Identity:
        found = self._identities.get(name)
        if found is None:
            self._read = _stream(f"bidicharge-world-pki/{self._seed}/{name}")
            found = self.pki.issue(name, dns_names=(name.replace("_", "-"), "localhost"))
            self._identities[name] = found
        return found


@lru_cache(maxsize=8)
def world_pki(seed: int, start_s: float) -> WorldPki:
    return WorldPki(seed, start_s)

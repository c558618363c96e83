"""I-15 SMGW – mMU (LMN): the meter's SML telegram, carried as the bytes the meter sends.

The gateway polls in study mode (`SmlPoll`); the answer is one SML transport-v1 file
(`bidicharge.protocols.sml`: 1.8.0, 2.8.0, 16.7.0), or no bytes when the meter is silent.
"""

from __future__ import annotations

from dataclasses import dataclass


class Octets(bytes):
    """Bytes as they are on the wire; traces show their length, not their content."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"<{len(self)} bytes>"


@dataclass(frozen=True, slots=True, kw_only=True)
class SmlPoll:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class SmlTelegram:
    data: Octets  # SML transport v1 (escape, padding, CRC16); empty while the meter is silent

"""Code-side registrations that `bidicharge architecture --status` is computed from.

Protocol packages declare which catalogue interfaces they are the wire for (``PROTOCOL``
in their ``__init__``); components declare the ports they provide and require. Nothing in
the status table is typed by hand: it is the join of the catalogue with these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolSpec:
    """A protocol implementation in `bidicharge.protocols` and the interfaces it carries."""

    name: str  # e.g. "OCPP-J 2.0.1/2.1"
    package: str  # dotted module path, e.g. "bidicharge.protocols.ocppj"
    interfaces: tuple[str, ...]  # catalogue ids, e.g. ("I-04", "I-05", "I-14")
    standard: str = ""  # the standard it follows, e.g. "OCPP 2.1 Edition 1, Part 4 (OCPP-J)"


PROTOCOL_PACKAGES: Final = (
    "iec61851",
    "exi",
    "iso15118_20",
    "ocppj",
    "ship",
    "spine",
    "sunspec",
    "iec104",
    "sml",
    "tr03109",
    "edifact",
    "as4",
    "ocpi",
    "rest",
)

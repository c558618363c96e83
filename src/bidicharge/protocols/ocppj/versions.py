"""OCPP versions spoken over OCPP-J, their WebSocket subprotocol names and message sets.

OCPP 2.0.1 Part 4 §3.1.2 / OCPP 2.1 Part 4 §3.1.2: the subprotocol is ``ocpp2.0.1`` resp.
``ocpp2.1``. OCPP 2.1 adds two RPC message types (Part 4 §4.2): SEND (6) and CALLRESULTERROR (5).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from importlib import import_module
from typing import Any


class OcppVersion(StrEnum):
    V2_0_1 = "ocpp2.0.1"
    V2_1 = "ocpp2.1"

    @property
    def package(self) -> str:
        return "v2_0_1" if self is OcppVersion.V2_0_1 else "v2_1"

    @property
    def message_types(self) -> frozenset[int]:
        return frozenset({2, 3, 4}) if self is OcppVersion.V2_0_1 else frozenset({2, 3, 4, 5, 6})


def action_table(version: OcppVersion) -> Mapping[str, tuple[type[Any], type[Any] | None]]:
    """``action -> (request or SEND class, response class or None)`` of a version."""
    module = import_module(f"bidicharge.protocols.ocppj._generated.{version.package}.messages")
    table: Mapping[str, tuple[type[Any], type[Any] | None]] = module.ACTIONS
    return table

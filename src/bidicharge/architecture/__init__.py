"""The seed as data: components, interfaces and the protocols that carry them.

This is the bottom layer: it imports nothing else of bidicharge.
"""

from bidicharge.architecture.catalogue import (
    COMPONENTS,
    COMPOSITES,
    INTERFACES,
    UnknownIdError,
    component,
    endpoint_ids,
    interface,
    interfaces_of,
)
from bidicharge.architecture.model import ComponentId, ComponentInfo, InterfaceId, InterfaceInfo
from bidicharge.architecture.registry import PROTOCOL_PACKAGES, ProtocolSpec

__all__ = [
    "COMPONENTS",
    "COMPOSITES",
    "INTERFACES",
    "PROTOCOL_PACKAGES",
    "ComponentId",
    "ComponentInfo",
    "InterfaceId",
    "InterfaceInfo",
    "ProtocolSpec",
    "UnknownIdError",
    "component",
    "endpoint_ids",
    "interface",
    "interfaces_of",
]

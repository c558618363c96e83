"""The seed's components and interfaces as typed records.

Ids follow the catalogue (`C-…` components, `I-…` interfaces) and are the single source of
truth for every port declaration in `bidicharge.components`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

ComponentId = NewType("ComponentId", str)
InterfaceId = NewType("InterfaceId", str)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentInfo:
    id: ComponentId
    name: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceInfo:
    id: InterfaceId
    between: str  # the catalogue's wording, e.g. "BEV – EVSE"
    a: ComponentId  # first endpoint
    b: ComponentId  # second endpoint
    purpose: str
    protocols: str  # the protocols the seed names for it
    implied: bool  # required by the seed's component descriptions, absent from its table
    optional: bool
    via: tuple[ComponentId, ...]  # components the traffic passes through (the CLS tunnel)

    @property
    def endpoints(self) -> tuple[ComponentId, ComponentId]:
        return (self.a, self.b)

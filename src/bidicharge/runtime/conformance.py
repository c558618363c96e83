"""The conformance matrix: for every catalogue interface, which component kinds provide and
require it, what carries it today, and which protocol cores exist for it — computed from
the code (component port declarations and the `PROTOCOL` specs of protocol packages).
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass

from bidicharge.architecture import COMPONENTS, INTERFACES, PROTOCOL_PACKAGES, ProtocolSpec
from bidicharge.runtime.component import load_component_types
from bidicharge.runtime.ports import ELECTRICAL, Direction


class State(enum.Enum):
    WIRE = "on the wire"  # a component speaks a real protocol core on it
    PHYSICAL = "physical model"  # an electrical connection, modelled as power flows
    IN_MEMORY = "in memory"  # components exchange its messages in memory; protocol pending
    CORE = "protocol core only"  # a protocol core exists, no component speaks it yet
    NONE = "not implemented"


@dataclass(frozen=True, slots=True, kw_only=True)
class InterfaceStatus:
    id: str
    between: str
    seed_protocols: str
    providers: tuple[str, ...]
    requirers: tuple[str, ...]
    carried_by: tuple[str, ...]  # protocols named on the ports
    cores: tuple[str, ...]  # protocol packages that declare this interface
    state: State


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentStatus:
    id: str
    name: str
    kinds: tuple[str, ...]


def protocol_specs() -> list[ProtocolSpec]:
    specs: list[ProtocolSpec] = []
    for name in PROTOCOL_PACKAGES:
        try:
            module = importlib.import_module(f"bidicharge.protocols.{name}")
        except ImportError:
            continue
        spec = getattr(module, "PROTOCOL", None)
        if isinstance(spec, ProtocolSpec):
            specs.append(spec)
    return specs


def interface_status() -> list[InterfaceStatus]:
    kinds = load_component_types()
    specs = protocol_specs()
    rows: list[InterfaceStatus] = []
    for iid, info in INTERFACES.items():
        providers: list[str] = []
        requirers: list[str] = []
        carriers: list[str] = []
        for kind, cls in sorted(kinds.items()):
            for port in cls.PORTS:
                if port.interface != iid:
                    continue
                (providers if port.direction is Direction.PROVIDES else requirers).append(f"{kind}.{port.name}")
                carriers.append(port.protocol)
        cores = tuple(s.name for s in specs if iid in s.interfaces)
        carried = tuple(sorted(set(carriers)))
        if any(c not in ("in-memory", ELECTRICAL) for c in carried):
            state = State.WIRE
        elif ELECTRICAL in carried:
            state = State.PHYSICAL
        elif carried:
            state = State.IN_MEMORY
        elif cores:
            state = State.CORE
        else:
            state = State.NONE
        rows.append(
            InterfaceStatus(
                id=iid,
                between=info.between,
                seed_protocols=info.protocols,
                providers=tuple(providers),
                requirers=tuple(requirers),
                carried_by=carried,
                cores=cores,
                state=state,
            )
        )
    return rows


def component_status() -> list[ComponentStatus]:
    kinds = load_component_types()
    return [
        ComponentStatus(
            id=cid,
            name=info.name,
            kinds=tuple(sorted(k for k, cls in kinds.items() if cls.catalogue_id == cid)),
        )
        for cid, info in COMPONENTS.items()
    ]

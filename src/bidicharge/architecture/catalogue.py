"""The catalogue: every component and interface of the seed under its id.

Built from the generated `_catalogue_data` (see `tools/gen_catalogue.py`); look-ups by id
fail with a message that names the unknown id and the nearest known ones.
"""

from __future__ import annotations

import difflib
import re
from typing import Final

from bidicharge.architecture import _catalogue_data as _data
from bidicharge.architecture.model import ComponentId, ComponentInfo, InterfaceId, InterfaceInfo

COMPONENTS: Final[dict[str, ComponentInfo]] = {
    row["id"]: ComponentInfo(id=ComponentId(row["id"]), name=row["name"], role=row["role"])
    for row in _data.COMPONENTS
}

INTERFACES: Final[dict[str, InterfaceInfo]] = {
    row["id"]: InterfaceInfo(
        id=InterfaceId(row["id"]),
        between=row["between"],
        a=ComponentId(row["a"]),
        b=ComponentId(row["b"]),
        purpose=row["purpose"],
        protocols=row["protocols"],
        implied=bool(row["implied"]),
        optional=bool(row["optional"]),
        via=tuple(ComponentId(v) for v in row["via"]),
    )
    for row in _data.INTERFACES
}


# The seed's composite components: the iMSys is the mMU and the SMGW with its CLS tunnel, so an
# interface ending at the iMSys ends at one of its parts.
COMPOSITES: Final[dict[str, tuple[str, ...]]] = {"C-IMSYS": ("C-MMU", "C-SMGW", "C-CLS-TUNNEL")}


def endpoint_ids(interface_id: str) -> set[str]:
    """Every component id that may carry an end of the interface (composites expanded)."""
    info = INTERFACES[interface_id]
    ids = {info.a, info.b, *info.via}
    for composite, parts in COMPOSITES.items():
        if composite in ids:
            ids.update(parts)
    return ids


class UnknownIdError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _lookup(table: dict[str, object], key: str, what: str) -> object:
    try:
        return table[key]
    except KeyError:
        near = difflib.get_close_matches(key, table, n=3)
        padded = re.sub(r"^I-(\d)$", r"I-0\1", key.strip().upper())
        if padded in table and padded not in near:
            near.insert(0, padded)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownIdError(f"unknown {what} id {key!r}{hint}") from None


def component(component_id: str) -> ComponentInfo:
    info = _lookup(COMPONENTS, component_id, "component")  # type: ignore[arg-type]
    assert isinstance(info, ComponentInfo)
    return info


def interface(interface_id: str) -> InterfaceInfo:
    info = _lookup(INTERFACES, interface_id, "interface")  # type: ignore[arg-type]
    assert isinstance(info, InterfaceInfo)
    return info


def interfaces_of(component_id: str) -> list[InterfaceInfo]:
    component(component_id)
    return [i for i in INTERFACES.values() if component_id in (i.a, i.b)]

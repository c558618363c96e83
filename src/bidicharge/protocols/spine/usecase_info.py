"""Use-case discovery data (``nodeManagementUseCaseData``, SPINE 1.3.0 §7.5).

A device announces, per entity and actor, the use cases it supports with version,
availability and the scenarios it implements. Names and actors are the wire strings of
spine-go ``model/usecaseinformation.go``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.model import Address


@dataclass(frozen=True, slots=True, kw_only=True)
class UseCaseSupport:
    entity: Address  # entity address (device + entity path)
    actor: str
    name: str
    version: str
    scenarios: tuple[int, ...]
    available: bool = True
    sub_revision: str = "release"


def use_case_data_json(entries: list[UseCaseSupport]) -> JsonObject:
    groups: dict[tuple[str | None, tuple[int, ...], str], list[UseCaseSupport]] = {}
    for entry in entries:
        groups.setdefault((entry.entity.device, entry.entity.entity, entry.actor), []).append(entry)
    info = []
    for (device, path, actor), items in groups.items():
        info.append({
            "address": Address(device=device, entity=path).entity_json(),
            "actor": actor,
            "useCaseSupport": [{"useCaseName": e.name, "useCaseVersion": e.version,
                                "useCaseAvailable": e.available, "scenarioSupport": list(e.scenarios),
                                "useCaseDocumentSubRevision": e.sub_revision} for e in items],
        })
    return {"useCaseInformation": info}


def parse_use_case_data(data: JsonObject) -> list[UseCaseSupport]:
    """Best effort: entries with missing optional fields are kept, broken ones skipped."""
    out: list[UseCaseSupport] = []
    infos: Any = data.get("useCaseInformation", [])
    if isinstance(infos, dict):
        infos = [infos]
    for info in infos if isinstance(infos, list) else []:
        if not isinstance(info, dict):
            continue
        try:
            address = Address.from_json(info.get("address", {}))
        except Exception:  # noqa: BLE001 - a broken entry must not hide the others
            continue
        supports = info.get("useCaseSupport", [])
        for support in supports if isinstance(supports, list) else [supports]:
            if not isinstance(support, dict) or not isinstance(support.get("useCaseName"), str):
                continue
            scenarios = support.get("scenarioSupport", [])
            out.append(UseCaseSupport(
                entity=address, actor=str(info.get("actor", "")), name=support["useCaseName"],
                version=str(support.get("useCaseVersion", "")),
                scenarios=tuple(s for s in scenarios if isinstance(s, int)) if isinstance(scenarios, list) else (),
                available=support.get("useCaseAvailable", True) is not False,
                sub_revision=str(support.get("useCaseDocumentSubRevision", ""))))
    return out

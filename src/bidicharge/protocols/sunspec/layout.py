"""Where each point of a model sits (SunSpec Information Model Specification: a model is
`ID`, `L` and `L` registers of points; groups follow the points of their parent, repeating
groups once per instance).

Points are addressed by path: `"W"`, `"PFWInj.PF"` for a point of a single group,
`"module[1].DCA"` for the second instance of a repeating group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import LocalProtocolError, ModbusException, RemoteProtocolError
from .model_def import GroupDef, ModelDef, PointDef
from .points import register_count


@dataclass(frozen=True, slots=True, kw_only=True)
class Slot:
    path: str
    point: PointDef
    offset: int  # registers from the model's ID register
    sf_path: str | None  # the point holding this point's scale factor, if any


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelLayout:
    model: ModelDef
    slots: tuple[Slot, ...]
    counts: Mapping[str, int]  # instances of each repeating group, by group name
    by_path: Mapping[str, Slot] = field(repr=False)
    by_offset: tuple[Slot | None, ...] = field(repr=False)  # the slot starting at each offset

    @property
    def length(self) -> int:
        """The model's `L`: registers after ID and L."""
        return len(self.by_offset) - 2

    def slot(self, path: str) -> Slot:
        try:
            return self.by_path[path]
        except KeyError:
            raise LocalProtocolError(f"model {self.model.id} has no point {path!r}") from None


def _group_len(group: GroupDef, counts: Mapping[str, int]) -> int:
    size = sum(register_count(p) for p in group.points)
    for sub in group.groups:
        size += _instances(sub, counts) * _group_len(sub, counts)
    return size


def _instances(group: GroupDef, counts: Mapping[str, int]) -> int:
    if isinstance(group.count, int) and group.count > 0:
        return group.count
    return counts.get(group.name, 0)


def _find_sf(name: str, scopes: list[tuple[str, GroupDef]]) -> str:
    # A scale factor lives in the point's own group or in one of its ancestors.
    for prefix, group in reversed(scopes):
        if any(p.name == name for p in group.points):
            return prefix + name
    raise LocalProtocolError(f"scale factor {name!r} not found")


def _walk(
    group: GroupDef,
    prefix: str,
    offset: int,
    counts: Mapping[str, int],
    scopes: list[tuple[str, GroupDef]],
    out: list[Slot],
) -> int:
    scopes = [*scopes, (prefix, group)]
    for point in group.points:
        sf_path = _find_sf(point.sf, scopes) if isinstance(point.sf, str) else None
        out.append(Slot(path=prefix + point.name, point=point, offset=offset, sf_path=sf_path))
        offset += register_count(point)
    for sub in group.groups:
        n = _instances(sub, counts)
        repeating = not (isinstance(sub.count, int) and sub.count == 1)
        for i in range(n):
            sub_prefix = f"{prefix}{sub.name}[{i}]." if repeating else f"{prefix}{sub.name}."
            offset = _walk(sub, sub_prefix, offset, counts, scopes, out)
    return offset


_CACHE: dict[tuple[int, tuple[tuple[str, int], ...]], ModelLayout] = {}


def layout(model: ModelDef, counts: Mapping[str, int] | None = None) -> ModelLayout:
    """Lay out `model` with `counts` instances of each variable-count group (default 0)."""
    key = (model.id, tuple(sorted((counts or {}).items())))
    cached = _CACHE.get(key)
    if cached is not None and cached.model is model:
        return cached
    if len(_CACHE) > 1024:  # layouts are few; a device reporting random counts must not grow this
        _CACHE.clear()
    result = _layout(model, counts)
    _CACHE[key] = result
    return result


def _layout(model: ModelDef, counts: Mapping[str, int] | None) -> ModelLayout:
    counts = dict(counts or {})
    slots: list[Slot] = []
    end = _walk(model.group, "", 0, counts, [], slots)
    by_offset: list[Slot | None] = [None] * end
    for slot in slots:
        by_offset[slot.offset] = slot
    return ModelLayout(
        model=model,
        slots=tuple(slots),
        counts=counts,
        by_path={slot.path: slot for slot in slots},
        by_offset=tuple(by_offset),
    )


def counts_from_registers(model: ModelDef, length: int, registers: Sequence[int]) -> dict[str, int]:
    """Instances of each repeating group of a model read from a device.

    Groups counted by a point take that point's value; legacy groups with count 0 fill
    the rest of the model (SunSpec "repeating block", e.g. model 160 modules).
    """
    top = layout(model)

    def count_point(name: str) -> int:
        slot = top.by_path.get(name)
        if slot is None or slot.offset >= len(registers):
            return 0
        value = registers[slot.offset]
        return 0 if value == 0xFFFF else value

    counts: dict[str, int] = {}

    def visit(groups: tuple[GroupDef, ...]) -> None:
        # count points sit at the top of the model, whatever depth their group has (707 Pt)
        for group in groups:
            if isinstance(group.count, str):
                counts[group.name] = count_point(group.count)
            visit(group.groups)

    visit(model.group.groups)
    fixed = _group_len(model.group, counts)
    if fixed > length + 2:
        raise RemoteProtocolError(
            f"model {model.id}: its group counts {counts} need {fixed} registers, L is {length}",
            wire_code=ModbusException.SERVER_DEVICE_FAILURE,
        )
    for group in model.group.groups:
        if group.count == 0:
            group_len = _group_len(group, counts)
            counts[group.name] = max(0, (length + 2 - fixed) // group_len) if group_len else 0
    return counts

"""The register image a SunSpec server holds (SunSpec Modbus Specification 1.0 §4-5):
`"SunS"` at the base address (40000 by default), then every model as `ID`, `L`, points,
then the end marker `0xFFFF, 0`.

`ModelImage` holds one model's registers and converts physical values with the scale
factors in the image; `DeviceImage` chains models, answers reads and applies writes. A
write is all or nothing: it may only cover whole read-write points (else exception 2,
ILLEGAL DATA ADDRESS) and every value must be acceptable (else 3, ILLEGAL DATA VALUE).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .controls import limit_for
from .errors import LocalProtocolError, ModbusException, RemoteProtocolError
from .layout import ModelLayout, layout
from .model_def import GroupDef, ModelDef
from .points import PointValue, decode_raw, encode_raw, register_count, scale, unscale

SUNS: tuple[int, int] = (0x5375, 0x6E53)
END_MARKER: tuple[int, int] = (0xFFFF, 0)
DEFAULT_BASE_ADDRESS = 40000


class ModelImage:
    """The registers of one model instance, starting with its ID and L."""

    __slots__ = ("layout", "registers")

    def __init__(self, model: ModelDef, counts: Mapping[str, int] | None = None) -> None:
        self.layout: ModelLayout = layout(model, counts)
        self.registers: list[int] = [0] * (self.layout.length + 2)
        for slot in self.layout.slots:
            self.registers[slot.offset : slot.offset + register_count(slot.point)] = encode_raw(
                slot.point, None
            )
        self.registers[0], self.registers[1] = model.id, self.layout.length
        self._set_count_points(model.group.groups)

    def _set_count_points(self, groups: tuple[GroupDef, ...]) -> None:
        for group in groups:  # count points state how many instances follow
            if isinstance(group.count, str) and group.count in self.layout.by_path:
                self.set_raw(group.count, self.layout.counts.get(group.name, 0))
            self._set_count_points(group.groups)

    @property
    def model_id(self) -> int:
        return self.layout.model.id

    def get_raw(self, path: str) -> int | float | str | None:
        slot = self.layout.slot(path)
        return decode_raw(slot.point, self.registers[slot.offset : slot.offset + register_count(slot.point)])

    def set_raw(self, path: str, raw: int | float | str | None) -> None:
        slot = self.layout.slot(path)
        self.registers[slot.offset : slot.offset + register_count(slot.point)] = encode_raw(slot.point, raw)

    def scale_factor(self, path: str) -> int | None:
        slot = self.layout.slot(path)
        if isinstance(slot.point.sf, int):
            return slot.point.sf
        if slot.sf_path is None:
            return None
        sf = self.get_raw(slot.sf_path)
        if sf is None:
            return None
        if not isinstance(sf, int) or not -10 <= sf <= 10:
            raise LocalProtocolError(f"scale factor {slot.sf_path} = {sf!r} is out of -10..10")
        return sf

    def get(self, path: str) -> PointValue:
        """Physical value of a point (scale factor applied), None if not implemented."""
        return scale(self.get_raw(path), self.scale_factor(path))

    def set(self, path: str, value: PointValue) -> None:
        """Store a physical value; its scale factor must be set first."""
        slot = self.layout.slot(path)
        sf = self.scale_factor(path)
        if value is not None and slot.sf_path is not None and sf is None:
            raise LocalProtocolError(f"set {slot.sf_path} before {path}")
        self.set_raw(path, unscale(value, sf))

    def update(self, values: Mapping[str, PointValue]) -> None:
        # scale factors first, so the values after them use the new exponents
        for path in sorted(values, key=lambda p: self.layout.slot(p).point.type != "sunssf"):
            self.set(path, values[path])

    def values(self) -> dict[str, PointValue]:
        """Every point's physical value (each scale factor is decoded once)."""
        raws = {
            slot.path: decode_raw(
                slot.point, self.registers[slot.offset : slot.offset + register_count(slot.point)]
            )
            for slot in self.layout.slots
            if slot.point.type != "pad"
        }
        out: dict[str, PointValue] = {}
        for slot in self.layout.slots:
            if slot.point.type == "pad":
                continue
            sf = slot.point.sf if isinstance(slot.point.sf, int) else raws.get(slot.sf_path or "")
            valid_sf = sf if isinstance(sf, int) and -10 <= sf <= 10 else None
            out[slot.path] = scale(raws[slot.path], valid_sf)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PointWrite:
    """A control point that a client changed."""

    model_id: int
    model_index: int  # 0 for the first instance of this model id on the device
    path: str
    value: PointValue


class DeviceImage:
    """The whole register map of one device (one Modbus unit id)."""

    def __init__(self, models: Sequence[ModelImage], *, base_address: int = DEFAULT_BASE_ADDRESS) -> None:
        self.models = tuple(models)
        self.base_address = base_address
        self._starts: list[int] = []
        address = base_address + len(SUNS)
        for model in self.models:
            self._starts.append(address)
            address += len(model.registers)
        self.end_address = address + len(END_MARKER)  # first address after the map

    def model(self, model_id: int, index: int = 0) -> ModelImage:
        found = [m for m in self.models if m.model_id == model_id]
        if index >= len(found):
            raise LocalProtocolError(f"device has no model {model_id} #{index}")
        return found[index]

    def model_address(self, model: ModelImage) -> int:
        return self._starts[self.models.index(model)]

    def read(self, address: int, count: int) -> list[int]:
        """Registers [address, address+count); exception 2 outside the map."""
        if count < 1 or address < self.base_address or address + count > self.end_address:
            raise RemoteProtocolError(
                f"registers {address}..{address + count - 1} are outside the SunSpec map "
                f"{self.base_address}..{self.end_address - 1}",
                wire_code=ModbusException.ILLEGAL_DATA_ADDRESS,
            )
        image = [*SUNS]
        for model in self.models:
            image += model.registers
        image += END_MARKER
        start = address - self.base_address
        return image[start : start + count]

    def _locate(self, address: int) -> tuple[int, ModelImage]:
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0 or address >= self._starts[i] + len(self.models[i].registers):
            raise RemoteProtocolError(
                f"register {address} is not part of a model", wire_code=ModbusException.ILLEGAL_DATA_ADDRESS
            )
        return i, self.models[i]

    def write(self, address: int, registers: Sequence[int]) -> tuple[PointWrite, ...]:
        """Apply a write of whole read-write points, all or nothing (SunSpec Modbus §5.4)."""
        if not registers:
            raise RemoteProtocolError("empty write", wire_code=ModbusException.ILLEGAL_DATA_VALUE)
        staged: list[tuple[ModelImage, str, list[int]]] = []
        pos = 0
        while pos < len(registers):
            i, model = self._locate(address + pos)
            offset = address + pos - self._starts[i]
            slot = model.layout.by_offset[offset] if offset < len(model.layout.by_offset) else None
            if slot is None or slot.point.access != "RW":
                what = "inside a point" if slot is None else f"{slot.path} (read-only)"
                raise RemoteProtocolError(
                    f"write to register {address + pos}: {what} of model {model.model_id}",
                    wire_code=ModbusException.ILLEGAL_DATA_ADDRESS,
                )
            size = register_count(slot.point)
            if pos + size > len(registers):
                raise RemoteProtocolError(
                    f"write covers only part of {slot.path}", wire_code=ModbusException.ILLEGAL_DATA_ADDRESS
                )
            staged.append((model, slot.path, list(registers[pos : pos + size])))
            pos += size
        return self._apply(staged)

    def _apply(self, staged: Iterable[tuple[ModelImage, str, list[int]]]) -> tuple[PointWrite, ...]:
        backup = [list(model.registers) for model in self.models]
        writes = []
        try:
            for model, path, regs in staged:
                slot = model.layout.slot(path)
                model.registers[slot.offset : slot.offset + len(regs)] = regs
            for model, path, _ in staged:
                value = model.get(path)
                _check(model, path, value, self)
                index = [m for m in self.models if m.model_id == model.model_id].index(model)
                writes.append(PointWrite(model_id=model.model_id, model_index=index, path=path, value=value))
        except RemoteProtocolError:
            for model, registers in zip(self.models, backup, strict=True):
                model.registers[:] = registers
            raise
        return tuple(writes)


def _check(model: ModelImage, path: str, value: PointValue, device: DeviceImage) -> None:
    slot = model.layout.slot(path)
    symbols = slot.point.symbols
    if slot.point.type.startswith("enum") and value not in {s.value for s in symbols}:
        raise RemoteProtocolError(
            f"{model.model_id}.{path} = {value} is not one of its symbols",
            wire_code=ModbusException.ILLEGAL_DATA_VALUE,
        )
    limit = limit_for(model.model_id, path)
    if limit is None:
        return
    if not isinstance(value, int | float):
        raise RemoteProtocolError(
            f"{model.model_id}.{path}: {value!r} is not a setting",
            wire_code=ModbusException.ILLEGAL_DATA_VALUE,
        )
    low, high = limit.min, limit.max
    if limit.rating is not None:
        rating = _rating(device, *limit.rating)
        if rating is None:
            return  # this device has no rating to hold the value against
        low, high = (-rating if limit.signed else 0.0), rating
    if not low <= value <= high:
        raise RemoteProtocolError(
            f"{model.model_id}.{path} = {value} is outside {low:g}..{high:g}",
            wire_code=ModbusException.ILLEGAL_DATA_VALUE,
        )


def _rating(device: DeviceImage, model_id: int, path: str) -> float | None:
    for model in device.models:
        if model.model_id == model_id:
            value = model.get(path)
            return float(value) if isinstance(value, int | float) else None
    return None

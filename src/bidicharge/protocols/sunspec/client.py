"""The reading side of SunSpec (SunSpec Modbus Specification 1.0 §4.2 "device discovery"):
find `"SunS"` at 40000, 0 or 50000, walk the chain of `ID`/`L` headers to the end marker
0xFFFF, read each model in requests of at most 125 registers, decode every point.

`DeviceScan` is sans-I/O: ask it `next_request()`, perform the Modbus read however you
like, hand back `receive_registers()` or `receive_exception()`; `result()` when `done`.
`write_requests()` encodes new control values into the Modbus writes for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._generated.models import MODELS
from .errors import LocalProtocolError, ModbusException, RemoteProtocolError
from .image import DEFAULT_BASE_ADDRESS, SUNS, ModelImage
from .layout import counts_from_registers
from .points import PointValue, register_count

MAX_READ = 125  # registers per FC3 request (Modbus Application Protocol §6.3)
MAX_WRITE = 123  # registers per FC16 request (§6.12)
BASE_ADDRESSES = (DEFAULT_BASE_ADDRESS, 0, 50000)
MAX_MODELS = 200  # a chain longer than this is a broken device, not a big one


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadRequest:
    address: int
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRequest:
    address: int
    registers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ScannedModel:
    """One model as read from a device; `image` decodes its points."""

    model_id: int
    address: int  # of its ID register
    image: ModelImage | None  # None for a model id we have no definition for
    registers: tuple[int, ...]

    @property
    def values(self) -> dict[str, PointValue]:
        return {} if self.image is None else self.image.values()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScannedDevice:
    base_address: int
    models: tuple[ScannedModel, ...]

    def model(self, model_id: int, index: int = 0) -> ScannedModel:
        found = [m for m in self.models if m.model_id == model_id]
        if index >= len(found):
            raise LocalProtocolError(f"device has no model {model_id} #{index}")
        return found[index]


def decode_model(model_id: int, registers: Sequence[int]) -> ModelImage | None:
    """Decode a model's registers (starting at its ID) with the model definition."""
    definition = MODELS.get(model_id)
    if definition is None:
        return None
    length = registers[1]
    image = ModelImage(definition, counts_from_registers(definition, length, registers))
    usable = min(len(image.registers), len(registers))
    image.registers[:usable] = registers[:usable]
    return image


class DeviceScan:
    def __init__(self, *, base_addresses: Sequence[int] = BASE_ADDRESSES) -> None:
        self._bases = list(base_addresses)
        self._base: int | None = None
        self._pending: ReadRequest | None = ReadRequest(address=self._bases[0], count=2)
        self._model_id = 0
        self._model_address = 0
        self._model_length = 0
        self._body: list[int] = []
        self._models: list[ScannedModel] = []
        self.done = False

    def next_request(self) -> ReadRequest | None:
        return None if self.done else self._pending

    def receive_exception(self, code: int) -> None:
        """The device answered the pending read with a Modbus exception."""
        # only "no such address" means "no map here, try the next base"; a failing device fails
        if self._base is None and len(self._bases) > 1 and code == ModbusException.ILLEGAL_DATA_ADDRESS:
            self._bases.pop(0)
            self._pending = ReadRequest(address=self._bases[0], count=2)
            return
        raise RemoteProtocolError(
            f"device refused to read {self._pending}",
            wire_code=ModbusException(code)
            if code in (1, 2, 3, 4)
            else ModbusException.SERVER_DEVICE_FAILURE,
        )

    def receive_registers(self, registers: Sequence[int]) -> None:
        request = self._pending
        if request is None or self.done:
            raise LocalProtocolError("no read is pending")
        if len(registers) != request.count:
            raise RemoteProtocolError(
                f"asked for {request.count} registers, got {len(registers)}",
                wire_code=ModbusException.SERVER_DEVICE_FAILURE,
            )
        if self._base is None:
            if tuple(registers) == SUNS:
                self._base = request.address
                self._header(request.address + 2)
            else:
                self.receive_exception(ModbusException.ILLEGAL_DATA_ADDRESS)
            return
        if not self._body and request.count == 2 and request.address == self._model_address:
            self._model_id, self._model_length = registers[0], registers[1]
            if self._model_id == 0xFFFF:
                self.done = True
                self._pending = None
                return
            if len(self._models) >= MAX_MODELS:
                raise RemoteProtocolError(
                    "model chain does not end", wire_code=ModbusException.SERVER_DEVICE_FAILURE
                )
            self._body = [self._model_id, self._model_length]
        else:
            self._body += registers
        remaining = self._model_length + 2 - len(self._body)
        if remaining > 0:
            address = self._model_address + len(self._body)
            self._pending = ReadRequest(address=address, count=min(MAX_READ, remaining))
            return
        body = tuple(self._body)
        self._models.append(
            ScannedModel(self._model_id, self._model_address, decode_model(self._model_id, body), body)
        )
        self._header(self._model_address + len(body))

    def _header(self, address: int) -> None:
        self._model_address = address
        self._body = []
        self._pending = ReadRequest(address=address, count=2)

    def result(self) -> ScannedDevice:
        if not self.done or self._base is None:
            raise LocalProtocolError("scan is not finished")
        return ScannedDevice(base_address=self._base, models=tuple(self._models))


def write_requests(model: ScannedModel, values: Mapping[str, PointValue]) -> list[WriteRequest]:
    """The Modbus writes that set `values` (physical, with the model's scale factors);
    adjacent points go into one request of at most 123 registers."""
    if model.image is None:
        raise LocalProtocolError(f"no definition for model {model.model_id}")
    image = model.image
    spans: list[tuple[int, tuple[int, ...]]] = []
    for path, value in values.items():
        slot = image.layout.slot(path)
        if slot.point.access != "RW":
            raise LocalProtocolError(f"{model.model_id}.{path} is read-only")
        image.set(path, value)
        n = register_count(slot.point)
        spans.append((slot.offset, tuple(image.registers[slot.offset : slot.offset + n])))
    spans.sort()
    requests: list[WriteRequest] = []
    for offset, regs in spans:
        address = model.address + offset
        last = requests[-1] if requests else None
        if (
            last
            and last.address + len(last.registers) == address
            and len(last.registers) + len(regs) <= MAX_WRITE
        ):
            requests[-1] = WriteRequest(address=last.address, registers=last.registers + regs)
        else:
            requests.append(WriteRequest(address=address, registers=regs))
    return requests

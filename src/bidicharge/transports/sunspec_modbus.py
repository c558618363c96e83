"""Thin asyncio adapters that put SunSpec register maps on Modbus/TCP with pymodbus.

* `SunSpecModbusServer` — one pymodbus TCP server per device. Before every read it asks
  the physics for a measurement (`measure(setpoints) -> measurement`) and writes it into
  the register image; every write goes through the image's checks (whole read-write
  points, ranges, symbols) and, when accepted, yields new typed setpoints that the next
  `measure` call receives and `on_setpoints` is told about. Rejected requests are
  answered with the Modbus exception the core chose; the server stays up. Controls written
  with a reversion time fall back when it runs out (`ReversionTimers`), checked on every
  request and, under `run()`, at each deadline.
* `SunSpecModbusClient` — the HEMS side: discover the model chain, decode every point,
  write controls (pymodbus `AsyncModbusTcpClient`, FC3 / FC16).

All protocol decisions are in `bidicharge.protocols.sunspec`; this module moves registers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from bidicharge.protocols.sunspec import (
    DeviceImage,
    DeviceScan,
    LocalProtocolError,
    ModbusException,
    PointValue,
    RemoteProtocolError,
    ScannedDevice,
    ScannedModel,
    decode_model,
    write_requests,
)
from bidicharge.protocols.sunspec.client import MAX_READ
from bidicharge.protocols.sunspec.reversion import ReversionTimers

log = logging.getLogger(__name__)

M = TypeVar("M")
S = TypeVar("S")
M_contra = TypeVar("M_contra", contravariant=True)
S_co = TypeVar("S_co", covariant=True)


class DeviceProfile(Protocol[M_contra, S_co]):
    """What `PvInverterProfile`, `BatteryProfile` and `MeterProfile` offer."""

    def build(self, *, base_address: int = ...) -> DeviceImage: ...
    def update(self, device: DeviceImage, m: M_contra, /) -> None: ...
    def setpoints(self, device: DeviceImage) -> S_co: ...


class SunSpecModbusServer(Generic[M, S]):
    """Serve one SunSpec device on 127.0.0.1 (port 0 = any free port)."""

    def __init__(
        self,
        profile: DeviceProfile[M, S],
        *,
        measure: Callable[[S], M],
        on_setpoints: Callable[[S], None] | None = None,
        unit_id: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        base_address: int = 40000,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.profile = profile
        self.device = profile.build(base_address=base_address)
        self.timers = ReversionTimers(self.device)
        self._clock = clock
        self.setpoints: S = profile.setpoints(self.device)
        self._measure = measure
        self._on_setpoints = on_setpoints
        self._unit_id = unit_id
        self._host = host
        self._port = port
        self._server: ModbusTcpServer | None = None
        self.refused: list[RemoteProtocolError] = []  # last refusals, newest last (bounded)

    @property
    def port(self) -> int:
        if self._server is None or self._server.transport is None:
            raise RuntimeError("server is not listening")
        server = self._server.transport
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def start(self) -> None:
        image = self.device.read(self.device.base_address, self.device.end_address - self.device.base_address)
        simdevice = SimDevice(
            id=self._unit_id,
            simdata=[SimData(self.device.base_address, values=image, datatype=DataType.REGISTERS)],
            action=self._action,
        )
        self._server = ModbusTcpServer(simdevice, address=(self._host, self._port))
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def __aenter__(self) -> SunSpecModbusServer[M, S]:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def handle_timeout(self, now: float) -> None:
        """Revert the controls whose reversion time has run out."""
        if self.timers.handle_timeout(now=now):
            self._setpoints_changed()

    async def run(self) -> None:
        """Serve until cancelled, reverting controls at their deadlines (for a TaskGroup)."""
        await self.start()
        try:
            while True:
                deadline = self.timers.next_deadline()
                delay = 1.0 if deadline is None else min(1.0, max(0.0, deadline - self.now()))
                await asyncio.sleep(delay)
                self.handle_timeout(self.now())
        finally:
            await self.stop()

    def _setpoints_changed(self) -> None:
        self.setpoints = self.profile.setpoints(self.device)
        if self._on_setpoints is not None:
            self._on_setpoints(self.setpoints)

    def refresh(self) -> None:
        """Take a measurement from the physics into the image."""
        self.profile.update(self.device, self._measure(self.setpoints))

    async def _action(
        self,
        func_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        now = self.now()
        try:
            self.handle_timeout(now)
            if set_values is None:
                self.timers.show_remaining(now=now)
                self.refresh()
                offset = address - start_address
                registers[offset : offset + count] = self.device.read(address, count)
                return None
            writes = self.device.write(address, [int(v) for v in set_values])
            self.timers.on_writes(writes, now=now)
        except RemoteProtocolError as error:
            log.warning("SunSpec unit %d refused FC%d at %d: %s", self._unit_id, func_code, address, error)
            self.refused = [*self.refused[-15:], error]
            return ExcCodes(int(error.wire_code))
        except (LocalProtocolError, ValueError):
            # the physics gave something the map cannot hold: the device is at fault, not the peer
            log.exception("SunSpec unit %d failed to serve FC%d at %d", self._unit_id, func_code, address)
            return ExcCodes.DEVICE_FAILURE
        self._setpoints_changed()
        return None


class SunSpecModbusClient:
    """Read and write a SunSpec device over Modbus/TCP (the HEMS side)."""

    def __init__(self, host: str, port: int, *, unit_id: int = 1, timeout_s: float = 2.0) -> None:
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0)
        self._unit_id = unit_id

    async def connect(self) -> None:
        if not await self._client.connect():
            raise ConnectionError(f"cannot reach SunSpec device at {self._client.comm_params.host}")

    def close(self) -> None:
        self._client.close()

    async def __aenter__(self) -> SunSpecModbusClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def read_registers(self, address: int, count: int) -> list[int]:
        response = await self._client.read_holding_registers(address, count=count, device_id=self._unit_id)
        if response.isError():
            code = int(getattr(response, "exception_code", ModbusException.SERVER_DEVICE_FAILURE))
            raise RemoteProtocolError(
                f"read {address}+{count} refused",
                wire_code=ModbusException(code)
                if code in (1, 2, 3, 4)
                else ModbusException.SERVER_DEVICE_FAILURE,
            )
        return list(response.registers)

    async def write_registers(self, address: int, registers: list[int]) -> None:
        response = await self._client.write_registers(address, registers, device_id=self._unit_id)
        if response.isError():
            code = int(getattr(response, "exception_code", ModbusException.SERVER_DEVICE_FAILURE))
            raise RemoteProtocolError(
                f"write {address}+{len(registers)} refused",
                wire_code=ModbusException(code)
                if code in (1, 2, 3, 4)
                else ModbusException.SERVER_DEVICE_FAILURE,
            )

    async def scan(self) -> ScannedDevice:
        scan = DeviceScan()
        while (request := scan.next_request()) is not None:
            try:
                registers = await self.read_registers(request.address, request.count)
            except RemoteProtocolError as error:
                scan.receive_exception(int(error.wire_code))
                continue
            scan.receive_registers(registers)
        return scan.result()

    async def read_model(self, model: ScannedModel) -> ScannedModel:
        """Read the model again (current values)."""
        length = len(model.registers)
        registers: list[int] = []
        while len(registers) < length:
            chunk = min(MAX_READ, length - len(registers))
            registers += await self.read_registers(model.address + len(registers), chunk)
        return ScannedModel(
            model.model_id, model.address, decode_model(model.model_id, registers), tuple(registers)
        )

    async def write(self, model: ScannedModel, values: Mapping[str, PointValue]) -> None:
        """Write control points (physical values, the model's scale factors)."""
        for request in write_requests(model, values):
            await self.write_registers(request.address, list(request.registers))


async def wait_listening(server: SunSpecModbusServer[M, S], *, timeout_s: float = 2.0) -> int:
    """The port once the server accepts connections."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                return server.port
            except RuntimeError:
                await asyncio.sleep(0.01)

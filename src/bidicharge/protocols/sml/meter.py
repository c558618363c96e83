"""What a modern electricity meter (mME, "mMU") pushes over its LMN/INFO interface.

The file a bidirectional meter sends every 1-4 s (FNN Lastenheft Basiszähler, SML 1.04
clause 7): PublicOpen.Res, GetList.Res with the server ID, 1-0:1.8.0 (A+ import energy,
Wh, scaler -1), 1-0:2.8.0 (A- export energy, Wh, scaler -1) and 1-0:16.7.0 (active
power, W, scaler 0, negative when exporting), then PublicClose.Res. Transaction ids come
from an injected generator so files are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .errors import LocalProtocolError, RemoteProtocolError
from .messages import GetListRes, ListEntry, Message, PublicCloseRes, PublicOpenRes, SecIndex
from .obis import (
    ACTIVE_POWER_TOTAL,
    EXPORT_ENERGY_TOTAL,
    IMPORT_ENERGY_TOTAL,
    MANUFACTURER,
    PUBLIC_KEY,
    SERVER_ID,
    Obis,
    Unit,
)
from .transport import SmlFile

ENERGY_SCALER: Final = -1  # 0.1 Wh resolution, as EMH/ISKRA/EasyMeter registers send it
POWER_SCALER: Final = 0
# Status word of the energy registers: bit 8 "energy flowing" and the fixed FNN bits.
ENERGY_STATUS: Final = 0x0001_0182


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading:
    """Register values of a bidirectional meter at one instant."""

    server_id: bytes
    import_energy_Wh: Decimal  # 1-0:1.8.0, never decreases
    export_energy_Wh: Decimal  # 1-0:2.8.0, never decreases
    active_power_W: int  # 1-0:16.7.0, positive = import from the grid
    seconds_index: int | None = None  # meter's running seconds counter


def server_id(*, manufacturer: str, serial: int, version: int = 0x01) -> bytes:
    """The 10-byte server ID (DIN 43863-5): 0x0A, medium 1, FLAG id, version, serial."""
    if len(manufacturer) != 3 or not manufacturer.isascii():
        raise LocalProtocolError("the FLAG manufacturer id has three ASCII letters")
    return bytes((0x0A, 0x01)) + manufacturer.encode("ascii") + bytes((version,)) + serial.to_bytes(4, "big")


def _scaled(value: Decimal, scaler: int, what: str) -> int:
    raw = value.scaleb(-scaler)
    if raw != raw.to_integral_value():
        raise LocalProtocolError(f"{what} {value} has more digits than scaler {scaler} allows")
    return int(raw)


def reading_messages(
    reading: MeterReading,
    *,
    next_transaction_id: Callable[[], bytes],
    manufacturer: str | None = None,
    public_key: bytes | None = None,
) -> tuple[Message, ...]:
    """The three messages of one push telegram (SML 1.04 clauses 7.2.1, 7.2.2, 7.2.10).

    `manufacturer` adds 129-129:199.130.3 (the FLAG id), `public_key` adds
    129-129:199.130.5, the key a meter with signed values publishes (FNN Lastenheft
    Basiszähler); signing the values themselves is left to the caller's `value_signature`.
    """
    sensor_time = None if reading.seconds_index is None else SecIndex(seconds=reading.seconds_index)
    entries = [ListEntry(obj_name=SERVER_ID, value=reading.server_id)]
    if manufacturer is not None:
        entries.append(ListEntry(obj_name=MANUFACTURER, value=manufacturer.encode("ascii")))
    if public_key is not None:
        entries.append(ListEntry(obj_name=PUBLIC_KEY, value=public_key))
    entries += [
        ListEntry(
            obj_name=IMPORT_ENERGY_TOTAL,
            status=ENERGY_STATUS,
            unit=Unit.WATT_HOUR,
            scaler=ENERGY_SCALER,
            value=_scaled(reading.import_energy_Wh, ENERGY_SCALER, "import energy"),
        ),
        ListEntry(
            obj_name=EXPORT_ENERGY_TOTAL,
            status=ENERGY_STATUS,
            unit=Unit.WATT_HOUR,
            scaler=ENERGY_SCALER,
            value=_scaled(reading.export_energy_Wh, ENERGY_SCALER, "export energy"),
        ),
        ListEntry(
            obj_name=ACTIVE_POWER_TOTAL,
            unit=Unit.WATT,
            scaler=POWER_SCALER,
            value=reading.active_power_W,
        ),
    ]
    file_id = next_transaction_id()
    return (
        Message(
            transaction_id=next_transaction_id(),
            body=PublicOpenRes(req_file_id=file_id, server_id=reading.server_id, ref_time=sensor_time),
        ),
        Message(
            transaction_id=next_transaction_id(),
            group_no=0,
            body=GetListRes(
                server_id=reading.server_id, act_sensor_time=sensor_time, val_list=tuple(entries)
            ),
        ),
        Message(transaction_id=next_transaction_id(), body=PublicCloseRes()),
    )


def entry_value(entry: ListEntry) -> Decimal:
    """The physical value `value × 10**scaler` of a numeric list entry."""
    if isinstance(entry.value, bool) or not isinstance(entry.value, int):
        raise RemoteProtocolError(f"{entry.obj_name} is not numeric")
    return Decimal(entry.value).scaleb(entry.scaler or 0)


def _require(values: dict[Obis, ListEntry], obis: Obis, unit: int) -> Decimal:
    entry = values.get(obis)
    if entry is None:
        raise RemoteProtocolError(f"meter file has no {obis}")
    if entry.unit is not None and entry.unit != unit:
        raise RemoteProtocolError(f"{obis} has unit code {entry.unit}, expected {unit}")
    return entry_value(entry)


def parse_reading(file: SmlFile) -> MeterReading:
    """The meter reading in a received file (the first GetList.Res in it)."""
    for message in file.messages:
        if isinstance(message.body, GetListRes):
            body = message.body
            break
    else:
        raise RemoteProtocolError("meter file has no GetList.Res")
    values = {entry.obj_name: entry for entry in body.val_list}
    power = _require(values, ACTIVE_POWER_TOTAL, Unit.WATT)
    sensor_time = body.act_sensor_time
    return MeterReading(
        server_id=body.server_id,
        import_energy_Wh=_require(values, IMPORT_ENERGY_TOTAL, Unit.WATT_HOUR),
        export_energy_Wh=_require(values, EXPORT_ENERGY_TOTAL, Unit.WATT_HOUR),
        active_power_W=int(power),
        seconds_index=sensor_time.seconds if isinstance(sensor_time, SecIndex) else None,
    )

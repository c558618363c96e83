"""A bidirectional meter's push telegram: the OBIS registers a real meter sends."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from sml_strategies import readings

from bidicharge.protocols.sml import (
    ACTIVE_POWER_TOTAL,
    EXPORT_ENERGY_TOTAL,
    IMPORT_ENERGY_TOTAL,
    GetListRes,
    LocalProtocolError,
    MeterReading,
    PublicCloseRes,
    PublicOpenRes,
    RemoteProtocolError,
    SmlFile,
    Unit,
    decode_file,
    encode_file,
    parse_reading,
    reading_messages,
    server_id,
)


def _ids() -> itertools.count[int]:
    return itertools.count(1)


def _file(reading: MeterReading) -> bytes:
    counter = _ids()
    return encode_file(
        reading_messages(reading, next_transaction_id=lambda: next(counter).to_bytes(4, "big"))
    )


READING = MeterReading(
    server_id=server_id(manufacturer="EMH", serial=12_345_678),
    import_energy_Wh=Decimal("12345678.9"),
    export_energy_Wh=Decimal("2345.6"),
    active_power_W=-3210,
    seconds_index=1000,
)


def test_server_id_layout() -> None:
    assert server_id(manufacturer="EMH", serial=12_345_678) == bytes.fromhex("0a01454d480100bc614e")


def test_telegram_is_open_getlist_close_with_units_and_scalers() -> None:
    file = decode_file(_file(READING))
    bodies = [message.body for message in file.messages]
    assert [type(body) for body in bodies] == [PublicOpenRes, GetListRes, PublicCloseRes]
    get_list = bodies[1]
    assert isinstance(get_list, GetListRes)
    by_name = {entry.obj_name: entry for entry in get_list.val_list}
    assert (by_name[IMPORT_ENERGY_TOTAL].unit, by_name[IMPORT_ENERGY_TOTAL].scaler) == (Unit.WATT_HOUR, -1)
    assert by_name[IMPORT_ENERGY_TOTAL].value == 123456789
    assert (by_name[EXPORT_ENERGY_TOTAL].unit, by_name[EXPORT_ENERGY_TOTAL].scaler) == (Unit.WATT_HOUR, -1)
    assert (by_name[ACTIVE_POWER_TOTAL].unit, by_name[ACTIVE_POWER_TOTAL].scaler) == (Unit.WATT, 0)
    assert by_name[ACTIVE_POWER_TOTAL].value == -3210
    assert len({message.transaction_id for message in file.messages}) == 3


@given(readings)
def test_reading_survives_the_wire(reading: MeterReading) -> None:
    assert parse_reading(decode_file(_file(reading))) == reading


def test_energy_finer_than_the_scaler_is_our_error() -> None:
    with pytest.raises(LocalProtocolError):
        _file(
            MeterReading(
                server_id=b"x",
                import_energy_Wh=Decimal("1.25"),
                export_energy_Wh=Decimal(0),
                active_power_W=0,
            )
        )


def test_file_without_power_register_is_refused() -> None:
    file = decode_file(_file(READING))
    get_list = file.messages[1].body
    assert isinstance(get_list, GetListRes)
    stripped = type(get_list)(
        server_id=get_list.server_id,
        val_list=tuple(entry for entry in get_list.val_list if entry.obj_name != ACTIVE_POWER_TOTAL),
    )
    broken = SmlFile(messages=(type(file.messages[1])(transaction_id=b"x", body=stripped),))
    with pytest.raises(RemoteProtocolError, match="16.7.0"):
        parse_reading(broken)

"""Interop: a second independent SML decoder, `smllib` (PyPI, GPL-3.0-or-later; used here
only as a test peer, never imported by bidicharge), reads our meter telegrams: the same
OBIS values, units and scalers, and the three message types of a push telegram."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.sml import MeterReading, Unit, encode_file, reading_messages, server_id

smllib = pytest.importorskip("smllib", reason="smllib is a test peer: requirements/test-sml.txt")

pytestmark = pytest.mark.interop


def _telegram(reading: MeterReading) -> bytes:
    counter = itertools.count(1)
    return encode_file(
        reading_messages(reading, next_transaction_id=lambda: next(counter).to_bytes(4, "big"))
    )


def _smllib_frame(data: bytes) -> object:
    reader = smllib.SmlStreamReader()
    reader.add(data)
    frame = reader.get_frame()
    assert frame is not None, "smllib found no complete frame (framing or CRC rejected)"
    return frame


def test_smllib_decodes_our_sml() -> None:
    reading = MeterReading(
        server_id=server_id(manufacturer="ISK", serial=4_711),
        import_energy_Wh=Decimal("79139.3"),
        export_energy_Wh=Decimal("512.7"),
        active_power_W=2_144,
    )
    frame = _smllib_frame(_telegram(reading))
    kinds = [type(message.message_body).__name__ for message in frame.parse_frame()]  # type: ignore[attr-defined]
    assert kinds == ["SmlOpenResponse", "SmlGetListResponse", "SmlCloseResponse"]
    values = {entry.obis: entry for entry in frame.get_obis()}  # type: ignore[attr-defined]
    assert values["0100010800ff"].get_value() == pytest.approx(79139.3)
    assert (values["0100010800ff"].unit, values["0100010800ff"].scaler) == (Unit.WATT_HOUR, -1)
    assert values["0100020800ff"].get_value() == pytest.approx(512.7)
    assert values["0100100700ff"].get_value() == 2_144
    assert values["0100100700ff"].unit == Unit.WATT
    assert values["0100000009ff"].value == reading.server_id.hex()


@settings(max_examples=40, deadline=None)
@given(tenths=st.integers(0, 10**11), power_W=st.integers(-(10**6), 10**6))
def test_smllib_decodes_any_reading_of_ours(tenths: int, power_W: int) -> None:
    reading = MeterReading(
        server_id=server_id(manufacturer="EMH", serial=1),
        import_energy_Wh=Decimal(tenths).scaleb(-1),
        export_energy_Wh=Decimal(0),
        active_power_W=power_W,
    )
    values = {entry.obis: entry for entry in _smllib_frame(_telegram(reading)).get_obis()}  # type: ignore[attr-defined]
    assert values["0100010800ff"].value == tenths
    assert values["0100100700ff"].value == power_W

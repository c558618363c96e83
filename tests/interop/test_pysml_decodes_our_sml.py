"""Interop: the independent SML decoder `pysml` (PyPI, MIT; the Home Assistant edl21 parser)
decodes the telegrams of our meter encoder, checks both CRCs and reads the same values."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidicharge.protocols.sml import MeterReading, encode_file, reading_messages, server_id

sml = pytest.importorskip("sml", reason="pysml is a test peer: requirements/test-sml.txt")

pytestmark = pytest.mark.interop


def _telegram(
    reading: MeterReading, *, manufacturer: str | None = None, public_key: bytes | None = None
) -> bytes:
    counter = itertools.count(1)
    return encode_file(
        reading_messages(
            reading,
            next_transaction_id=lambda: next(counter).to_bytes(4, "big"),
            manufacturer=manufacturer,
            public_key=public_key,
        )
    )


def _pysml_values(data: bytes) -> tuple[dict[str, dict[str, object]], list[str]]:
    end, frame = sml.SmlBase.find_frame(data)
    assert frame is not None, "pysml found no valid frame (CRC or framing rejected)"
    assert end == len(data)
    kinds = [type(message["messageBody"]).__name__ for message in frame]
    values: dict[str, dict[str, object]] = {}
    for message in frame:
        body = message["messageBody"]
        if isinstance(body, sml.SmlGetListResponse):
            values = {entry["objName"]: entry for entry in body["valList"]}
    return values, kinds


def test_pysml_decodes_our_sml() -> None:
    reading = MeterReading(
        server_id=server_id(manufacturer="EMH", serial=12_345_678),
        import_energy_Wh=Decimal("12345678.9"),
        export_energy_Wh=Decimal("2345.6"),
        active_power_W=-3210,
        seconds_index=86_400,
    )
    key = bytes(range(48))  # a 48-byte public key, as EMH eHZ meters publish it
    values, kinds = _pysml_values(_telegram(reading, manufacturer="EMH", public_key=key))
    assert kinds == ["SmlOpenResponse", "SmlGetListResponse", "SmlCloseResponse"]
    assert values["1-0:1.8.0*255"]["value"] == pytest.approx(12345678.9)
    assert values["1-0:1.8.0*255"]["unit"] == "Wh"
    assert values["1-0:2.8.0*255"]["value"] == pytest.approx(2345.6)
    assert values["1-0:16.7.0*255"]["value"] == -3210
    assert values["1-0:16.7.0*255"]["unit"] == "W"
    assert values["1-0:0.0.9*255"]["value"] == "1 EMH01 1234 5678"
    assert values["129-129:199.130.3*255"]["value"] == "EMH"
    assert values["129-129:199.130.5*255"]["value"] == key.hex()


@settings(max_examples=60, deadline=None)
@given(
    import_tenths=st.integers(0, 10**11),
    export_tenths=st.integers(0, 10**11),
    power_W=st.integers(-(10**6), 10**6),
    serial=st.integers(0, 2**32 - 1),
)
def test_pysml_decodes_any_reading_of_ours(
    import_tenths: int, export_tenths: int, power_W: int, serial: int
) -> None:
    reading = MeterReading(
        server_id=server_id(manufacturer="ISK", serial=serial),
        import_energy_Wh=Decimal(import_tenths).scaleb(-1),
        export_energy_Wh=Decimal(export_tenths).scaleb(-1),
        active_power_W=power_W,
    )
    values, _ = _pysml_values(_telegram(reading))
    assert values["1-0:1.8.0*255"]["value"] == pytest.approx(import_tenths / 10, rel=1e-12, abs=1e-9)
    assert values["1-0:2.8.0*255"]["value"] == pytest.approx(export_tenths / 10, rel=1e-12, abs=1e-9)
    assert values["1-0:16.7.0*255"]["value"] == power_W


def test_pysml_reads_our_escaped_data() -> None:
    # A server ID that contains the escape sequence makes our encoder double it.
    reading = MeterReading(
        server_id=b"\x0a\x01\x1b\x1b\x1b\x1b\x1b\x1b\x00\x01",
        import_energy_Wh=Decimal("1.5"),
        export_energy_Wh=Decimal(0),
        active_power_W=7,
    )
    data = _telegram(reading)
    assert b"\x1b" * 8 in data[8:-8]
    values, _ = _pysml_values(data)
    assert values["1-0:16.7.0*255"]["value"] == 7

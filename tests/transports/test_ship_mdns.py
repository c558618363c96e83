"""SHIP discovery: TXT records, static fallback, and an mDNS round trip on loopback."""

from __future__ import annotations

import asyncio

import pytest

from bidicharge.transports.ship_mdns import (
    ShipDirectory,
    ShipServiceRecord,
    parse_static,
    parse_txt,
    txt_properties,
)

SKI = "db0f66cdbadb2eca24bcc1da60ba494d80cc1773"


def test_txt_record_round_trip_with_mandatory_keys() -> None:
    record = ShipServiceRecord(ski=SKI, ship_id="Wallbox-1", host="127.0.0.1", port=4712, register=True,  # type: ignore[arg-type]
                               brand="bidicharge", model="x" * 40, device_type="ChargingStation", category=3)
    props = txt_properties(record)
    assert {"txtvers", "id", "path", "ski", "register"} <= props.keys()
    assert len(props["model"]) == 32
    parsed = parse_txt({k.encode(): v.encode() for k, v in props.items()}, "127.0.0.1", 4712)
    assert parsed is not None and parsed.ski == SKI and parsed.register and parsed.category == 3


def test_txt_without_ski_is_ignored() -> None:
    assert parse_txt({b"txtvers": b"1", b"id": b"x", b"register": b"false"}, "h", 1) is None


def test_static_fallback_is_used_when_mdns_has_nothing() -> None:
    directory = ShipDirectory(static=[f"{SKI.upper()}@192.0.2.7:4712"])
    assert directory.lookup(SKI) == ("192.0.2.7", 4712, "/ship/")
    assert directory.lookup("11" * 20) is None
    with pytest.raises(ValueError):
        parse_static("nonsense")


async def test_mdns_announce_and_discover_on_loopback() -> None:
    announcer, browser = ShipDirectory(interfaces=["127.0.0.1"]), ShipDirectory(interfaces=["127.0.0.1"])
    try:
        await announcer.start()
        await browser.start()
        await announcer.announce(ShipServiceRecord(ski=SKI, ship_id="HEMS-mdns-test", host="127.0.0.1",  # type: ignore[arg-type]
                                                   port=4711, register=True))
        async with asyncio.timeout(5):
            while browser.lookup(SKI) is None:  # noqa: ASYNC110 - bounded wait for multicast
                await asyncio.sleep(0.05)
                await browser.resolve_pending()
    except (TimeoutError, OSError) as exc:
        pytest.skip(f"no multicast on loopback here: {exc!r}")
    finally:
        await browser.stop()
        await announcer.stop()
    assert browser.lookup(SKI) == ("127.0.0.1", 4711, "/ship/")

"""The gateway's tariff use cases, fed readings and time, read back through an EMT inbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
from smgw_world import (
    METER_ID,
    T0,
    Household,
    deliver,
    drive,
    evaluation,
    gateway,
    inbox,
    seeded,
)

from bidicharge.protocols.sml import MeterReading, encode_file, reading_messages, server_id
from bidicharge.protocols.tr03109 import (
    OBIS_EXPORT,
    OBIS_IMPORT,
    OBIS_POWER,
    LocalProtocolError,
    MeterSilent,
    ReadingRefused,
    Taf,
    ValueStatus,
    han,
)

DAY = 86_400.0


def _register_series(docs, obis):  # type: ignore[no-untyped-def]
    return [(v.captured_at, v.value, v.status) for d in docs for v in d.values if v.obis == obis]


def test_taf7_sends_a_day_of_quarter_hour_registers_equal_to_the_meter() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7))
    house = Household(power_W=2_000)
    drive(core, house, start=T0, end=T0 + DAY, step_s=60)
    box = inbox()
    assert deliver(core, box, now=T0 + DAY) == 1
    (doc,) = box.documents
    series = _register_series(box.documents, OBIS_IMPORT)
    assert [t for t, _, _ in series] == [T0 + 900 * k for k in range(1, 97)]
    assert all(value == house.readings[t].import_energy_Wh for t, value, _ in series)
    assert doc.taf is Taf.TAF7 and doc.sequence_no == 1 and doc.period_end == T0 + DAY


def test_taf7_series_is_complete_after_a_wan_outage() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7, send_interval_s=900))
    house = Household(power_W=-1_500)
    box = inbox()
    drive(core, house, start=T0, end=T0 + 2 * 3600, step_s=30)
    deliver(core, box, now=T0 + 2 * 3600)
    drive(core, house, start=T0 + 2 * 3600 + 30, end=T0 + 6 * 3600, step_s=30)  # WAN down: nothing acknowledged
    assert core.backlog_size == 16
    deliver(core, box, now=T0 + 6 * 3600)
    assert core.backlog_size == 0
    assert [d.sequence_no for d in box.documents] == list(range(1, 25))
    series = _register_series(box.documents, OBIS_EXPORT)
    assert [t for t, _, _ in series] == [T0 + 900 * k for k in range(1, 25)]
    assert all(status is ValueStatus.VALID and value == house.readings[t].export_energy_Wh
               for t, value, status in series)


def test_a_silent_meter_gives_missing_values_not_a_shorter_series() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7))
    house = Household(power_W=500)
    drive(core, house, start=T0, end=T0 + DAY, step_s=60, silent=(T0 + 3600, T0 + 7200))
    events = list(core.events())
    assert any(isinstance(e, MeterSilent) and e.meter_id == METER_ID for e in events)
    box = inbox()
    deliver(core, box, now=T0 + DAY)
    series = _register_series(box.documents, OBIS_IMPORT)
    assert len(series) == 96
    missing = [t for t, value, status in series if status is ValueStatus.MISSING]
    assert missing == [T0 + 3600 + 900 * k for k in range(1, 4)]  # 01:15, 01:30, 01:45
    assert all(value is None for t, value, _ in series if t in missing)
    # 02:00: a reading arrived at 02:00 again
    assert dict((t, s) for t, _, s in series)[T0 + 7200] is ValueStatus.VALID


def test_gateway_keeps_only_the_readings_a_capture_can_still_use() -> None:
    core = gateway(evaluation("taf1", Taf.TAF1), evaluation("taf7", Taf.TAF7))
    drive(core, Household(power_W=100), start=T0, end=T0 + 6 * 3600, step_s=1)
    assert core.history_size(METER_ID) <= 61  # a minute before the next capture, not six hours


def test_taf1_sends_the_registers_at_the_month_boundary() -> None:
    start = T0 - 3600 * 24 * 1 - 3600 * 2  # 2026-02-28 22:00
    core = gateway(evaluation("taf1", Taf.TAF1), now=start)
    house = Household(power_W=3_000)
    drive(core, house, start=start, end=start + 4 * 3600, step_s=300)
    box = inbox()
    assert deliver(core, box, now=start + 4 * 3600) == 1
    (doc,) = box.documents
    month_start = T0 - DAY  # 2026-03-01 00:00
    assert {v.obis: v.value for v in doc.values} == {
        OBIS_IMPORT: house.readings[month_start].import_energy_Wh,
        OBIS_EXPORT: house.readings[month_start].export_energy_Wh,
    }
    assert doc.period_end == month_start


def test_taf2_books_energy_to_the_stage_of_the_time_table() -> None:
    core = gateway(evaluation("taf2", Taf.TAF2))
    house = Household(power_W=1_000)
    drive(core, house, start=T0, end=T0 + DAY, step_s=36)  # 10 Wh per step, exactly
    box = inbox()
    deliver(core, box, now=T0 + DAY)
    (doc,) = box.documents
    stages = {(v.obis, v.tariff_stage): v.value for v in doc.values}
    # [TAF 2] NT 00:00-06:00 and 22:00-24:00 = 8 h, HT 06:00-22:00 = 16 h, at 1 kW
    assert stages[("1-0:1.8.1*255", "NT")] == Decimal(8_000)
    assert stages[("1-0:1.8.2*255", "HT")] == Decimal(16_000)
    total = house.readings[T0 + DAY].import_energy_Wh - house.readings[T0].import_energy_Wh
    assert stages[("1-0:1.8.1*255", "NT")] + stages[("1-0:1.8.2*255", "HT")] == total


def test_taf9_feed_in_on_request_and_periodically() -> None:
    core = gateway(evaluation("taf9", Taf.TAF9, emt_id="dso"))
    house = Household(power_W=-4_200)
    drive(core, house, start=T0, end=T0 + 900, step_s=10)
    message = core.request_feed_in("taf9", now=T0 + 905)
    assert message.document.on_request
    box = inbox("dso")
    deliver(core, box, now=T0 + 905)
    periodic, requested = box.documents
    assert not periodic.on_request and requested.on_request
    assert {v.obis: v.value for v in requested.values}["1-0:2.7.0*255"] == 4_200
    with pytest.raises(LocalProtocolError):
        core.request_feed_in("no-such-profile", now=T0 + 906)


def test_taf10_sends_grid_state_to_the_dso_every_minute() -> None:
    core = gateway(evaluation("taf10", Taf.TAF10, emt_id="dso"))
    house = Household()
    t = T0
    powers = [1000, -2500, 7000, 11_000, 0]
    for p in powers:
        for _ in range(6):
            house.power_W = p
            t += 10
            core.receive_reading(house.step(10, t), now=t)
            core.poll(now=t)
    box = inbox("dso")
    deliver(core, box, now=t)
    assert [v.value for d in box.documents for v in d.values if v.obis == OBIS_POWER] == powers
    assert core.pending("pemp") == ()


def test_taf14_forwards_every_reading_exactly_once() -> None:
    core = gateway(evaluation("taf14", Taf.TAF14))
    house = Household(power_W=11_000)
    drive(core, house, start=T0 + 1, end=T0 + 60, step_s=1)
    box = inbox()
    deliver(core, box, now=T0 + 60)
    times = [v.captured_at for d in box.documents for v in d.values if v.obis == OBIS_POWER]
    assert times == [T0 + k for k in range(1, 61)]
    assert len(box.documents) == 6


def test_two_evaluations_for_two_emts_are_sealed_for_each() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7, send_interval_s=900), evaluation("taf10", Taf.TAF10, emt_id="dso"))
    drive(core, Household(power_W=100), start=T0, end=T0 + 900, step_s=60)
    assert set(core.emts_with_backlog()) == {"pemp", "dso"}
    pemp, dso = inbox("pemp"), inbox("dso")
    with pytest.raises(Exception, match="not-for-us"):
        dso.receive(core.pending("pemp")[0].cms, now=T0 + 900)
    assert deliver(core, pemp, now=T0 + 900) == 1
    assert deliver(core, dso, now=T0 + 900) == 15


def test_readings_from_sml_bytes_and_garbage_on_the_lmn() -> None:
    core = gateway(evaluation("taf10", Taf.TAF10, emt_id="dso"))
    tx = iter(range(1, 10_000))
    reading = MeterReading(server_id=bytes.fromhex(METER_ID), import_energy_Wh=Decimal("123.4"),
                           export_energy_Wh=Decimal("5.6"), active_power_W=-3210)
    file = encode_file(reading_messages(reading, next_transaction_id=lambda: next(tx).to_bytes(4, "big")))
    broken = bytearray(file)
    broken[-3] ^= 0xFF  # CRC of the whole file
    core.receive_sml(bytes(broken) + b"\x00noise" + file[:40], now=T0 + 1)
    core.receive_sml(file[40:], now=T0 + 2)
    events = list(core.events())
    assert [e.reason for e in events if isinstance(e, ReadingRefused)] == ["bad-sml"]
    assert core.latest_readings()[METER_ID].reading == reading


def test_unknown_meter_and_register_going_back_are_refused() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7))
    other = MeterReading(server_id=server_id(manufacturer="ISK", serial=1), import_energy_Wh=Decimal(1),
                         export_energy_Wh=Decimal(0), active_power_W=0)
    core.receive_reading(other, now=T0 + 1)
    house = Household()
    core.receive_reading(house.step(1, T0 + 2), now=T0 + 2)
    core.receive_reading(MeterReading(server_id=bytes.fromhex(METER_ID), import_energy_Wh=Decimal(1),
                                      export_energy_Wh=house.export_Wh, active_power_W=0), now=T0 + 3)
    reasons = [e.reason for e in core.events() if isinstance(e, ReadingRefused)]
    assert reasons == ["unknown-meter", "register-went-back"]
    with pytest.raises(LocalProtocolError):
        core.receive_reading(house.step(1, T0), now=T0)


def test_han_shows_current_values_and_refuses_writes() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7))
    house = Household(power_W=-3210)
    drive(core, house, start=T0, end=T0 + 10, step_s=5)
    latest = core.latest_readings()
    ok = han.handle("GET", f"/v1/meters/{METER_ID}/current", gateway_id=core.gateway_id, latest=latest)
    assert ok.status == 200
    import json
    body = json.loads(ok.body)
    assert body["active_power_W"] == -3210 and Decimal(body["export_energy_Wh"]) == house.export_Wh
    assert json.loads(han.handle("GET", "/v1/meters", gateway_id="gw", latest=latest).body)["meters"] == [METER_ID]
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        refused = han.handle(method, f"/v1/meters/{METER_ID}/current", gateway_id="gw", latest=latest)
        assert refused.status == 405 and ("Allow", "GET, HEAD") in refused.headers
    assert han.handle("GET", "/v1/meters/00/current", gateway_id="gw", latest=latest).status == 404


def test_same_seed_same_world_same_bytes() -> None:
    cms = []
    for _ in range(2):
        core = gateway(evaluation("taf10", Taf.TAF10, emt_id="dso"))
        drive(core, Household(power_W=1), start=T0, end=T0 + 60, step_s=30)
        cms.append(core.pending("dso")[0].cms)
    assert cms[0] == cms[1]
    assert seeded(1)(4) == seeded(1)(4)

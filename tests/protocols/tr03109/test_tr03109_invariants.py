"""Invariants under random outages, silences and input: no quarter-hour lost or doubled; bad
documents and profiles are remote errors, never crashes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smgw_world import T0, Household, deliver, drive, evaluation, gateway, inbox

from bidicharge.protocols.tr03109 import (
    OBIS_IMPORT,
    RemoteProtocolError,
    Taf,
    ValueStatus,
    decode_document,
    decode_profile,
)

HOUR = 3600.0


@settings(max_examples=15, deadline=None)
@given(
    outages=st.lists(st.tuples(st.integers(0, 11), st.integers(1, 6)), max_size=3),
    silence=st.one_of(st.none(), st.tuples(st.integers(0, 11), st.integers(1, 4))),
)
def test_every_quarter_hour_arrives_exactly_once_in_order(outages, silence) -> None:  # type: ignore[no-untyped-def]
    core = gateway(evaluation("taf7", Taf.TAF7, send_interval_s=900))
    house = Household(power_W=700)
    box = inbox()
    down = {h for start, length in outages for h in range(start, start + length)}
    quiet = None if silence is None else (T0 + silence[0] * HOUR, T0 + (silence[0] + silence[1]) * HOUR)
    for hour in range(12):
        start = T0 + hour * HOUR + (0 if hour == 0 else 60)
        drive(core, house, start=start, end=T0 + (hour + 1) * HOUR, step_s=60, silent=quiet)
        if hour not in down:
            deliver(core, box, now=T0 + (hour + 1) * HOUR)
    deliver(core, box, now=T0 + 12 * HOUR)
    series = [v for d in box.documents for v in d.values if v.obis == OBIS_IMPORT]
    assert [v.captured_at for v in series] == [T0 + 900 * k for k in range(1, 49)]
    fed = {t: r for t, r in house.readings.items() if quiet is None or not quiet[0] <= t < quiet[1]}
    for v in series:
        last_fed = max((t for t in fed if t <= v.captured_at), default=None)
        if last_fed is not None and v.captured_at - last_fed <= 60:  # the profile's max_reading_age_s
            assert (v.status, v.value, v.read_at) == (ValueStatus.VALID, fed[last_fed].import_energy_Wh, last_fed)
        else:
            assert (v.status, v.value) == (ValueStatus.MISSING, None)


def test_next_deadline_is_the_next_capture() -> None:
    core = gateway(evaluation("taf7", Taf.TAF7), evaluation("taf10", Taf.TAF10, emt_id="dso"))
    assert core.next_deadline() == T0 + 60
    drive(core, Household(), start=T0, end=T0 + 90, step_s=30)
    assert core.next_deadline() == T0 + 120


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                            max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["format", "gateway_id", "version", "meters", "emts", "evaluations", "cls",
                                             "taf", "values", "sequence_no", "emt_id", "meter_id"]), _json_values))
def test_any_json_is_a_document_or_a_remote_error(body: dict[str, object]) -> None:
    for fmt, decode in (("bidicharge-meterdata/1", decode_document), ("bidicharge-smgw-profile/1", decode_profile)):
        data = json.dumps({**body, "format": fmt}).encode()
        try:
            decode(data)
        except RemoteProtocolError:
            pass


@pytest.mark.parametrize("data", [b"", b"\xff\xfe", b"[]", b'{"format": 1}', b"null"])
def test_non_documents_are_refused(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_document(data)
    with pytest.raises(RemoteProtocolError):
        decode_profile(data)

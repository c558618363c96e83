"""Hypothesis strategies for SML messages (shared by the codec and interop tests)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from bidicharge.protocols.sml import (
    GetListRes,
    ListEntry,
    Message,
    MeterReading,
    Obis,
    PublicCloseRes,
    PublicOpenRes,
    SecIndex,
    Timestamp,
)

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
U32 = st.integers(min_value=0, max_value=2**32 - 1)
octets = st.binary(min_size=1, max_size=40)  # b"" is how SML writes "not set", so never a value
obis = st.builds(
    Obis,
    a=st.integers(0, 255),
    b=st.integers(0, 255),
    c=st.integers(0, 255),
    d=st.integers(0, 255),
    e=st.integers(0, 255),
    f=st.integers(0, 255),
)
sml_time = st.one_of(st.builds(SecIndex, seconds=U32), st.builds(Timestamp, unix_s=U32))

entries = st.builds(
    ListEntry,
    obj_name=obis,
    value=st.one_of(INT64, octets, st.booleans()),
    status=st.none() | st.integers(0, 2**64 - 1),
    val_time=st.none() | sml_time,
    unit=st.none() | st.integers(0, 255),
    scaler=st.none() | st.integers(-128, 127),
    value_signature=st.none() | octets,
)
bodies = st.one_of(
    st.builds(
        PublicOpenRes,
        req_file_id=octets,
        server_id=octets,
        codepage=st.none() | octets,
        client_id=st.none() | octets,
        ref_time=st.none() | sml_time,
        sml_version=st.none() | st.integers(0, 255),
    ),
    st.builds(PublicCloseRes, global_signature=st.none() | octets),
    st.builds(
        GetListRes,
        server_id=octets,
        val_list=st.lists(entries, max_size=8).map(tuple),
        client_id=st.none() | octets,
        list_name=st.none() | obis,
        act_sensor_time=st.none() | sml_time,
        list_signature=st.none() | octets,
        act_gateway_time=st.none() | sml_time,
    ),
)
messages = st.builds(
    Message,
    transaction_id=octets,
    body=bodies,
    group_no=st.integers(0, 255),
    abort_on_error=st.integers(0, 255),
)

tenths = st.integers(min_value=0, max_value=10**12).map(lambda n: Decimal(n).scaleb(-1))
readings = st.builds(
    MeterReading,
    server_id=st.binary(min_size=10, max_size=10),
    import_energy_Wh=tenths,
    export_energy_Wh=tenths,
    active_power_W=st.integers(min_value=-(10**6), max_value=10**6),
    seconds_index=st.none() | U32,
)

"""The generated message classes: exact wire names, schema-valid round trips (Hypothesis)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp_schema_strategies import payloads

from bidicharge.protocols.ocppj import OcppVersion, action_table, v2_1
from bidicharge.protocols.ocppj.validation import SchemaViolation, load_schema, validate

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "src" / "bidicharge" / "protocols" / "ocppj" / "schemas"


def _classes(version: OcppVersion) -> dict[str, type]:
    out: dict[str, type] = {}
    for request, response in action_table(version).values():
        for cls in (request, response):
            if cls is not None:
                out[cls.SCHEMA] = cls
    return out


def _wire_names_in_schema(schema: dict) -> set[str]:
    names = set(schema.get("properties", {}))
    for d in schema.get("definitions", {}).values():
        names |= set(d.get("properties", {}))
    return names


def _wire_names_in_classes(cls: type, seen: set[type] | None = None) -> set[str]:
    import typing

    seen = seen if seen is not None else set()
    if cls in seen or not hasattr(cls, "WIRE_NAMES"):
        return set()
    seen.add(cls)
    names = set(cls.WIRE_NAMES.values())
    module = sys.modules[cls.__module__]
    for hint in typing.get_type_hints(cls, vars(module)).values():
        for arg in typing.get_args(hint) or (hint,):
            for inner in typing.get_args(arg) or (arg,):
                if isinstance(inner, type):
                    names |= _wire_names_in_classes(inner, seen)
    return names


@pytest.mark.parametrize(("version", "n_actions"), [(OcppVersion.V2_0_1, 64), (OcppVersion.V2_1, 91)])
def test_every_schema_has_a_class_and_every_action_is_listed(version: OcppVersion, n_actions: int) -> None:
    files = {p.stem for p in (SCHEMAS / version.package).glob("*.json")}
    assert set(_classes(version)) == files
    assert len(action_table(version)) == n_actions


@pytest.mark.parametrize("version", list(OcppVersion))
def test_every_schema_property_keeps_its_exact_wire_name(version: OcppVersion) -> None:
    for name, cls in _classes(version).items():
        schema = json.loads((SCHEMAS / version.package / f"{name}.json").read_text())
        assert _wire_names_in_schema(schema) == _wire_names_in_classes(cls), name


def test_l2_l3_fields_go_out_under_their_schema_names() -> None:
    period = v2_1.ChargingSchedulePeriodType(
        start_period=0, operation_mode=v2_1.OperationModeEnumType.CENTRAL_SETPOINT, setpoint=-7000, setpoint_l2=-2300,
        setpoint_l3=-2300, discharge_limit=-11000, discharge_limit_l2=-3700, limit=11000, limit_l2=3700,
        setpoint_reactive_l3=100,
    )
    wire = period.to_wire()
    assert wire == {"startPeriod": 0, "operationMode": "CentralSetpoint", "setpoint": -7000, "setpoint_L2": -2300,
                    "setpoint_L3": -2300, "dischargeLimit": -11000, "dischargeLimit_L2": -3700, "limit": 11000,
                    "limit_L2": 3700, "setpointReactive_L3": 100}
    needs = v2_1.V2XChargingParametersType(max_discharge_power_l2=3700, min_charge_power_l3=1000)
    assert needs.to_wire() == {"maxDischargePower_L2": 3700, "minChargePower_L3": 1000}
    assert v2_1.V2XChargingParametersType.from_wire(needs.to_wire()) == needs


def test_datetimes_are_aware_and_sent_as_rfc3339_utc() -> None:
    req = v2_1.HeartbeatResponse(current_time=datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=UTC))
    assert req.to_wire() == {"currentTime": "2025-03-01T12:00:00.250000Z"}
    validate(OcppVersion.V2_1, "HeartbeatResponse", req.to_wire())


def test_vendor_custom_data_survives_a_round_trip() -> None:
    wire = {"customData": {"vendorId": "acme", "rampRate_W_per_s": 50}, "chargingProfileId": 3}
    msg = v2_1.PullDynamicScheduleUpdateRequest.from_wire(wire)
    assert msg.custom_data is not None and msg.custom_data.extra == {"rampRate_W_per_s": 50}
    assert msg.to_wire() == wire


@pytest.mark.parametrize(("payload", "rule"), [
    ({"currentTime": "yesterday"}, "PropertyConstraintViolation"),
    ({"currentTime": 12}, "TypeConstraintViolation"),
    ({}, "OccurrenceConstraintViolation"),
    ({"currentTime": "2025-01-01T00:00:00Z", "bogus": 1}, "FormatViolation"),
])
def test_schema_violations_map_to_ocpp_error_codes(payload: dict, rule: str) -> None:
    with pytest.raises(SchemaViolation) as info:
        validate(OcppVersion.V2_1, "HeartbeatResponse", payload)
    assert info.value.code == rule


def test_generated_code_is_what_the_generator_makes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_ocppj.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    generated = ROOT / "src" / "bidicharge" / "protocols" / "ocppj" / "_generated"
    for path in tmp_path.rglob("*.py"):
        assert path.read_text() == (generated / path.relative_to(tmp_path)).read_text(), path


_ALL = [(v, name) for v in OcppVersion for name in sorted(_classes(v))]


@pytest.mark.parametrize(("version", "schema"), _ALL, ids=[f"{v.package}-{n}" for v, n in _ALL])
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_decode_encode_round_trip_stays_schema_valid(version: OcppVersion, schema: str, data: st.DataObject) -> None:
    cls = _classes(version)[schema]
    payload = data.draw(payloads(load_schema(version, schema)))
    validate(version, schema, payload)
    message = cls.from_wire(payload)
    wire = message.to_wire()
    validate(version, schema, wire)
    assert cls.from_wire(wire) == message

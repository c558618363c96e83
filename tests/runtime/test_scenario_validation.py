"""Bad scenarios are refused before anything starts, one message per problem, each naming
the file, the component and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bidicharge.runtime.scenario import ScenarioError, load_scenario, parse_duration_s


def _write(tmp_path: Path, doc: dict[str, Any], name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


def _base() -> dict[str, Any]:
    return {
        "name": "t",
        "start": "2018-03-05T00:00:00+01:00",
        "duration": "1d",
        "step": "15min",
        "components": {
            "ev": {"component": "bev", "config": {"capacity_kWh": 50}},
            "wallbox": {"component": "evse", "connect": {"vehicle": "ev.charger"}},
        },
    }


def _problems(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, doc))
    return [str(p) for p in info.value.problems]


def test_valid_scenario_loads(tmp_path: Path) -> None:
    sc = load_scenario(_write(tmp_path, _base()))
    assert sc.steps == 96
    assert [w.peer for w in sc.wires] == ["ev"]


def test_unknown_component_is_named_with_a_suggestion(tmp_path: Path) -> None:
    doc = _base()
    doc["components"]["pv"] = {"component": "pv_sytem", "config": {"peak_power_W": 1}}
    (msg,) = _problems(tmp_path, doc)
    assert "s.yaml" in msg and "'pv'" in msg and "component" in msg and "pv_system" in msg


def test_missing_required_port(tmp_path: Path) -> None:
    doc = _base()
    del doc["components"]["wallbox"]["connect"]
    (msg,) = _problems(tmp_path, doc)
    assert "'wallbox'" in msg and "connect.vehicle" in msg and "I-01" in msg and "not connected" in msg


def test_mistyped_port_and_mismatched_interface(tmp_path: Path) -> None:
    doc = _base()
    doc["components"]["wallbox"]["connect"] = {"vehicle": "ev.chargr"}
    (msg,) = _problems(tmp_path, doc)
    assert "connect.vehicle" in msg and "chargr" in msg and "charger" in msg
    doc["components"]["meter"] = {"component": "mmu"}
    doc["components"]["wallbox"]["connect"] = {"vehicle": "meter.han"}
    (msg,) = _problems(tmp_path, doc)
    assert "interface mismatch" in msg and "I-01" in msg and "I-47" in msg


def test_negative_capacity(tmp_path: Path) -> None:
    doc = _base()
    doc["components"]["ev"]["config"]["capacity_kWh"] = -5
    (msg,) = _problems(tmp_path, doc)
    assert "'ev'" in msg and "config.capacity_kWh" in msg and "greater than 0" in msg


def test_step_must_divide_the_span(tmp_path: Path) -> None:
    doc = _base()
    doc["step"] = "7min"
    (msg,) = _problems(tmp_path, doc)
    assert "step" in msg and "does not divide" in msg


def test_price_file_with_a_gap(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text(
        "time,price_EUR_per_MWh\n2018-03-05T00:00:00Z,40\n2018-03-05T01:00:00Z,41\n2018-03-05T03:00:00Z,42\n",
        encoding="utf-8",
    )
    doc = _base()
    doc["components"]["tariff"] = {"component": "energy_provider_backend", "config": {"prices": "prices.csv"}}
    (msg,) = _problems(tmp_path, doc)
    assert "'tariff'" in msg and "config.prices" in msg and "gap of 1 interval" in msg and "prices.csv:4" in msg


def test_price_file_that_does_not_cover_the_span(tmp_path: Path) -> None:
    (tmp_path / "prices.csv").write_text("time,price_EUR_per_MWh\n2018-03-05T00:00:00Z,40\n2018-03-05T01:00:00Z,41\n", encoding="utf-8")
    doc = _base()
    doc["components"]["tariff"] = {"component": "energy_provider_backend", "config": {"prices": "prices.csv"}}
    (msg,) = _problems(tmp_path, doc)
    assert "'tariff'" in msg and "covers" in msg


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    doc = _base()
    doc["step"] = "7min"
    doc["components"]["ev"]["config"]["capacity_kWh"] = -1
    doc["components"]["x"] = {"component": "nonsense"}
    doc["components"]["wallbox"]["config"] = {"max_power_W": "lots"}
    msgs = _problems(tmp_path, doc)
    assert len(msgs) == 4
    assert any("nonsense" in m for m in msgs) and any("max_power_W" in m for m in msgs)


def test_unknown_config_field_and_top_level_key(tmp_path: Path) -> None:
    doc = _base()
    doc["components"]["ev"]["config"]["capacity_kwh"] = 5
    doc["stepp"] = 1
    msgs = _problems(tmp_path, doc)
    assert any("config.capacity_kwh" in m and "unknown config field" in m for m in msgs)
    assert any("stepp" in m and "step" in m for m in msgs)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("components: [", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


@pytest.mark.parametrize(("text", "seconds"), [("15min", 900), ("1h", 3600), ("7d", 604800), (60, 60), ("0.5s", 0.5)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_s("soon")

"""full_system: every implemented component at once, as a study and live on loopback.

    home:    tariff ─I-45─► hems ─I-03─► wallbox ─I-01─► ev ; hems ─I-08─► battery, pv ; hems ─I-06─► hems_backend
             hems ─I-09─► cu_home ◄─I-10─ smgw_home ─I-16─► pemp
    street:  home_s1 ◄─I-09─ cu_s1 ◄─I-10─ smgw_s1 ─I-15─ meter_s1 ; home_s2 ◄─I-28─ ripple ◄─I-27─ grid_controller
             dso ─I-31/I-20/I-26/I-33/I-35/I-43─► grid_controller, cls_management, aemp, dso_metering, pemp, grid
    fleet:   cars ◄─I-01─ park ◄─I-04─ cpo_fleet ◄─I-14─ tech_agg ◄─I-23─ commercial ; cars ─I-02─► oem ◄─I-13─ tech_agg ◄─I-11─ agg_app
    public:  ev_public ◄─I-01─ wb_public ─I-04 OCPP 2.1─► cpo (cpo_backend) ; wb_public ─I-05─► evse_operator
    markets: trading ─I-54─► market ◄─I-44─ aggregator ; tso ─I-51─► plant_op, gas_op ; tso ─I-24─► aggregator
             tso ─I-21─► dso_cc ─I-52─► gas_op ; plant_op ─I-48─► trading

The live test runs `bidicharge up full_system --for 2min` (accelerated ten times: about 12 s
of wall time after start-up) with every server on a free loopback port, then reads the run
back with `bidicharge architecture --status --db … --json` and checks that the interfaces
below carried messages, and over which protocol where that protocol is on the wire.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bidicharge.cli import app
from bidicharge.runtime.component import load_component_types
from bidicharge.runtime.scenario import load_scenario

SCENARIO = Path(str(resources.files("bidicharge.scenarios") / "full_system.yaml"))

# Interfaces that carry messages within two simulated minutes, and the protocol on the wire
# where it is a real one (None: in memory today, or a protocol another engineer is changing).
EXPECTED_LIVE: dict[str, str | None] = {
    "I-01": None, "I-02": "MQTT", "I-03": None, "I-04": None, "I-06": "MQTT",
    "I-08": "SunSpec Modbus/TCP", "I-09": None, "I-10": None, "I-11": None, "I-13": None, "I-14": None,
    "I-15": "SML 1.04", "I-16": "BSI TR-03109 (HTTPS, mutual TLS)", "I-17": None, "I-20": None,
    "I-21": "IEC 60870-5-104", "I-23": None, "I-24": "IEC 60870-5-104", "I-26": None, "I-27": None,
    "I-28": None, "I-29": None, "I-31": None, "I-33": None, "I-35": None, "I-43": None,
    "I-44": "REST (OpenAPI)", "I-45": "REST (OpenAPI)", "I-47": None, "I-48": None,
    "I-51": "IEC 60870-5-104", "I-52": "IEC 60870-5-104", "I-54": "REST (OpenAPI)",
}
# In the study every link is paired in memory or over its protocol core; the same interfaces.
EXPECTED_STUDY = set(EXPECTED_LIVE)


def test_full_system_validates_and_holds_every_implemented_component_kind() -> None:
    sc = load_scenario(SCENARIO)
    kinds = {spec.kind for spec in sc.components.values()}
    ours = {kind for kind, cls in load_component_types().items() if cls.__module__.startswith("bidicharge.")}
    missing = sorted(ours - kinds)  # kinds that tests register for themselves do not count
    assert missing == [], f"full_system.yaml lacks the component kinds {missing}: add one instance of each"
    assert sc.step_s == 1.0 and sc.clock == "accelerated:10"


def test_a_short_study_of_the_full_system_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["simulate", str(SCENARIO), "--duration", "3min", "--no-plots",
                                      "--out", str(out), "--db", f"sqlite:///{tmp_path / 'study.db'}"])
    assert result.exit_code == 0, result.output
    assert "180 steps" in result.output
    status = CliRunner().invoke(app, ["architecture", "--status", "--json", "--db", f"sqlite:///{tmp_path / 'study.db'}"])
    assert status.exit_code == 0, status.output
    messages = {i["id"]: i["messages"] for i in json.loads(status.output)["interfaces"] if i["messages"]}
    assert set(messages) >= EXPECTED_STUDY, f"no messages on {sorted(EXPECTED_STUDY - set(messages))}"
    assert "OCPP 2.1" in messages["I-04"]  # the public wallbox and the real CSMS (paired in memory)


def live_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, span: str) -> dict[str, dict[str, int]]:
    monkeypatch.chdir(tmp_path)  # the backends' default SQLite files land under ./out
    db = f"sqlite:///{tmp_path / 'live.db'}"
    up = CliRunner().invoke(app, ["up", str(SCENARIO), "--for", span, "--db", db])
    assert up.exit_code == 0, up.output
    assert "run #1 stored" in up.output
    status = CliRunner().invoke(app, ["architecture", "--status", "--json", "--db", db])
    assert status.exit_code == 0, status.output
    doc = json.loads(status.output)
    assert doc["run"] == {"id": 1, "scenario": "full_system", "mode": "live"}
    return {i["id"]: i["messages"] for i in doc["interfaces"] if i["messages"]}


def assert_carried(messages: dict[str, dict[str, int]]) -> None:
    silent = sorted(set(EXPECTED_LIVE) - set(messages))
    assert silent == [], f"no messages on {silent}"
    for iface, protocol in EXPECTED_LIVE.items():
        if protocol is not None:
            assert protocol in messages[iface], (iface, messages[iface])


def test_the_full_system_runs_live_on_loopback_and_the_status_shows_its_traffic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_carried(live_run(tmp_path, monkeypatch, "2min"))


@pytest.mark.slow
def test_twenty_live_minutes_of_the_full_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = live_run(tmp_path, monkeypatch, "20min")
    assert_carried(messages)
    # the TSO keeps sending the frequency and the plants keep reporting over the whole run
    assert sum(messages["I-24"].values()) > 1000 and sum(messages["I-51"].values()) > 1000


def test_status_with_a_missing_store_or_run_says_what_is_wrong(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["architecture", "--status", "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 2 and "no database file" in missing.output
    no_db = CliRunner().invoke(app, ["architecture", "--status", "--run", "3"])
    assert no_db.exit_code == 2 and "--run needs --db" in no_db.output

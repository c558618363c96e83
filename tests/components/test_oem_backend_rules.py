"""OEM backend without sockets: what it refuses on I-02 and I-13, and why (study-mode contract).

    car ──I-02 (publications in memory)──► oem ◄──I-13 (in memory)── aggregator
"""

from __future__ import annotations

import json

from bidicharge.components.interfaces.i02_telematics import (
    OwnerSettings,
    Publish,
    SocCommand,
    VehicleStatus,
    topic,
)
from bidicharge.components.interfaces.i13_oem_aggregator import FleetDataRequest, SocCommandRequest
from bidicharge.components.oem_backend import OemBackend
from bidicharge.runtime.assembly import assemble
from bidicharge.runtime.scenario import parse_scenario
from bidicharge.runtime.trace import TraceRecorder

NOW = 1_520_420_400.0


def _oem() -> OemBackend:
    sc = parse_scenario({"start": "2018-03-07T12:00:00+01:00", "duration": "1h", "step": "5min",
                         "components": {"oem": {"component": "oem_backend"}}}, file="oem.yaml", base_dir=".")
    oem = assemble(sc, TraceRecorder())["oem"]
    assert isinstance(oem, OemBackend)
    return oem


def _publish(oem: OemBackend, vin: str, payload: dict[str, object]) -> None:
    oem.handle("telematics", Publish(topic=topic(vin, "status"), payload=payload, retain=True), None)  # type: ignore[arg-type]


def _status(vin: str, soc: float, t: float = NOW, **settings: object) -> dict[str, object]:
    s = VehicleStatus(vin=vin, time_s=t, soc=soc, location="home", plugged=True, capacity_Wh=60_000,
                      max_charge_power_W=11_000, max_discharge_power_W=11_000,
                      settings=OwnerSettings(departure_s=NOW + 7200, **settings) if settings else None)  # type: ignore[arg-type]
    return json.loads(s.model_dump_json())


def test_reports_that_are_malformed_misaddressed_or_stale_are_refused() -> None:
    oem = _oem()
    _publish(oem, "car1", _status("car1", 0.5, aggregator="agg", v2g_consent=True))
    _publish(oem, "car1", {**_status("car1", 0.6), "soc": 1.7})  # out of range
    _publish(oem, "car2", _status("car1", 0.6))  # claims another car
    _publish(oem, "car1", _status("car1", 0.2, t=NOW - 60))  # older than what we have
    view = oem.store.view("car1")
    assert view is not None and view.status is not None and view.status.soc == 0.5
    assert oem.store.view("car2") is None
    assert oem.report()["rejected_reports"] == 3


def test_the_aggregator_sees_and_commands_only_cars_whose_owner_consented() -> None:
    oem = _oem()
    _publish(oem, "mine", _status("mine", 0.5, aggregator="agg", v2g_consent=False, target_soc=0.8,
                                  min_soc_for_discharge=0.3))
    _publish(oem, "other", _status("other", 0.5, aggregator="someone_else", v2g_consent=True))
    data = oem.handle("aggregator", FleetDataRequest(aggregator="agg"), None)  # type: ignore[arg-type]
    assert [v["vin"] for v in data.vehicles] == ["mine"]

    def command(vin: str, max_soc: float, min_soc: float) -> str:
        answer = oem.handle("aggregator", SocCommandRequest(command=SocCommand(
            vin=vin, aggregator="agg", time_s=NOW, max_soc=max_soc, min_soc=min_soc)), None)  # type: ignore[arg-type]
        return "accepted" if answer.accepted else answer.reason

    assert "not authorised" in command("other", 0.9, 0.5)
    assert "below the owner's target_soc" in command("mine", 0.7, 0.5)
    assert "below the owner's min_soc_for_discharge" in command("mine", 0.9, 0.2)
    assert "no V2G consent" in command("mine", 0.9, 0.4)  # would allow a discharge from 0.5 to 0.4
    assert command("mine", 0.9, 0.5) == "accepted"
    assert oem.store.take_command("mine") is not None and oem.report()["commands_refused"] == 4

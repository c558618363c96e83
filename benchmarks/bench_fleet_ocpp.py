#!/usr/bin/env python3
"""Benchmark: what one fleet step costs on I-04 — the park's meter values into the CSMS, as in a study.

``fleet_v2g`` runs its 200-EVSE park on the real CSMS (``cpo_backend``): every 5-minute step each
plugged car's station sends a TransactionEvent ``Updated`` with the import/export registers and
the SoC, carried in memory (``MemoryEndpoint``: framing, schema validation both ways, typed
codec) into ``CsmsEngine``, which keeps it in its store (SQLite in memory): the transaction's
state in memory, the rows written in one batch at the end of each step (timed here too).

Ours: that path, with the engine and its store. Anchor, same run: the same frames through the
same endpoints into a CSMS that only answers (no store). The ratio (ours / anchor, < 1 means the
store costs) says where a study's OCPP time goes: into the protocol layer or into the store.
The two alternate for ``--rounds`` rounds on a shared machine; medians are compared.

Prints ``BENCH fleet_ocpp_meter: <ours> round_trips/s (anchor <anchor>, ratio <x>)``.
Run: ``python benchmarks/bench_fleet_ocpp.py [--stations 200] [--steps 10] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bidicharge.components.cpo_backend.engine import CsmsEngine
from bidicharge.components.cpo_backend.store import CsmsStore
from bidicharge.components.evse.ocpp_station_core import StationCore
from bidicharge.protocols.ocppj import OcppVersion, counter_ids, v2_1
from bidicharge.protocols.ocppj.memory import MemoryEndpoint

START_S = 1_520_420_400.0  # 2018-03-07 12:00 CET, the fleet day
STEP_S = 300.0


class Clock:
    def __init__(self) -> None:
        self.s = START_S

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.s, UTC)


def answering_csms(endpoint: MemoryEndpoint, clock: Clock) -> None:
    """The anchor's CSMS: answers what a station sends, keeps nothing."""
    m, add = v2_1, endpoint.router.add
    add(m.BootNotificationRequest, lambda r: m.BootNotificationResponse(
        current_time=clock.dt(), interval=3600, status=m.RegistrationStatusEnumType.ACCEPTED))
    add(m.StatusNotificationRequest, lambda r: m.StatusNotificationResponse())
    add(m.TransactionEventRequest, lambda r: m.TransactionEventResponse())


def run(stations: int, steps: int, *, store: bool) -> float:
    """Round trips per second of the meter values of ``steps`` steps of ``stations`` plugged cars."""
    clock = Clock()
    engine = CsmsEngine(CsmsStore("sqlite://"), now=clock.dt, accept_unknown_tokens=True) if store else None
    pairs: list[tuple[StationCore, MemoryEndpoint, MemoryEndpoint]] = []
    for i in range(stations):
        identity = f"evse{i:04d}"
        core = StationCore(identity=identity, now=clock.dt)
        ours = MemoryEndpoint(identity=identity, version=OcppVersion.V2_1, new_message_id=counter_ids(f"{identity}-"))
        csms = MemoryEndpoint(identity=identity, version=OcppVersion.V2_1, new_message_id=counter_ids("csms-"))
        if engine is not None:
            engine.setup(csms)
        else:
            answering_csms(csms, clock)
        pairs.append((core, ours, csms))

    def call(ours: MemoryEndpoint, csms: MemoryEndpoint, request: Any) -> Any:
        return ours.call(request, lambda text: csms.receive(text, now=clock.s), now=clock.s)

    for i, (core, ours, csms) in enumerate(pairs):  # boot, plug in: not timed
        call(ours, csms, core.boot_request("PowerUp"))
        core.evses[1].connector_status = "Occupied"
        call(ours, csms, core.status_request(1))
        core.begin_transaction(1, f"ev{i:06d}", "eMAID")
        call(ours, csms, core.transaction_event(1, "Started", "CablePluggedIn", offline=False,
                                                id_token=f"ev{i:06d}", soc=0.5))
    t0 = time.perf_counter()
    for k in range(1, steps + 1):
        clock.s = START_S + k * STEP_S
        for core, ours, csms in pairs:
            core.set_registers(1, import_Wh=k * 900.0, export_Wh=k * 10.0)
            call(ours, csms, core.transaction_event(1, "Updated", "MeterValuePeriodic", offline=False,
                                                    soc=0.5 + k * 0.001))
        if engine is not None:
            engine.store.flush()  # as the study does at the end of every step: the step's batch is written
    return stations * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ours, anchor = [], []
    for _ in range(args.rounds):
        ours.append(run(args.stations, args.steps, store=True))
        anchor.append(run(args.stations, args.steps, store=False))
    o, a = statistics.median(ours), statistics.median(anchor)
    per_day_s = args.stations * 288 / o  # one meter value per plugged car and step, all day long
    print(f"fleet_ocpp: {args.stations} stations x {args.steps} steps; with the store {o:.0f}/s, "
          f"answer only {a:.0f}/s; a day of 200 plugged cars' meter values takes {per_day_s:.0f} s with the store")
    print(f"BENCH fleet_ocpp_meter: {o:.0f} round_trips/s (anchor {a:.0f}, ratio {a and o / a:.2f})")


if __name__ == "__main__":
    main()

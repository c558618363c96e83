"""The in-memory pair used by studies: a day of 4-second set-points on simulated time."""

from __future__ import annotations

import pytest

from bidicharge.protocols.iec104 import (
    ActivationConfirmed,
    ControlledStation,
    ControllingStation,
    MemoryPair,
    PointDatabase,
    PointReported,
    TypeId,
)


def test_an_hour_of_afrr_setpoints_every_four_seconds_on_simulated_time() -> None:
    db = PointDatabase(47)
    db.add_monitor(1001, TypeId.M_ME_NC_1)  # pool power, W
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    tso = ControllingStation(now=0.0)
    aggregator = ControlledStation(
        [db], now=0.0, on_command=lambda request: abs(float(request.value)) <= 5_000.0
    )
    pair = MemoryPair(tso, aggregator, now=0.0)
    assert tso.started and aggregator.started
    confirmed: list[bool] = []
    pool_power_W: float | bool = 0.0
    for step in range(900):  # one hour
        now = 4.0 * step
        pair.advance(now)
        setpoint_W = 6_000.0 if step % 100 == 99 else 1_000.0 + step
        tso.send_setpoint(47, 2001, setpoint_W, now=now)
        aggregator.update(47, 1001, setpoint_W * 0.98, now=now)
        pair.pump(now)
        for event in tso.events():
            if isinstance(event, ActivationConfirmed) and event.ioa == 2001:
                confirmed.append(event.positive)
            elif isinstance(event, PointReported) and event.ioa == 1001:
                pool_power_W = event.value
        assert pool_power_W == pytest.approx(setpoint_W * 0.98)  # telemetry arrives within the cycle
    assert len(confirmed) == 900
    assert confirmed.count(False) == 9  # the nine set-points above what the pool can deliver
    assert tso.started and aggregator.started  # t1, t2 and t3 all ran on simulated time

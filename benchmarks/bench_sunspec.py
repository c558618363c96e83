#!/usr/bin/env python3
"""SunSpec benchmark: our figures and pysunspec2's (the anchor) measured in the same run.

1. `sunspec_scan`: discover + read + decode a whole PV inverter (9 models, ~530
   registers) served by our pymodbus server on loopback — our async client vs
   pysunspec2's raw-socket client (`scan()` + `read()` of every model).
2. `sunspec_decode`: decode every point of the same register image in memory — our
   generated layouts vs `sunspec2.device.Model(id, data=...)`.

Prints `BENCH <name>: <figure> <unit> (anchor <figure>, ratio <x>)`; ratio = ours / anchor
(lower is better).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import sunspec2.device as sd
import sunspec2.modbus.client as ssc

from bidicharge.protocols.sunspec import (
    DeviceInfo,
    PvInverterMeasurement,
    PvInverterProfile,
    PvInverterRating,
    PvInverterSetpoints,
    decode_model,
)
from bidicharge.transports.sunspec_modbus import SunSpecModbusClient, SunSpecModbusServer

ROUNDS = 30
PROFILE = PvInverterProfile(
    DeviceInfo(model="bench-pv", serial_number="B-1"),
    PvInverterRating(max_power_W=10_000, max_apparent_power_VA=10_000),
)


def physics(setpoints: PvInverterSetpoints) -> PvInverterMeasurement:
    ac_W = min(8_000.0, setpoints.max_power_W)
    return PvInverterMeasurement(
        ac_power_W=ac_W, energy_Wh=123_456, string_power_W=(ac_W / 2, ac_W / 2), string_voltage_V=(600, 600)
    )


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def bench_scan() -> tuple[float, float]:
    async with SunSpecModbusServer(PROFILE, measure=physics) as server:
        port = server.port
        ours: list[float] = []
        async with SunSpecModbusClient("127.0.0.1", port) as client:
            for _ in range(ROUNDS):
                start = time.perf_counter()
                device = await client.scan()
                for model in device.models:
                    _ = model.values
                ours.append(time.perf_counter() - start)

        def anchor() -> list[float]:
            samples = []
            for _ in range(ROUNDS):
                start = time.perf_counter()
                peer = ssc.SunSpecModbusClientDeviceTCP(slave_id=1, ipaddr="127.0.0.1", ipport=port)
                peer.scan()
                for key, models in peer.models.items():
                    if isinstance(key, int):
                        for model in models:
                            _ = {name: p.cvalue for name, p in model.points.items()}
                samples.append(time.perf_counter() - start)
                peer.close()
            return samples

        theirs = await asyncio.to_thread(anchor)
    return _median_ms(ours), _median_ms(theirs)


def bench_decode() -> tuple[float, float]:
    device = PROFILE.build()
    PROFILE.update(device, physics(PROFILE.setpoints(device)))
    images = [(m.model_id, list(m.registers)) for m in device.models]
    as_bytes = [(mid, b"".join(r.to_bytes(2, "big") for r in regs)) for mid, regs in images]

    def ours() -> None:
        for mid, regs in images:
            image = decode_model(mid, regs)
            assert image is not None
            image.values()

    def flatten(group: sd.Group) -> dict[str, object]:
        out: dict[str, object] = {name: p.cvalue for name, p in group.points.items()}
        for name, sub in group.groups.items():
            for i, inst in enumerate(sub if isinstance(sub, list) else [sub]):
                out |= {f"{name}[{i}].{k}": v for k, v in flatten(inst).items()}
        return out

    def theirs() -> None:
        for mid, data in as_bytes:
            flatten(sd.Model(mid, data=data))

    def timed(fn: object) -> float:
        samples = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            samples.append(time.perf_counter() - start)
        return _median_ms(samples)

    ours()
    theirs()  # warm caches (pysunspec2 loads model JSON on first use)
    return timed(ours), timed(theirs)


def main() -> None:
    ours, anchor = asyncio.run(bench_scan())
    print(f"BENCH sunspec_scan: {ours:.2f} ms (anchor {anchor:.2f} ms, ratio {ours / anchor:.2f})")
    ours, anchor = bench_decode()
    print(f"BENCH sunspec_decode: {ours:.3f} ms (anchor {anchor:.3f} ms, ratio {ours / anchor:.2f})")


if __name__ == "__main__":
    main()

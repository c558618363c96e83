"""IEC 60870-5-104: our sans-I/O core and asyncio adapter against c104 (lib60870-C), same run.

Two figures, each with its anchor measured in the same process:

* ``iec104_codec``: measured-value APDUs (I frame + M_ME_NC_1, one float) encoded and
  decoded per second by our codec; anchor: c104's ``explain_bytes_dict`` (lib60870-C
  parsing the same APDUs, decode only, header fields). ratio = ours / anchor, higher is better.
* ``iec104_decode``: the same APDUs decoded only, by both (like for like).
* ``iec104_setpoint_rtt``: C_SE_NC_1 sent -> activation confirmation received, median
  over loopback TCP; ours: ``Iec104Client.setpoint`` against ``Iec104Server`` (one asyncio
  loop); anchor: c104 ``Client`` ``point.transmit()`` against a c104 ``Server``.
  ratio = ours / anchor, lower is better.

c104 (GPLv3) is a test/benchmark peer only: ``pip install -r requirements/test-iec104.txt``.
Run: ``python benchmarks/bench_iec104.py [--frames N] [--setpoints N]``.
"""

# No ``from __future__ import annotations``: c104 checks the callback annotations as objects.
import argparse
import asyncio
import socket
import statistics
import time

import c104

from bidicharge.protocols.iec104 import (
    Asdu,
    Cause,
    MeasuredFloat,
    PointDatabase,
    TypeId,
    decode_apdu,
    decode_asdu,
    encode_asdu,
)
from bidicharge.protocols.iec104.apci import IFrame, encode_i
from bidicharge.transports.iec104_tcp import Iec104Client, Iec104Server

CA = 47


def measured_frame(n: int) -> bytes:
    asdu = Asdu(
        type_id=TypeId.M_ME_NC_1,
        cause=Cause.SPONTANEOUS,
        common_address=CA,
        objects=(MeasuredFloat(ioa=1001, value=float(n)),),
    )
    return encode_i(n % 32768, 0, encode_asdu(asdu))


def bench_codec(frames: int) -> tuple[float, float]:
    start = time.perf_counter()
    for n in range(frames):
        asdu = Asdu(
            type_id=TypeId.M_ME_NC_1,
            cause=Cause.SPONTANEOUS,
            common_address=CA,
            objects=(MeasuredFloat(ioa=1001, value=float(n)),),
        )
        frame = decode_apdu(encode_i(n % 32768, 0, encode_asdu(asdu)))
        assert isinstance(frame, IFrame)
        decoded = decode_asdu(frame.asdu)
    ours = frames / (time.perf_counter() - start)
    assert decoded.objects[0] == MeasuredFloat(ioa=1001, value=float(frames - 1))

    wire = [measured_frame(n) for n in range(frames)]
    start = time.perf_counter()
    for raw in wire:
        explained = c104.explain_bytes_dict(raw)
    anchor = frames / (time.perf_counter() - start)
    assert explained["firstInformationObjectAddress"] == 1001
    return ours, anchor


def bench_decode(frames: int) -> tuple[float, float]:
    """Decode only, the same APDUs for both: the like-for-like part of the codec figure."""
    wire = [measured_frame(n) for n in range(frames)]
    start = time.perf_counter()
    for raw in wire:
        frame = decode_apdu(raw)
        assert isinstance(frame, IFrame)
        decoded = decode_asdu(frame.asdu)
    ours = frames / (time.perf_counter() - start)
    assert decoded.objects[0].ioa == 1001
    start = time.perf_counter()
    for raw in wire:
        explained = c104.explain_bytes_dict(raw)
    anchor = frames / (time.perf_counter() - start)
    assert explained["firstInformationObjectAddress"] == 1001
    return ours, anchor


async def ours_setpoint_rtt(count: int) -> float:
    db = PointDatabase(CA)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    samples: list[float] = []
    async with Iec104Server([db], on_command=lambda request: True) as server:
        client = Iec104Client("127.0.0.1", server.port)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            await client.wait_started()
            await client.interrogate(CA)
            for n in range(count):
                start = time.perf_counter()
                confirmation = await client.setpoint(CA, 2001, float(n))
                samples.append(time.perf_counter() - start)
                assert getattr(confirmation, "positive", False)
            task.cancel()
    return statistics.median(samples)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def c104_setpoint_rtt(count: int) -> tuple[float, int]:
    port = free_port()
    server = c104.Server(ip="127.0.0.1", port=port, tick_rate_ms=50)
    station = server.add_station(common_address=CA)
    feedback = station.add_point(io_address=1003, type=c104.Type.M_ME_NC_1)
    setpoint = station.add_point(
        io_address=2001, type=c104.Type.C_SE_NC_1, related_io_address=1003, related_io_autoreturn=True
    )

    def on_setpoint(
        point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        feedback.value = point.value
        return c104.ResponseState.SUCCESS

    setpoint.on_receive(callable=on_setpoint)
    server.start()
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=1000)
    connection = client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.ALL)
    point = connection.add_station(common_address=CA).add_point(io_address=2001, type=c104.Type.C_SE_NC_1)
    client.start()
    try:
        deadline = time.monotonic() + 10
        while connection.state != c104.ConnectionState.OPEN and time.monotonic() < deadline:
            if connection.state == c104.ConnectionState.OPEN_MUTED:  # known c104 flake after Init.ALL
                connection.unmute()
            time.sleep(0.01)
        time.sleep(0.2)  # let Init.ALL (interrogation, clock sync) finish
        samples: list[float] = []
        failures = 0
        for n in range(count):
            point.value = float(n + 1)
            start = time.perf_counter()
            ok = point.transmit(cause=c104.Cot.ACTIVATION)
            elapsed = time.perf_counter() - start
            if ok:
                samples.append(elapsed)
            else:  # c104's known loopback flake: a confirmation lost until command_timeout_ms
                failures += 1
        assert feedback.value == float(count)
        return statistics.median(samples), failures
    finally:
        client.stop()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--setpoints", type=int, default=300)
    args = parser.parse_args()

    ours, anchor = bench_codec(args.frames)
    print(f"BENCH iec104_codec: {ours:.0f} frames/s (anchor {anchor:.0f}, ratio {ours / anchor:.2f})")
    ours, anchor = bench_decode(args.frames)
    print(f"BENCH iec104_decode: {ours:.0f} frames/s (anchor {anchor:.0f}, ratio {ours / anchor:.2f})")

    rtt_ours = asyncio.run(ours_setpoint_rtt(args.setpoints))
    rtt_anchor, failures = c104_setpoint_rtt(args.setpoints)
    if failures:
        print(
            f"# c104 transmit() returned False {failures} times of {args.setpoints} (excluded from its median)"
        )
    print(
        f"BENCH iec104_setpoint_rtt: {rtt_ours * 1e3:.3f} ms "
        f"(anchor {rtt_anchor * 1e3:.3f}, ratio {rtt_ours / rtt_anchor:.2f})"
    )


if __name__ == "__main__":
    main()

"""The asyncio IEC 104 adapter on loopback: our client against our server, and misbehaving raw peers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bidicharge.protocols.iec104 import (
    ActivationConfirmed,
    ApciLink,
    ApciParameters,
    ApduReader,
    Asdu,
    AsduReceived,
    Cause,
    CommandRequest,
    DoublePointState,
    IFrame,
    LinkClosed,
    PointDatabase,
    Role,
    SetpointFloat,
    SFrame,
    StationInitialised,
    TypeId,
    UFrame,
    UFunction,
    encode_apdu,
    encode_asdu,
)
from bidicharge.transports.iec104_tcp import Iec104Client, Iec104Server

CA = 47
FAST = ApciParameters(k=4, w=2, t0_s=2.0, t1_s=0.5, t2_s=0.2, t3_s=5.0)
WAIT_S = 10.0  # upper bound for anything to happen on loopback; never a timing assertion


def pool_database(power_W: float = 2950.0) -> PointDatabase:
    db = PointDatabase(CA)
    db.add_monitor(1001, TypeId.M_ME_NC_1, value=power_W)
    db.add_monitor(1003, TypeId.M_ME_NC_1)
    db.add_command(2001, TypeId.C_SE_NC_1, feedback_ioa=1003)
    return db


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT_S):
        while not condition():  # noqa: ASYNC110 - the state polled is plain attributes of the adapter
            await asyncio.sleep(0.01)


async def running(client: Iec104Client, body: Callable[[], Awaitable[None]]) -> None:
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(client.run())
        try:
            await body()
        finally:
            task.cancel()


@contextlib.asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def test_setpoint_over_loopback_is_confirmed_and_fed_back() -> None:
    requests: list[CommandRequest] = []

    def on_command(request: CommandRequest) -> bool:
        requests.append(request)
        return True

    async with Iec104Server([pool_database()], on_command=on_command) as server:
        client = Iec104Client("127.0.0.1", server.port)

        async def body() -> None:
            await client.wait_started()
            confirmation = await client.setpoint(CA, 2001, 3000.0)
            assert confirmation == ActivationConfirmed(
                common_address=CA, ioa=2001, type_id=TypeId.C_SE_NC_1, positive=True
            )
            await until(lambda: (CA, 1003) in client.points and client.points[CA, 1003].value == 3000.0)
            assert client.points[CA, 1003].cause is Cause.RETURN_INFO_REMOTE

        await running(client, body)
    assert [r.value for r in requests] == [3000.0]


async def test_spontaneous_update_reaches_the_controlling_station() -> None:
    async with Iec104Server([pool_database()]) as server:
        client = Iec104Client("127.0.0.1", server.port)

        async def body() -> None:
            await until(lambda: (CA, 1001) in client.points)  # from the interrogation after STARTDT
            server.update(CA, 1001, -7400.0)
            await until(lambda: client.points[CA, 1001].value == -7400.0)
            assert client.points[CA, 1001].cause is Cause.SPONTANEOUS

        await running(client, body)


async def test_client_reconnects_after_a_server_restart_and_interrogates_again() -> None:
    first = Iec104Server([pool_database(power_W=1000.0)])
    await first.__aenter__()
    port = first.port
    client = Iec104Client("127.0.0.1", port, reconnect_delay_s=0.05)

    async def body() -> None:
        await until(lambda: (CA, 1001) in client.points and client.points[CA, 1001].value == 1000.0)
        await first.close()
        async with Iec104Server([pool_database(power_W=2000.0)], port=port):
            await until(lambda: client.points[CA, 1001].value == 2000.0)
            assert client.connects >= 2
            assert client.points[CA, 1001].cause is Cause.INTERROGATED_BY_STATION

    await running(client, body)


async def test_link_lost_mid_activation_fails_the_pending_command() -> None:
    async def drop_on_setpoint(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        apdus = ApduReader()
        while data := await reader.read(4096):
            for frame in apdus.feed(data):
                if frame == UFrame(function=UFunction.STARTDT_ACT):
                    writer.write(encode_apdu(UFrame(function=UFunction.STARTDT_CON)))
                elif isinstance(frame, IFrame) and frame.asdu[0] == TypeId.C_SE_NC_1:
                    writer.close()  # the link dies before any confirmation
                    return

    async with raw_server(drop_on_setpoint) as port:
        client = Iec104Client("127.0.0.1", port, interrogate_on_start=None, reconnect_delay_s=0.05)

        async def body() -> None:
            await client.wait_started()
            with pytest.raises(ConnectionError):
                await client.setpoint(CA, 2001, 3000.0)

        await running(client, body)


async def test_silent_peer_is_dropped_after_t1_and_redialled() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers STARTDT
        writer.close()

    closed: list[str] = []
    async with raw_server(silent) as port:
        client = Iec104Client(
            "127.0.0.1",
            port,
            parameters=FAST,
            reconnect_delay_s=0.05,
            on_event=lambda e: closed.append(e.reason) if isinstance(e, LinkClosed) else None,
        )
        await running(client, lambda: until(lambda: client.connects >= 2))
    assert any("t1 expired: STARTDT_ACT" in reason for reason in closed)


async def test_controlling_station_that_stops_acknowledging_stalls_the_window_then_t1_closes() -> None:
    closed: list[str] = []
    async with Iec104Server(
        [pool_database()],
        parameters=FAST,
        end_of_initialisation=None,
        on_event=lambda e: closed.append(e.reason) if isinstance(e, LinkClosed) else None,
    ) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_apdu(UFrame(function=UFunction.STARTDT_ACT)))
        apdus = ApduReader()
        received: list[object] = []
        await until(lambda: bool(server.connections) and next(iter(server.connections)).station.started)
        for n in range(FAST.k + 5):
            server.update(CA, 1001, float(n))
        async with asyncio.timeout(WAIT_S):
            while data := await reader.read(4096):  # until the server closes the socket
                received.extend(apdus.feed(data))
        writer.close()
    i_frames = [f for f in received if isinstance(f, IFrame)]
    assert len(i_frames) == FAST.k  # the window stalled at k
    assert any("t1 expired" in reason for reason in closed)


@pytest.mark.parametrize(
    "bad",
    [
        encode_apdu(IFrame(send_seq=5, recv_seq=0, asdu=b"\x64\x01\x06\x00\x2f\x00\x00\x00\x00\x14")),
        b"\x99\x04\x07\x00\x00\x00",  # not an APDU at all
    ],
)
async def test_protocol_violation_closes_that_connection_and_the_server_keeps_serving(bad: bytes) -> None:
    async with Iec104Server([pool_database()], on_command=lambda r: True) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_apdu(UFrame(function=UFunction.STARTDT_ACT)) + bad)
        async with asyncio.timeout(WAIT_S):
            while await reader.read(4096):  # the server closes the connection
                pass
        writer.close()
        client = Iec104Client("127.0.0.1", server.port)

        async def body() -> None:
            await client.wait_started()
            confirmation = await client.setpoint(CA, 2001, 1.0)
            assert isinstance(confirmation, ActivationConfirmed) and confirmation.positive

        await running(client, body)


async def test_bad_request_is_answered_and_the_connection_stays() -> None:
    async with Iec104Server([pool_database()], end_of_initialisation=None) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        link = ApciLink(Role.CONTROLLING, now=0.0)
        link.start_data_transfer(now=0.0)
        unknown_ioa = Asdu(
            type_id=TypeId.C_SE_NC_1,
            cause=Cause.ACTIVATION,
            common_address=CA,
            objects=(SetpointFloat(ioa=7, value=1.0),),
        )
        link.send_asdu(encode_asdu(unknown_ioa), now=0.0)
        writer.write(link.data_to_send())
        answers: list[bytes] = []
        async with asyncio.timeout(WAIT_S):
            while not answers:
                link.receive_data(await reader.read(4096), now=0.0)
                writer.write(link.data_to_send())
                answers += [e.asdu for e in link.events() if isinstance(e, AsduReceived)]
        assert answers[0][2] == 0x40 | Cause.UNKNOWN_IOA
        assert server.connections and next(iter(server.connections)).station.started
        writer.close()


async def test_unconfirmed_command_can_be_abandoned_and_the_point_used_again() -> None:
    async def acknowledge_but_never_confirm(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        apdus, received = ApduReader(), 0
        while data := await reader.read(4096):
            for frame in apdus.feed(data):
                if frame == UFrame(function=UFunction.STARTDT_ACT):
                    writer.write(encode_apdu(UFrame(function=UFunction.STARTDT_CON)))
                elif isinstance(frame, IFrame):
                    received += 1
                    writer.write(encode_apdu(SFrame(recv_seq=received)))  # acknowledged, so t1 stays quiet

    async with raw_server(acknowledge_but_never_confirm) as port:
        client = Iec104Client("127.0.0.1", port, interrogate_on_start=None)

        async def body() -> None:
            await client.wait_started()
            for _ in range(2):  # the second attempt must not find the point still "busy"
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await client.setpoint(CA, 2001, 1.0)

        await running(client, body)


async def test_command_before_data_transfer_starts_is_refused() -> None:
    client = Iec104Client("127.0.0.1", 9)
    with pytest.raises(ConnectionError):
        await client.setpoint(CA, 2001, 1.0)


async def test_client_keeps_dialling_until_the_server_appears() -> None:
    with socket.socket() as probe:  # a port with nobody listening: connection refused
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    client = Iec104Client("127.0.0.1", port, reconnect_delay_s=0.02, max_reconnect_delay_s=0.1)

    async def body() -> None:
        await until(lambda: client.dialer is not None and client.dialer.attempts >= 3)
        assert client.connects == 0
        async with Iec104Server([pool_database()], port=port):
            await client.wait_started()
            assert client.connects == 1

    await running(client, body)


async def test_after_a_link_lost_mid_activation_the_next_interrogation_tells_the_outcome() -> None:
    server: Iec104Server

    def execute_then_lose_the_link(request: CommandRequest) -> bool:
        for connection in list(server.connections):
            connection._writer.transport.abort()  # the TCP link dies before the confirmation leaves
        return True

    async with Iec104Server([pool_database()], on_command=execute_then_lose_the_link) as server:
        client = Iec104Client("127.0.0.1", server.port, reconnect_delay_s=0.05)

        async def body() -> None:
            await client.wait_started()
            await until(lambda: (CA, 1003) in client.points)
            assert client.points[CA, 1003].value == 0.0
            with pytest.raises(ConnectionError):
                await client.setpoint(CA, 2001, 3000.0)
            await until(lambda: client.connects >= 2 and client.points[CA, 1003].value == 3000.0)
            assert client.points[CA, 1003].cause is Cause.INTERROGATED_BY_STATION

        await running(client, body)


async def test_cyclic_report_reaches_the_controlling_station() -> None:
    async with Iec104Server([pool_database(power_W=123.0)]) as server:
        client = Iec104Client("127.0.0.1", server.port)

        async def body() -> None:
            await client.wait_started()
            await until(lambda: (CA, 1001) in client.points)
            server.report_all(CA)
            await until(lambda: client.points[CA, 1001].cause is Cause.PERIODIC)
            assert client.points[CA, 1001].value == 123.0

        await running(client, body)


async def test_end_of_initialisation_goes_to_the_first_connection_that_starts_only() -> None:
    async with Iec104Server([pool_database()]) as server:
        _, idle_writer = await asyncio.open_connection("127.0.0.1", server.port)  # never sends STARTDT
        idle_writer.close()
        for expected in (1, 0):
            initialised: list[object] = []
            client = Iec104Client(
                "127.0.0.1",
                server.port,
                on_event=lambda e, seen=initialised: (
                    seen.append(e) if isinstance(e, StationInitialised) else None
                ),
            )

            async def body(client: Iec104Client = client) -> None:
                await client.wait_started()
                await until(lambda client=client: (CA, 1001) in client.points)  # the interrogation has ended

            await running(client, body)
            assert len(initialised) == expected


async def test_double_command_and_counter_interrogation_over_loopback() -> None:
    db = PointDatabase(CA)
    db.add_monitor(3001, TypeId.M_DP_NA_1, value=True)  # a bool on a double point is on/off
    db.add_monitor(3002, TypeId.M_IT_NA_1, value=500)
    db.add_command(4001, TypeId.C_DC_NA_1, feedback_ioa=3001)
    async with Iec104Server([db], on_command=lambda request: True) as server:
        client = Iec104Client("127.0.0.1", server.port)

        async def body() -> None:
            await client.wait_started()
            await client.counter_interrogate(CA)
            assert client.points[CA, 3002].value == 500
            server.update(CA, 3002, 750)
            await until(lambda: client.points[CA, 3002].value == 750)
            confirmation = await client.double_command(CA, 4001, False)
            assert isinstance(confirmation, ActivationConfirmed) and confirmation.positive
            await until(lambda: client.points[CA, 3001].value == DoublePointState.OFF)

        await running(client, body)


async def test_read_over_loopback() -> None:
    async with Iec104Server([pool_database(power_W=321.0)]) as server:
        client = Iec104Client("127.0.0.1", server.port, interrogate_on_start=None)

        async def body() -> None:
            await client.wait_started()
            answer = await client.read(CA, 1001)
            assert answer.cause is Cause.REQUEST and getattr(answer, "value", None) == 321.0
            refused = await client.read(CA, 4242)
            assert refused.cause is Cause.UNKNOWN_IOA

        await running(client, body)

"""The WebSocket layer under OCPP-J (``transports/ws_link.py``) against peers that misbehave
on the wire: fragmented messages, binary frames, oversize frames, invalid UTF-8, a peer that
never answers pings and one that never reads. Peers: websockets' own client, or a raw one
made of websockets' sans-I/O ``ClientProtocol`` over a plain socket (it sends what we ask,
valid or not, and reads only when told)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from bidicharge.protocols.ocppj import v2_1
from bidicharge.transports.ocpp_websocket import OcppServer, OcppSession

NOW_WIRE = "2025-06-01T12:00:00Z"


def heartbeat_setup(session: OcppSession) -> None:
    session.router.add(v2_1.HeartbeatRequest, lambda r: v2_1.HeartbeatResponse(
        current_time=datetime(2025, 6, 1, 12, tzinfo=UTC)))


@pytest.fixture
async def csms() -> AsyncIterator[tuple[OcppServer, int]]:
    server = OcppServer(setup=heartbeat_setup, max_frame_bytes=4096, flood_limit=None, ping_interval_s=None)
    port = await server.start()
    yield server, port
    await server.close()


async def still_serves(port: int) -> None:
    """A well-behaved station gets its Heartbeat answered: the server is up."""
    async with asyncio.timeout(10), connect(f"ws://127.0.0.1:{port}/CS-OK", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                                            proxy=None) as ws:
        await ws.send('[2, "ok", "Heartbeat", {}]')
        assert json.loads(await ws.recv()) == [3, "ok", {"currentTime": NOW_WIRE}]


class RawPeer:
    """A client that sends frames as given and reads only when asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: ClientProtocol) -> None:
        self.reader, self.writer, self.protocol = reader, writer, protocol

    @classmethod
    async def open(cls, port: int, identity: str, *, receive_buffer: int | None = None) -> RawPeer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:  # before connect: a small TCP window
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/{identity}"), subprotocols=["ocpp2.1"])  # type: ignore[list-item]
        protocol.send_request(protocol.connect())
        peer = cls(reader, writer, protocol)
        peer.flush()
        while protocol.state.name == "CONNECTING":
            protocol.receive_data(await reader.read(65536))
        protocol.events_received()
        return peer

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)

    def send_text_bytes(self, data: bytes) -> None:
        self.protocol.send_text(data)
        self.flush()

    async def read_frames(self) -> list[Frame]:
        data = await self.reader.read(65536)
        if not data:
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)
        self.flush()
        return [e for e in self.protocol.events_received() if isinstance(e, Frame)]

    async def close_code(self) -> int | None:
        """Read until the server's close frame; its code."""
        while True:
            for frame in await self.read_frames():
                if frame.opcode is Opcode.CLOSE:
                    return self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
            if self.reader.at_eof():
                return None

    def abort(self) -> None:
        self.writer.transport.abort()


async def test_a_fragmented_call_is_reassembled_and_answered(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    async with asyncio.timeout(10), connect(f"ws://127.0.0.1:{port}/CS-F", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                                            proxy=None) as ws:
        await ws.send(['[2, "f1", ', '"Heartbeat", ', "{}]"])  # three frames: TEXT, CONT, CONT
        assert json.loads(await ws.recv()) == [3, "f1", {"currentTime": NOW_WIRE}]


async def test_a_binary_frame_closes_with_1003_and_the_server_stays(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    async with asyncio.timeout(10), connect(f"ws://127.0.0.1:{port}/CS-BIN", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                                            proxy=None) as ws:
        await ws.send(b'[2, "b1", "Heartbeat", {}]')
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1003  # OCPP-J is text only
    await still_serves(port)


async def test_an_oversize_frame_closes_with_1009_and_the_server_stays(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    async with asyncio.timeout(10), connect(f"ws://127.0.0.1:{port}/CS-BIG", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                                            proxy=None) as ws:
        await ws.send('[2, "big", "Heartbeat", {"customData": {"vendorId": "' + "x" * 5000 + '"}}]')
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009  # max_frame_bytes 4096
    await still_serves(port)


async def test_invalid_utf8_closes_with_1007(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    async with asyncio.timeout(10):
        peer = await RawPeer.open(port, "CS-UTF")
        peer.send_text_bytes(b'[2, "u1", "Heartbeat", {"x": "\xff\xfe"}]')
        assert await peer.close_code() == 1007  # RFC 6455 §8.1
        peer.abort()
    await still_serves(port)


async def test_a_peer_that_never_answers_pings_is_dropped() -> None:
    server = OcppServer(setup=heartbeat_setup, ping_interval_s=0.1)
    port = await server.start()
    try:
        async with asyncio.timeout(10):
            peer = await RawPeer.open(port, "CS-MUTE")  # never reads, so never answers a ping
            while "CS-MUTE" not in server.sessions:
                await asyncio.sleep(0.01)
            while "CS-MUTE" in server.sessions:  # keepalive: no pong within ping_timeout -> closed
                await asyncio.sleep(0.05)
            peer.abort()
            await still_serves(port)
    finally:
        await server.close()


async def test_a_peer_that_does_not_read_is_not_read_and_loses_nothing(csms: tuple[OcppServer, int]) -> None:
    """Back-pressure: the flooder's answers fill the server's buffers, the server stops reading
    it (instead of buffering without bound), serves others meanwhile, and when the flooder reads
    again every answer arrives, in order."""
    server, port = csms
    calls = 20_000
    async with asyncio.timeout(60):
        peer = await RawPeer.open(port, "CS-FLOOD", receive_buffer=4096)
        while "CS-FLOOD" not in server.sessions:
            await asyncio.sleep(0.01)
        link = server.sessions["CS-FLOOD"].ws
        assert link.transport is not None  # small kernel buffers, so that ours fills up soon
        link.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for i in range(calls):
            peer.protocol.send_text(f'[2, "h{i}", "Heartbeat", {{}}]'.encode())
        peer.flush()
        while not link.writing_paused:
            await asyncio.sleep(0.01)
        await still_serves(port)
        ids: list[str] = []
        while len(ids) < calls:
            for frame in await peer.read_frames():
                if frame.opcode is Opcode.TEXT:
                    message = json.loads(frame.data)
                    assert message[0] == 3 and message[2] == {"currentTime": NOW_WIRE}
                    ids.append(message[1])
        assert ids == [f"h{i}" for i in range(calls)]
        assert not link.writing_paused
        peer.abort()


async def test_shutdown_does_not_wait_for_ever_on_a_stuck_setup() -> None:
    entered = asyncio.Event()

    async def stuck_setup(session: OcppSession) -> None:
        entered.set()
        await asyncio.Event().wait()  # a bug: never returns

    server = OcppServer(setup=stuck_setup, close_timeout_s=0.2)
    port = await server.start()
    async with asyncio.timeout(10):
        peer = await RawPeer.open(port, "CS-STUCK")
        await entered.wait()
        await server.close()  # bounded by close_timeout_s
    peer.abort()


async def test_a_running_coroutine_handler_is_cancelled_when_its_connection_drops() -> None:
    cancelled = asyncio.Event()
    started = asyncio.Event()

    async def slow_heartbeat(request: v2_1.HeartbeatRequest) -> v2_1.HeartbeatResponse:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    def setup(session: OcppSession) -> None:
        session.router.add(v2_1.HeartbeatRequest, slow_heartbeat)

    ended: list[str] = []
    server = OcppServer(setup=setup, on_session_end=lambda s: ended.append(s.identity))
    port = await server.start()
    try:
        async with asyncio.timeout(10):
            peer = await RawPeer.open(port, "CS-GONE")
            peer.send_text_bytes(b'[2, "s1", "Heartbeat", {}]')
            await started.wait()
            peer.abort()  # the station vanishes mid-call
            await cancelled.wait()
            while not ended:
                await asyncio.sleep(0.01)
        assert ended == ["CS-GONE"] and "CS-GONE" not in server.sessions
    finally:
        await server.close()

"""Thin asyncio TCP adapter for the IEC 60870-5-104 core (:mod:`bidicharge.protocols.iec104`).

It moves bytes between a socket and a station and time into it; every protocol decision
(sequence numbers, windows, t1-t3, interrogation after STARTDT, negative answers) is the
core's, and so is when to dial (the core's :class:`~bidicharge.protocols.iec104.Dialer`:
t0 and the reconnection back-off). What lives here is socket life (open, read, write,
close when the core says the link is gone), one timer per connection, and futures for
callers that want to await a confirmation.

* :class:`Iec104Server` — controlled station(s) serving point databases;
* :class:`Iec104Client` — controlling station dialling one server, reconnecting.

Time is ``clock()`` seconds (default: the event loop's monotonic clock); the core sees
only the numbers it returns, and the adapter waits its deadlines as wall seconds, so the
clock must run at wall rate (t1..t3 are about the network, not the simulated world).
``tracer`` receives every ASDU sent ("tx") or received ("rx") as octets;
:func:`~bidicharge.protocols.iec104.describe_asdu` turns them into trace text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from bidicharge.protocols.iec104 import (
    GLOBAL_COMMON_ADDRESS,
    QOI_STATION,
    ActivationConfirmed,
    ActivationTerminated,
    ApciParameters,
    BadRequestAnswered,
    Cause,
    CommandHandler,
    ControlledEvent,
    ControlledStation,
    ControllingEvent,
    ControllingStation,
    Cp56Time2a,
    DataTransferStarted,
    InitCause,
    LinkClosed,
    LocalProtocolError,
    PointDatabase,
    PointReported,
    Quality,
    RequestRejected,
    SetpointKind,
    Tracer,
    TypeId,
)
from bidicharge.protocols.iec104.controlling import setpoint_type
from bidicharge.protocols.iec104.dialer import Dialer, DialState
from bidicharge.protocols.iec104.station import Station

log = logging.getLogger(__name__)

E = TypeVar("E")
Clock = Callable[[], float]
READ_SIZE = 65536


def _loop_clock() -> float:
    return asyncio.get_running_loop().time()


class Iec104Connection(Generic[E]):
    """One socket driven by one station: read -> core, core -> write, deadlines -> core."""

    def __init__(
        self,
        station: Station[E],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        clock: Clock,
        on_event: Callable[[object], None],
    ) -> None:
        self.station = station
        self._reader = reader
        self._writer = writer
        self._clock = clock
        self._on_event = on_event
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None

    def flush(self) -> None:
        """Write what the core wants sent, hand its events out, keep the timer in step."""
        data = self.station.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)
        for event in self.station.events():
            self._on_event(event)
        if self.station.closed:
            self._writer.close()  # the pending read ends with EOF
        self._arm_timer()

    def close(self, reason: str) -> None:
        """Close the link locally (the socket follows)."""
        self.station.link.close(reason)
        self.flush()

    def _arm_timer(self) -> None:
        # One timer per connection. It only ever moves earlier here; when a deadline moved
        # later, the early tick finds nothing due in the core and re-arms at the new time.
        deadline = self.station.next_deadline()
        if deadline is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return
        when = self._loop.time() + max(0.0, deadline - self._clock())
        if self._timer is not None and self._timer.when() <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        self._timer = None
        self.station.handle_timeout(self._clock())
        self.flush()

    async def run(self) -> None:
        """Serve the socket until the core closes the link or the peer goes away."""
        self._arm_timer()
        try:
            while not self.station.closed:
                data = await self._reader.read(READ_SIZE)
                if data:
                    self.station.receive_data(data, now=self._clock())
                else:
                    self.station.connection_lost("peer closed the connection")
                self.flush()
                await self._writer.drain()
        except ConnectionError as exc:
            self.station.connection_lost(f"socket error: {exc}")
            self.flush()
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()


class Iec104Server:
    """Controlled station(s) on a TCP port: ``async with Iec104Server(...) as server``.

    ``port=0`` picks a free port (:attr:`port`). The first connection after start
    receives end of initialisation (M_EI_NA_1); every connection answers from the
    same databases, and :meth:`update` reports to every started connection.
    """

    def __init__(
        self,
        databases: Iterable[PointDatabase],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        parameters: ApciParameters | None = None,
        on_command: CommandHandler | None = None,
        on_event: Callable[[ControlledEvent], None] | None = None,
        clock: Clock = _loop_clock,
        end_of_initialisation: InitCause | None = InitCause.LOCAL_POWER_ON,
        tracer: Tracer | None = None,
        interrogation_with_time: bool = False,
    ) -> None:
        self.databases = list(databases)
        self.tracer = tracer
        self.interrogation_with_time = interrogation_with_time
        self.host = host
        self._port = port
        self.parameters = parameters or ApciParameters()
        self.on_command = on_command
        self.on_event = on_event
        self._clock = clock
        self._end_of_initialisation = end_of_initialisation
        self._server: asyncio.Server | None = None
        self.connections: set[Iec104Connection[ControlledEvent]] = set()
        self._handlers: set[asyncio.Task[None]] = set()  # owned by asyncio.Server; awaited in close()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> Iec104Server:
        self._server = await asyncio.start_server(self._handle, self.host, self._port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.connections):
                connection.close("server closing")
            # The handlers end on the EOF of their closed sockets; wait so none outlives the server.
            handlers = list(self._handlers)
            if handlers:
                _, stuck = await asyncio.wait(handlers, timeout=self.parameters.t1_s)
                for task in stuck:
                    task.cancel()
            await self._server.wait_closed()

    def update(
        self,
        common_address: int,
        ioa: int,
        value: float | bool,
        *,
        quality: Quality = Quality.GOOD,
        time: Cp56Time2a | None = None,
        cause: Cause = Cause.SPONTANEOUS,
    ) -> None:
        """Store a value and report it to every connection whose data transfer is started."""
        database = next((db for db in self.databases if db.common_address == common_address), None)
        if database is None:
            raise LocalProtocolError(f"no station with common address {common_address}")
        point = database.set(ioa, value, quality=quality, time=time)
        now = self._clock()
        for connection in self.connections:
            station = connection.station
            assert isinstance(station, ControlledStation)
            if station.started:
                station.report(common_address, [point], now=now, cause=cause)
                connection.flush()

    def report_all(self, common_address: int, *, cause: Cause = Cause.PERIODIC) -> None:
        """Cyclic transmission: every point of a station to every started connection."""
        for connection in self.connections:
            station = connection.station
            assert isinstance(station, ControlledStation)
            if station.started:
                station.report_all(common_address, now=self._clock(), cause=cause)
                connection.flush()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        station = ControlledStation(
            self.databases,
            now=self._clock(),
            parameters=self.parameters,
            on_command=self.on_command or (lambda request: False),
            end_of_initialisation=self._end_of_initialisation,
            tracer=self.tracer,
            interrogation_with_time=self.interrogation_with_time,
        )
        connection: Iec104Connection[ControlledEvent] = Iec104Connection(
            station, reader, writer, clock=self._clock, on_event=self._deliver
        )
        self.connections.add(connection)
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            self._handlers.discard(handler)

    def _deliver(self, event: object) -> None:
        if isinstance(event, DataTransferStarted):
            # End of initialisation goes out once per start of the server, on the first
            # connection that starts data transfer (a connection that never does keeps nothing).
            self._end_of_initialisation = None
        elif isinstance(event, BadRequestAnswered):
            log.warning("IEC 104 peer sent a bad request: %s (answered %s)", event.reason, event.cause)
        elif isinstance(event, LinkClosed):
            log.info("IEC 104 connection closed: %s", event.reason)
        if self.on_event is not None:
            self.on_event(event)  # type: ignore[arg-type]


Confirmation = ActivationConfirmed | RequestRejected
_INTERROGATIONS = frozenset({TypeId.C_IC_NA_1, TypeId.C_CI_NA_1})
_CommandKey = tuple[int, int, TypeId]


class Iec104Client:
    """A controlling station that keeps one connection up: ``await client.run()`` in a TaskGroup.

    After every (re)connect the core sends STARTDT and a station interrogation, so
    :attr:`points` is rebuilt; commands in flight when the link drops fail with
    ConnectionError (the activation's fate is unknown and must be re-checked, e.g. by
    the feedback point after the next interrogation).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        parameters: ApciParameters | None = None,
        interrogate_on_start: int | None = GLOBAL_COMMON_ADDRESS,
        originator: int = 0,
        on_event: Callable[[ControllingEvent], None] | None = None,
        clock: Clock = _loop_clock,
        reconnect_delay_s: float = 0.5,
        max_reconnect_delay_s: float = 30.0,
        tracer: Tracer | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.tracer = tracer
        self.parameters = parameters or ApciParameters()
        self.interrogate_on_start = interrogate_on_start
        self.originator = originator
        self.on_event = on_event
        self._clock = clock
        self.reconnect_delay_s = reconnect_delay_s
        self.max_reconnect_delay_s = max_reconnect_delay_s
        self.points: dict[tuple[int, int], PointReported] = {}
        self.connection: Iec104Connection[ControllingEvent] | None = None
        self.connects = 0
        self.dialer: Dialer | None = None
        self._started = asyncio.Event()
        self._pending: dict[_CommandKey, asyncio.Future[Confirmation]] = {}
        self._reads: dict[tuple[int, int], asyncio.Future[PointReported | RequestRejected]] = {}
        # (C_IC_NA_1 or C_CI_NA_1, common address) -> until terminated
        self._interrogations: dict[tuple[TypeId, int], asyncio.Future[None]] = {}

    async def run(self) -> None:
        """Connect, serve, reconnect after a loss; runs until cancelled.

        When to dial and how long a connect may take (t0) is the core's
        :class:`~bidicharge.protocols.iec104.dialer.Dialer`; this loop only follows it.
        """
        dialer = self.dialer = Dialer(
            now=self._clock(),
            parameters=self.parameters,
            reconnect_delay_s=self.reconnect_delay_s,
            max_reconnect_delay_s=self.max_reconnect_delay_s,
        )
        while True:
            await self._sleep_until(dialer.next_deadline())
            if not dialer.due(self._clock()):
                continue
            dialer.dialling(now=self._clock())
            try:
                async with asyncio.timeout_at(self._loop_time(dialer.next_deadline())):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError):
                    dialer.handle_timeout(self._clock())
                if dialer.state is DialState.CONNECTING:
                    dialer.failed(str(exc) or type(exc).__name__, now=self._clock())
                log.info("IEC 104 connect to %s:%s failed: %s", self.host, self.port, dialer.last_failure)
                continue
            dialer.connected(now=self._clock())
            self.connects += 1
            station = ControllingStation(
                now=self._clock(),
                parameters=self.parameters,
                interrogate_on_start=self.interrogate_on_start,
                originator=self.originator,
                tracer=self.tracer,
            )
            connection: Iec104Connection[ControllingEvent] = Iec104Connection(
                station, reader, writer, clock=self._clock, on_event=self._deliver
            )
            self.connection = connection
            station.start(now=self._clock())
            connection.flush()
            try:
                await connection.run()
            finally:
                self.connection = None
                self._started.clear()
                reason = station.link.closed_reason or "connection closed"
                self._fail_pending(ConnectionError(reason))
                dialer.disconnected(reason, now=self._clock())

    def _loop_time(self, deadline: float | None) -> float | None:
        if deadline is None:
            return None
        return asyncio.get_running_loop().time() + max(0.0, deadline - self._clock())

    async def _sleep_until(self, deadline: float | None) -> None:
        if deadline is not None:
            await asyncio.sleep(max(0.0, deadline - self._clock()))

    async def wait_started(self) -> None:
        """Until data transfer is started on the current connection."""
        await self._started.wait()

    async def setpoint(
        self,
        common_address: int,
        ioa: int,
        value: float,
        *,
        time: Cp56Time2a | None = None,
        select: bool = False,
        kind: SetpointKind = SetpointKind.FLOAT,
    ) -> Confirmation:
        """Send C_SE_NC_1 (C_SE_TC_1 with ``time``; ``kind`` for the normalised or scaled
        set-points) and await its confirmation.

        IEC 104 has no command timeout of its own: wrap the call in ``asyncio.timeout``
        to give up waiting (the command may still have been executed). ``select=True`` sends
        the select of a select-before-operate pair; the execute follows as a second call.
        """
        station = self._station()
        type_id = setpoint_type(kind, timed=time is not None)
        key = (common_address, ioa, type_id)
        future = self._expect(key)
        station.send_setpoint(
            common_address, ioa, value, time=time, select=select, kind=kind, now=self._clock()
        )
        self._flush()
        return await self._confirmation(key, future)

    async def single_command(
        self,
        common_address: int,
        ioa: int,
        on: bool,
        *,
        time: Cp56Time2a | None = None,
        select: bool = False,
    ) -> Confirmation:
        station = self._station()
        type_id = TypeId.C_SC_NA_1 if time is None else TypeId.C_SC_TA_1
        key = (common_address, ioa, type_id)
        future = self._expect(key)
        station.send_single_command(common_address, ioa, on, time=time, select=select, now=self._clock())
        self._flush()
        return await self._confirmation(key, future)

    async def double_command(
        self,
        common_address: int,
        ioa: int,
        on: bool,
        *,
        time: Cp56Time2a | None = None,
        select: bool = False,
    ) -> Confirmation:
        """C_DC_NA_1 (C_DC_TA_1 with ``time``): DCS on or off, e.g. a breaker."""
        station = self._station()
        type_id = TypeId.C_DC_NA_1 if time is None else TypeId.C_DC_TA_1
        key = (common_address, ioa, type_id)
        future = self._expect(key)
        station.send_double_command(common_address, ioa, on, time=time, select=select, now=self._clock())
        self._flush()
        return await self._confirmation(key, future)

    async def interrogate(self, common_address: int, *, qualifier: int = QOI_STATION) -> None:
        """Station (or group) interrogation; returns once terminated (values in :attr:`points`)."""
        station = self._station()
        future = self._expect_termination(TypeId.C_IC_NA_1, common_address)
        station.interrogate(common_address, now=self._clock(), qualifier=qualifier)
        self._flush()
        await future

    async def counter_interrogate(self, common_address: int, *, request: int = 5) -> None:
        """Counter interrogation (read); returns once terminated (readings in :attr:`points`)."""
        station = self._station()
        future = self._expect_termination(TypeId.C_CI_NA_1, common_address)
        station.counter_interrogate(common_address, request=request, now=self._clock())
        self._flush()
        await future

    async def read(self, common_address: int, ioa: int) -> PointReported | RequestRejected:
        """C_RD_NA_1: the point's current value (cause 5), or the station's refusal."""
        station = self._station()
        key = (common_address, ioa)
        if key in self._reads:
            raise RuntimeError(f"a read of {key} is already under way")
        future: asyncio.Future[PointReported | RequestRejected] = asyncio.get_running_loop().create_future()
        self._reads[key] = future
        station.read(common_address, ioa, now=self._clock())
        self._flush()
        try:
            return await future
        finally:
            if self._reads.get(key) is future:
                del self._reads[key]

    def _expect_termination(self, type_id: TypeId, common_address: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._interrogations[type_id, common_address] = future
        return future

    # --- internals -------------------------------------------------------------------

    def _station(self) -> ControllingStation:
        if self.connection is None or not self.connection.station.started:
            raise ConnectionError("IEC 104 data transfer is not started")
        station = self.connection.station
        assert isinstance(station, ControllingStation)
        return station

    def _flush(self) -> None:
        if self.connection is not None:
            self.connection.flush()

    def _expect(self, key: _CommandKey) -> asyncio.Future[Confirmation]:
        if key in self._pending:
            raise RuntimeError(f"a command to {key} is already awaiting its confirmation")
        future: asyncio.Future[Confirmation] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        return future

    async def _confirmation(self, key: _CommandKey, future: asyncio.Future[Confirmation]) -> Confirmation:
        try:
            return await future
        finally:  # also when the caller gives up (asyncio.timeout): the point takes commands again
            if self._pending.get(key) is future:
                del self._pending[key]

    def _resolve(self, key: _CommandKey, result: Confirmation) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(result)

    def _fail_pending(self, error: Exception) -> None:
        futures: list[
            asyncio.Future[Confirmation]
            | asyncio.Future[None]
            | asyncio.Future[PointReported | RequestRejected]
        ] = [*self._pending.values(), *self._interrogations.values(), *self._reads.values()]
        for future in futures:
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._interrogations.clear()
        self._reads.clear()

    def _answer_read(self, answer: PointReported | RequestRejected) -> None:
        future = self._reads.pop((answer.common_address, answer.ioa), None)
        if future is not None and not future.done():
            future.set_result(answer)

    def _finish_interrogation(self, type_id: TypeId, common_address: int) -> None:
        future = self._interrogations.pop((type_id, common_address), None)
        if future is not None and not future.done():
            future.set_result(None)

    def _deliver(self, event: object) -> None:
        if isinstance(event, DataTransferStarted):
            self._started.set()
        elif isinstance(event, PointReported):
            self.points[event.common_address, event.ioa] = event
            if event.cause is Cause.REQUEST:
                self._answer_read(event)
        elif isinstance(event, RequestRejected) and event.type_id is TypeId.C_RD_NA_1:
            self._answer_read(event)
        elif isinstance(event, ActivationConfirmed | RequestRejected):
            if event.type_id in _INTERROGATIONS:
                if isinstance(event, RequestRejected) or not event.positive:
                    self._finish_interrogation(event.type_id, event.common_address)
            else:
                self._resolve((event.common_address, event.ioa, event.type_id), event)
        elif isinstance(event, ActivationTerminated) and event.type_id in _INTERROGATIONS:
            self._finish_interrogation(event.type_id, event.common_address)
        elif isinstance(event, LinkClosed):
            log.info("IEC 104 link to %s:%s closed: %s", self.host, self.port, event.reason)
        if self.on_event is not None:
            self.on_event(event)  # type: ignore[arg-type]

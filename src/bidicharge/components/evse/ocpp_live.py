"""Live mode of the EVSE's OCPP side: :class:`.ocpp_station.OcppStation` over WebSocket.

The station dials the CSMS: the ``url`` of its ``ocpp:`` settings (a backend outside the
scenario, e.g. a CPO's production CSMS), else the WebSocket server of the backend wired to its
``backend``/``evse_backend`` port (``bidicharge up``: the ``cpo_backend`` listens, the wallboxes
connect). Security profile 1/2 with ``password`` (+ ``ca_file`` for TLS), 3 with
``cert_file``/``key_file`` (mutual TLS). The events the study carries in memory (plug in,
meter values, unplug — :class:`StationEvent`) are queued by the ticker's steps and sent in
order by one task; a backend that is away gets them from the station's offline queue when it
returns (E04).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bidicharge.components.interfaces.i04_ocpp import LiveFrameTrace
from bidicharge.runtime.clock import Clock
from bidicharge.transports.ocpp_websocket import OcppCallError, OcppSession

if TYPE_CHECKING:
    from .ocpp_station import OcppStation

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """Periodic meter values (grid side, Wh, both registers only grow)."""

    import_Wh: float
    export_Wh: float
    soc: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlugIn(Update):
    needs: Any  # ChargingNeedsType of the version spoken
    id_token: str | None = None  # who charges: the car's EVCCID (MacAddress) or a configured token
    token_type: str = "Central"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unplug:
    import_Wh: float
    export_Wh: float


StationEvent = PlugIn | Update | Unplug


def client_ssl_context(settings: Any) -> ssl.SSLContext | None:
    """TLS for security profiles 2 and 3 (None for ws:// URLs)."""
    if settings.url is not None and settings.url.startswith("ws://"):
        return None
    if settings.ca_file is None and settings.cert_file is None:
        return None
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.cert_file is not None:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    return context


class EvseOcppLive:
    name: str
    _ocpp_core: Any
    ocpp_station: OcppStation | None = None

    def ocpp_enqueue(self, events: list[StationEvent]) -> None:
        queue: list[StationEvent] = self.__dict__.setdefault("_ocpp_pending", [])
        queue.extend(events)
        wake: asyncio.Event | None = self.__dict__.get("_ocpp_wake")
        if wake is not None:
            wake.set()

    async def serve(self, clock: Clock) -> None:
        if not self.ocpp_live_mode():  # type: ignore[attr-defined]
            await super().serve(clock)  # type: ignore[misc]
            return
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(super().serve(clock))  # type: ignore[misc]
            station = await self._ocpp_station(clock)
            tasks.create_task(station.run())
            tasks.create_task(self._ocpp_send_events(station))

    async def _ocpp_station(self, clock: Clock) -> OcppStation:
        from .ocpp_station import OcppStation

        settings = self.ocpp_settings()  # type: ignore[attr-defined]
        url = settings.url
        link = self.ocpp_backend_link()  # type: ignore[attr-defined]
        if url is None:
            backend = link.peer
            await backend.ocpp_ready.wait()
            url = backend.ocpp_url
        interface, csms = ("I-04", url) if link is None else (link.interface, link.peer.name)
        trace = self.context.trace  # type: ignore[attr-defined]

        def traced(session: OcppSession) -> None:  # the frames of a live run in the trace, as in a study
            session.frame_taps.append(LiveFrameTrace(trace, interface=interface, station=self.name, csms=csms,
                                                     identity=session.identity, version=session.version,
                                                     now=clock.now))

        async def sleep(duration_s: float) -> None:
            await clock.sleep_until(clock.now() + duration_s)

        options: dict[str, Any] = {}
        if settings.password is not None:
            options["password"] = settings.password
        context = client_ssl_context(settings)
        if context is not None:
            options["ssl_context"] = context
        queue_path = None if settings.queue_dir is None else Path(settings.queue_dir) / f"{self.name}.ocpp-queue.jsonl"
        core = self.ocpp_core()  # type: ignore[attr-defined]
        self.ocpp_station = OcppStation(identity=core.identity, url=url, core=core, sleep=sleep,
                                        now=lambda: datetime.fromtimestamp(clock.now(), UTC),
                                        versions=(self.ocpp_version,),  # type: ignore[attr-defined]
                                        queue_path=queue_path, on_session=traced, **options)
        return self.ocpp_station

    async def _ocpp_send_events(self, station: OcppStation) -> None:
        wake = self.__dict__["_ocpp_wake"] = asyncio.Event()
        pending: list[StationEvent] = self.__dict__.setdefault("_ocpp_pending", [])
        if pending:  # queued by the steps before this task ran (boot, a car plugged at start)
            wake.set()
        # the first connection first: the boot and connector status go before the car's events
        # (later, offline, transaction events and NotifyEVChargingNeeds wait in the station's queue)
        await station.accepted.wait()
        while True:
            await wake.wait()
            wake.clear()
            while pending:
                event = pending.pop(0)
                try:
                    await self._ocpp_live_event(station, event)
                except (OcppCallError, ConnectionError) as exc:
                    log.warning("evse %s: OCPP %s: %s", self.name, type(event).__name__, exc)

    @staticmethod
    async def _ocpp_live_event(station: OcppStation, event: StationEvent) -> None:
        if isinstance(event, Update) and not isinstance(event, PlugIn):
            await station.report_meter(1, import_Wh=event.import_Wh, export_Wh=event.export_Wh, soc=event.soc)
            return
        station.core.set_registers(1, import_Wh=event.import_Wh, export_Wh=event.export_Wh)
        if isinstance(event, PlugIn):
            await station.set_connector_status(1, "Occupied")
            await station.start_transaction(1, event.id_token, trigger="CablePluggedIn", token_type=event.token_type)
            await station.notify_ev_charging_needs(1, event.needs)
        elif isinstance(event, Unplug):
            await station.stop_transaction(1, reason="EVDisconnected", trigger="EVDeparted")
            await station.set_connector_status(1, "Available")

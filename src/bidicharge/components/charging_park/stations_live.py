"""Live mode of the park's stations: each EVSE dials the CPO backend as its own OCPP 2.1 station.

``bidicharge up``: the wired ``cpo_backend`` listens on a WebSocket (``ocpp_url``); every EVSE
of the park connects with its identity as an :class:`~bidicharge.components.evse.ocpp_station.OcppStation`
around the same station core the study uses, so profiles the CSMS sends
reach the park's step the same way. The events the steps produce (:mod:`.stations`) are queued
per station and sent in order by one task per station once its boot was accepted; transaction
events a lost connection leaves unsent go through the station's offline queue (E04). Frames are
traced from the station's side, as the evse component does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bidicharge.components.evse.ocpp_station import OcppStation
from bidicharge.components.interfaces.i04_ocpp import LiveFrameTrace
from bidicharge.protocols.ocppj import OcppVersion
from bidicharge.runtime.clock import Clock
from bidicharge.transports.ocpp_websocket import OcppCallError, OcppSession

from .stations import EVSE_ID, TOKEN_TYPE, Metered, NeedsChanged, ParkStation, Plugged, StationEvent

if TYPE_CHECKING:
    from bidicharge.runtime.ports import Link

log = logging.getLogger(__name__)


class ParkStationsLive:
    def __init__(self, stations: Sequence[ParkStation], link: Link) -> None:
        self.stations = list(stations)
        self.link = link
        self.pending: dict[str, list[StationEvent]] = {s.identity: [] for s in self.stations}
        self._wake: dict[str, asyncio.Event] = {}
        self.sessions: dict[str, OcppStation] = {}

    def enqueue(self, station: ParkStation, events: Sequence[StationEvent]) -> None:
        if not events:
            return
        self.pending[station.identity].extend(events)
        wake = self._wake.get(station.identity)
        if wake is not None:
            wake.set()

    async def run(self, clock: Clock) -> None:
        backend: Any = self.link.peer
        await backend.ocpp_ready.wait()
        url = backend.ocpp_url
        async with asyncio.TaskGroup() as tasks:
            for station in self.stations:
                live = self._station(station, url, clock)
                tasks.create_task(live.run())
                tasks.create_task(self._send(station, live))

    def _station(self, station: ParkStation, url: str, clock: Clock) -> OcppStation:
        trace, link = self.link.local.context.trace, self.link

        def traced(session: OcppSession) -> None:  # the frames of a live run in the trace, as in a study
            session.frame_taps.append(LiveFrameTrace(trace, interface=link.interface, station=link.local.name,
                                                     csms=link.peer.name, identity=session.identity,
                                                     version=session.version, now=clock.now))

        async def sleep(duration_s: float) -> None:
            await clock.sleep_until(clock.now() + duration_s)

        live = OcppStation(identity=station.identity, url=url, core=station.core, sleep=sleep,
                           now=lambda: datetime.fromtimestamp(clock.now(), UTC), versions=(OcppVersion.V2_1,),
                           on_session=traced)
        self.sessions[station.identity] = live
        return live

    async def _send(self, station: ParkStation, live: OcppStation) -> None:
        wake = self._wake[station.identity] = asyncio.Event()
        pending = self.pending[station.identity]
        if pending:
            wake.set()
        await live.accepted.wait()  # a car plugged at start must reach the CSMS with its needs
        while True:
            await wake.wait()
            wake.clear()
            while pending:
                event = pending.pop(0)
                try:
                    await tell(live, event)
                except (OcppCallError, ConnectionError) as exc:
                    log.warning("park station %s: OCPP %s: %s", station.identity, type(event).__name__, exc)


async def tell(live: OcppStation, event: StationEvent) -> None:
    """One event as the live station's calls (the same as ``ParkStations.tell`` in a study)."""
    if isinstance(event, NeedsChanged):
        await live.notify_ev_charging_needs(EVSE_ID, event.needs)
    elif isinstance(event, Metered):
        await live.report_meter(EVSE_ID, import_Wh=event.import_Wh, export_Wh=event.export_Wh, soc=event.soc)
    elif isinstance(event, Plugged):
        live.core.set_registers(EVSE_ID, import_Wh=event.import_Wh, export_Wh=event.export_Wh)
        await live.set_connector_status(EVSE_ID, "Occupied")
        await live.start_transaction(EVSE_ID, event.vehicle_id, trigger="CablePluggedIn", token_type=TOKEN_TYPE)
        await live.notify_ev_charging_needs(EVSE_ID, event.needs)
    else:
        live.core.set_registers(EVSE_ID, import_Wh=event.import_Wh, export_Wh=event.export_Wh)
        await live.stop_transaction(EVSE_ID, reason="EVDisconnected", trigger="EVDeparted")
        await live.set_connector_status(EVSE_ID, "Available")

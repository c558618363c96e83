"""Live mode of the CSMS component: the OCPP-J WebSocket server for stations (I-04/I-05) and the
I-14 REST API for the technical aggregator (FastAPI, OpenAPI at ``/docs``).

Security profiles (OCPP 2.x Part 2 A00): 1 = HTTP basic auth (``passwords``), 2 = the same
over TLS (``tls_cert_file``/``tls_key_file``), 3 = mutual TLS (``tls_ca_file`` verifies the
stations' client certificates, whose CN must be the identity). ``ocpp_url`` is set once the
server listens (stations wired in the scenario wait for ``ocpp_ready``); ``api_port`` once the
API listens. An aggregator wired in memory (``SetChargingSchedules``) in live mode gets each
schedule sent as its own task; the answer counts what was sent, the outcome is logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from typing import Any

from bidicharge.components.interfaces.i14_cpo_aggregator import (
    SetChargingSchedules,
    SetChargingSchedulesResult,
)
from bidicharge.runtime.clock import Clock
from bidicharge.transports.ocpp_websocket import OcppCallError, OcppServer, ServerSecurity

from . import i14

log = logging.getLogger(__name__)


def server_security(cfg: Any) -> ServerSecurity:
    profile = cfg.security_profile
    context = None
    if profile in (2, 3):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cfg.tls_cert_file, cfg.tls_key_file)
        if profile == 3:
            context.load_verify_locations(cfg.tls_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
    passwords: dict[str, str] = dict(cfg.passwords)

    def check_password(identity: str, password: str) -> bool:
        known = passwords.get(identity)
        return known is not None and hmac.compare_digest(known.encode(), password.encode())

    return ServerSecurity(profile=profile, check_password=check_password if profile in (1, 2) else None,
                          ssl_context=context)


class CsmsLive:
    name: str
    cfg: Any
    engine: Any
    store: Any
    live_tasks: asyncio.TaskGroup | None = None
    ocpp_url: str | None = None
    api_port: int | None = None

    @property
    def ocpp_ready(self) -> asyncio.Event:
        event: asyncio.Event | None = self.__dict__.get("_ocpp_ready")
        if event is None:
            event = self.__dict__["_ocpp_ready"] = asyncio.Event()
        return event

    async def serve(self, clock: Clock) -> None:
        from bidicharge.transports.http_server import HttpApi

        from .api import create_app

        cfg = self.cfg
        server = OcppServer(setup=self.engine.setup, security=server_security(cfg))
        port = await server.start(cfg.host, cfg.port)
        scheme = "wss" if cfg.security_profile in (2, 3) else "ws"
        self.ocpp_url = f"{scheme}://{cfg.host}:{port}{cfg.path}"
        log.info("%s: OCPP-J server at %s (security profile %s)", self.name, self.ocpp_url, cfg.security_profile)
        api: HttpApi | None = None
        try:
            async with asyncio.TaskGroup() as tasks:
                self.live_tasks = tasks
                if cfg.api_port is not None:
                    api = HttpApi(create_app(self.engine), cfg.api_host, cfg.api_port)
                    self.api_port = api.port
                    tasks.create_task(api.serve())
                tasks.create_task(self._flush_every(cfg.flush_interval_s))
                self.ocpp_ready.set()
                try:
                    await asyncio.Event().wait()  # until cancelled
                finally:  # inside the group: the API shuts down cleanly with it
                    if api is not None:
                        api.stop()
        finally:
            self.live_tasks = None
            await server.close()
            self.store.flush()

    async def _flush_every(self, interval_s: float) -> None:
        """The store's batches, live: at most ``interval_s`` of received rows wait in memory.
        Wall time on purpose — it bounds what a crash loses, whatever the scenario clock does."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                self.store.flush()
            except Exception:  # the database is away: the rows stay pending, the CSMS stays up
                log.exception("%s: store flush failed; retrying in %s s", self.name, interval_s)

    def set_schedules_live(self, message: SetChargingSchedules) -> SetChargingSchedulesResult:
        tasks = self.live_tasks
        assert tasks is not None
        accepted, rejected = 0, []
        for schedule in message.schedules:
            problem = i14.schedule_problem(schedule)
            try:
                station, evse_id = i14.parse_evse_id(schedule.evse_id)
            except ValueError as exc:
                problem = str(exc)
            if problem is None and station not in self.engine.sessions:
                problem = "not connected"
            if problem is not None:
                rejected.append((schedule.evse_id, problem))
                continue
            start, periods = i14.profile_periods(schedule)
            tasks.create_task(self._send(station, evse_id, periods, start))
            accepted += 1
        return SetChargingSchedulesResult(accepted=accepted, rejected=tuple(rejected))

    async def _send(self, station: str, evse_id: int, periods: Any, start: Any) -> None:
        try:
            status = await self.engine.set_charging_schedule(station, evse_id, periods, start=start)
        except (LookupError, ValueError, OcppCallError, ConnectionError) as exc:
            log.warning("%s: schedule for %s EVSE %s not delivered: %s", self.name, station, evse_id, exc)
            return
        if status != "Accepted":
            log.warning("%s: %s EVSE %s answered %s", self.name, station, evse_id, status)

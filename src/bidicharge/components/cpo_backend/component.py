"""The CSMS as scenario components: ``cpo_backend`` (C-CPO-BACKEND: I-04 to its stations, I-14 to
the technical aggregator) and ``evse_backend`` (C-EVSE-BACKEND: I-05, the same engine in the
private-wallbox role, without I-14).

Study mode: each station's frames arrive over the runtime link as ``OcppFrame``s and go through
an in-memory ``MemoryEndpoint`` per station into :class:`.engine.CsmsEngine` — the same
handlers, store and validation as on a WebSocket; the CSMS's own calls (SetChargingProfile)
travel back the same way and are traced by action name. I-14 is answered in memory with the
contract of ``interfaces/i14_cpo_aggregator.py`` (:mod:`.i14`). Live mode (:mod:`.live`): an
OCPP-J WebSocket server and the I-14 REST API (:mod:`.api`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from bidicharge.components.interfaces.i04_ocpp import OcppFrame, trace_frame
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ActivateSetpoints,
    LiveDataRequest,
    SetChargingSchedules,
    SetChargingSchedulesResult,
    SetLocalFrequency,
)
from bidicharge.protocols.ocppj import counter_ids
from bidicharge.protocols.ocppj.memory import MemoryCallError, MemoryEndpoint
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, Port, provides

from . import activation, i14
from .engine import CsmsEngine
from .live import CsmsLive
from .store import CsmsStore

log = logging.getLogger(__name__)


class CpoBackendConfig(ComponentConfig):
    store_url: str = Field("sqlite://", description="SQLAlchemy URL: sqlite:// (memory), sqlite:///csms.db, "
                                                     "postgresql+psycopg://user@host/db")
    heartbeat_interval_s: int = Field(300, ge=1, description="BootNotification interval given to stations")
    flush_interval_s: float = Field(1.0, gt=0, description="live: the store writes what it received at least "
                                                           "this often (wall time; study: every step)")
    accept_unknown_tokens: bool = Field(True, description="authorise id tokens the store does not know")
    # live mode: the OCPP-J WebSocket server
    host: str = Field("127.0.0.1", description="live: where the OCPP-J server listens")
    port: int = Field(0, ge=0, le=65535, description="live: its port (0: any free port)")
    path: str = Field("/ocpp", pattern=r"^(/[A-Za-z0-9._~-]+)*$", description="live: URL path before the identity")
    security_profile: Literal[0, 1, 2, 3] = Field(0, description="OCPP 2.x A00: 0 none, 1 basic auth, "
                                                                 "2 TLS + basic auth, 3 mutual TLS")
    passwords: dict[str, str] = Field(default_factory=dict, description="profiles 1/2: station identity -> password")
    tls_cert_file: str | None = Field(None, description="profiles 2/3: the CSMS's certificate (PEM)")
    tls_key_file: str | None = Field(None, description="profiles 2/3: its private key (PEM)")
    tls_ca_file: str | None = Field(None, description="profile 3: CA that signs the stations' client certificates")
    # live mode: the I-14 REST API
    api_host: str = Field("127.0.0.1", description="live: where the I-14 REST API listens")
    api_port: int | None = Field(0, ge=0, le=65535, description="live: its port (0: any free; None: no API)")

    @model_validator(mode="after")
    def _security(self) -> CpoBackendConfig:
        p = self.security_profile
        if p in (1, 2) and not self.passwords:
            raise ValueError(f"security_profile {p} needs passwords (station identity -> password)")
        if p in (2, 3) and (self.tls_cert_file is None or self.tls_key_file is None):
            raise ValueError(f"security_profile {p} needs tls_cert_file and tls_key_file")
        if p == 3 and self.tls_ca_file is None:
            raise ValueError("security_profile 3 needs tls_ca_file (the CA of the stations' certificates)")
        return self


@component_type
class CpoBackend(CsmsLive, Component):
    kind = "cpo_backend"
    catalogue_id = "C-CPO-BACKEND"
    Config = CpoBackendConfig
    PORTS: ClassVar[tuple[Port, ...]] = (
        provides("ocpp", "I-04", "OCPP 2.0.1 / 2.1", description="CSMS: stations connect here"),
        provides("aggregator", "I-14", "in-memory", wire_protocol="OCPP 2.0.1, IEC 63110",
                 description="live data and charging schedules (live mode: REST /v1/evs)"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: CpoBackendConfig = config
        try:
            self.store = CsmsStore(config.store_url)
        except Exception as exc:  # a bad URL or an absent database: a scenario problem, said at load
            raise ValueError(f"store_url {config.store_url!r}: {type(exc).__name__}: {exc}") from None
        self.engine = CsmsEngine(self.store, now=self._datetime, heartbeat_interval_s=config.heartbeat_interval_s,
                                 accept_unknown_tokens=config.accept_unknown_tokens)
        self.links_by_station: dict[str, Link] = {}
        self.refused: list[tuple[str, str]] = []  # (station, why) of calls that failed in a study

    def _clock_s(self) -> float:
        clock = self.context.clock
        return clock.now() if clock is not None else self.now

    def _datetime(self) -> datetime:
        return datetime.fromtimestamp(self._clock_s(), UTC)

    def step(self, now: float, dt_s: float) -> None:
        super().step(now, dt_s)
        self.store.flush()  # BACKEND phase: the step's messages are in; one batch per step

    # ---- station -> CSMS (study) ---------------------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> Any:
        if port == "ocpp" and isinstance(message, OcppFrame):
            return self._receive(message, link)
        if port == "aggregator" and isinstance(message, LiveDataRequest):
            return i14.live_data(self.engine, self._clock_s(), message.evse_ids)
        if port == "aggregator" and isinstance(message, SetChargingSchedules):
            return self.set_schedules(message)
        if port == "aggregator" and isinstance(message, (ActivateSetpoints, SetLocalFrequency)):
            return activation.dispatch(self, message)  # reserves (I-25 via I-14): sent at once
        return super().handle(port, message, link)

    def _receive(self, frame: OcppFrame, link: Link) -> OcppFrame | None:
        endpoint = self.engine.sessions.get(frame.identity)
        if not isinstance(endpoint, MemoryEndpoint) or endpoint.version is not frame.version \
                or self.links_by_station.get(frame.identity) is not link:
            # a new connection (as a WebSocket accept): the newest one of a station wins
            endpoint = MemoryEndpoint(identity=frame.identity, version=frame.version,
                                      new_message_id=counter_ids(f"{self.name}-"))
            self.engine.setup(endpoint)  # same surface as OcppSession
            self.links_by_station[frame.identity] = link
        reply = endpoint.receive(frame.text, now=self._clock_s())
        return None if reply is None else OcppFrame(identity=frame.identity, version=frame.version, text=reply)

    # ---- CSMS -> station (study) ---------------------------------------------------------------
    def call_station(self, identity: str, request: Any) -> Any:
        """Carry one CALL to a station over its link and return the typed response."""
        endpoint, link = self.engine.sessions.get(identity), self.links_by_station.get(identity)
        if not isinstance(endpoint, MemoryEndpoint) or link is None:
            raise LookupError(f"station {identity!r} is not connected")
        action, trace, now = type(request).ACTION, self.context.trace, self._clock_s()
        station = link.local

        def carry(text: str) -> str | None:
            frame = OcppFrame(identity=identity, version=endpoint.version, text=text)
            trace_frame(trace, frame, interface=link.interface, action=action, source=self.name,
                        target=station.name, now=now)
            reply = station.handle(link.local_port.name, frame, link)
            if not isinstance(reply, OcppFrame):
                return None
            trace_frame(trace, reply, interface=link.interface, action=action, source=station.name,
                        target=self.name, now=now)
            return reply.text

        return endpoint.call(request, carry, now=now)

    def set_schedules(self, message: SetChargingSchedules) -> SetChargingSchedulesResult:
        """I-14: every schedule becomes a SetChargingProfile to its station; answered per EVSE."""
        if self.live_tasks is not None:
            return self.set_schedules_live(message)
        accepted, rejected = 0, []
        for schedule in message.schedules:
            why = self._send_schedule(schedule)
            if why is None:
                accepted += 1
            else:
                rejected.append((schedule.evse_id, why))
                self.refused.append((schedule.evse_id, why))
        return SetChargingSchedulesResult(accepted=accepted, rejected=tuple(rejected))

    def _send_schedule(self, schedule: Any) -> str | None:
        problem = i14.schedule_problem(schedule)
        if problem is not None:
            return problem
        try:
            station, evse_id = i14.parse_evse_id(schedule.evse_id)
            endpoint = self.engine.sessions.get(station)
            if endpoint is None:
                return "not connected"
            start, periods = i14.profile_periods(schedule)
            request = self.engine.charging_profile_request(station, endpoint.version, evse_id, periods, start=start)
            status = self.engine.profile_answered(station, request, self.call_station(station, request))
        except (LookupError, ValueError, MemoryCallError) as exc:
            return str(exc)
        return None if status == "Accepted" else f"station answered {status}"

    def report(self) -> dict[str, Any]:
        self.store.flush()
        txs = self.store.transactions()
        return {"stations": len(self.engine.sessions), "transactions": len(txs),
                "imported_Wh": sum(t.imported_Wh for t in txs), "exported_Wh": sum(t.exported_Wh for t in txs),
                "schedules_refused": len(self.refused)}


@component_type
class EvseBackend(CpoBackend):
    """The wallbox maker's backend (I-05): the same CSMS, for private wallboxes; no aggregator port."""

    kind = "evse_backend"
    catalogue_id = "C-EVSE-BACKEND"
    PORTS = (provides("ocpp", "I-05", "OCPP 2.0.1 / 2.1", description="CSMS: wallboxes connect here"),)

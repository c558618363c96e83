"""HEMS backend (C-HEMS-BACKEND): receives the HEMS's measurements, plans and events over
MQTT (I-06), stores them (SQLite by default, PostgreSQL by URL) and serves the HEMS app's
REST API (I-07); settings from the app travel back to the HEMS as retained MQTT messages.

In study mode the HEMS hands it its states in memory through the same contract; in live mode
it runs an embedded MQTT broker (amqtt) unless `broker` names an external one.

For a technical aggregator it is the CPO backend of its HEMSs' home wallboxes (I-14,
``aggregator_desk.py``); a schedule it accepts goes to the site's HEMS on I-06 (retained
``aggregator_schedule``, ``to_hems.py``), which follows it within the owner's limits and
reports what it could not follow. `settings` and `home_cars` seed what owners set in the app
before the run (a study has no app).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pydantic import Field, ValidationError, field_validator

from bidicharge.components.hems_backend.aggregator_desk import AggregatorDesk
from bidicharge.components.hems_backend.store import HemsStore
from bidicharge.components.hems_backend.to_hems import ToHems, as_aggregator_schedule
from bidicharge.components.interfaces.i06_hems_backend import (
    HemsEvent,
    HemsPlan,
    HemsRetained,
    HemsSettings,
    HemsState,
    HemsSubscribe,
    parse_topic,
    topic,
)
from bidicharge.components.interfaces.i14_cpo_aggregator import LiveDataRequest, SetChargingSchedules
from bidicharge.components.interfaces.i14_hems_aggregator import (
    HOME_EVSE_PREFIX,
    HomeCarRegistration,
    HomeCarsRequest,
)
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides
from bidicharge.transports.mqtt import BrokerAddress, MqttSession, open_broker

log = logging.getLogger(__name__)


class HemsBackendConfig(ComponentConfig):
    broker: str = Field("embedded", description="'embedded' (amqtt in this process) or mqtt://host:port")
    db_url: str = "sqlite:///out/hems_backend.db"
    api_host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535, description="0 = a free port")
    settings: dict[str, HemsSettings] = Field(
        default_factory=dict, description="owners' settings per site at the start (as if set in the app, I-07)")
    home_cars: tuple[HomeCarRegistration, ...] = Field(
        (), description="home cars their owners registered with an aggregator at the start (I-14)")

    @field_validator("settings")
    @classmethod
    def _sites(cls, v: dict[str, HemsSettings]) -> dict[str, HemsSettings]:
        for site in v:
            topic(site, "settings")  # raises naming the site when it is not a valid site id
        return v


@component_type
class HemsBackend(Component):
    kind = "hems_backend"
    catalogue_id = "C-HEMS-BACKEND"
    Config = HemsBackendConfig
    # for the home wallboxes its HEMSs run, the backend is the CPO backend of I-14 towards a
    # technical aggregator (the catalogue has no link of its own for it; see i14_hems_aggregator)
    ACTS_AS = ("C-CPO-BACKEND",)
    PORTS = (
        provides("hems", "I-06", "MQTT"),
        provides("app", "I-07", "REST (OpenAPI)"),
        provides("aggregator", "I-14", "in-memory", wire_protocol="OCPP 2.0.1, IEC 63110",
                 description="home-charged cars registered for an aggregator: live data, owner's rules, schedules"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: HemsBackendConfig = config
        self.store = HemsStore(config.db_url)
        self.desk = AggregatorDesk(self.store.engine)
        self.to_hems = ToHems(self)
        for site, settings in config.settings.items():
            self.store.put_settings(site, settings)
        for registration in config.home_cars:
            self.desk.register(registration)
        self.aggregator_id = ""  # the aggregator wired to port `aggregator` (set when it asks)
        self.broker_address: BrokerAddress | None = None
        self.api_port: int | None = None
        self.ready = asyncio.Event()
        self.rejected = 0
        self._session: MqttSession | None = None

    # -- study mode: the HEMS hands its messages over in memory ---------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, HemsState):
            self.store.add_state(message)
            if self.desk.observe(message):  # the car left: its schedule ended with the session
                self.to_hems.deliver(message.site, as_aggregator_schedule(message.site, self.aggregator_id, None,
                                                                          message.time_s))
            return None
        if isinstance(message, HemsSubscribe):
            self.to_hems.subscribers[message.site] = link.local
            sched = self.desk.schedule(message.site)
            return HemsRetained(settings=self.store.settings(message.site),
                                schedule=as_aggregator_schedule(message.site, self.aggregator_id, sched, self.now)
                                if sched is not None else None)
        if isinstance(message, HemsPlan):
            self.store.put_plan(message)
            return None
        if isinstance(message, HemsEvent):
            self.store.add_event(message)
            return None
        if port == "aggregator":
            return self._aggregator(message)
        return super().handle(port, message, link)

    def _aggregator(self, message: object) -> object:
        """I-14 for home-charged cars (contract: ``interfaces/i14_hems_aggregator.py``)."""
        clock = self.context.clock
        if clock is not None:  # served at the caller's time (a study steps the backend after it)
            self.now = max(self.now, clock.now())
        sites = [r.site for r in self.desk.registrations()]
        states = {site: self.store.latest_state(site) for site in sites}
        if isinstance(message, HomeCarRegistration):
            self.desk.register(message)
            return None
        if isinstance(message, HomeCarsRequest):
            self.aggregator_id = message.aggregator
            settings = {site: self.store.settings(site) for site in sites}
            return self.desk.cars(message.aggregator, states, settings, now_s=self.now)
        if isinstance(message, LiveDataRequest):
            return self.desk.live(self.aggregator_id, states, now_s=self.now)
        if isinstance(message, SetChargingSchedules):
            settings = {site: self.store.settings(site) for site in sites}
            result, accepted = self.desk.accept(self.aggregator_id, message, states, settings)
            for sched in accepted:
                site = sched.evse_id.removeprefix(HOME_EVSE_PREFIX)
                self.to_hems.deliver(site, as_aggregator_schedule(site, self.aggregator_id, sched, self.now))
            return result
        return super().handle("aggregator", message, None)  # type: ignore[arg-type]

    # -- live mode --------------------------------------------------------------------------
    async def on_mqtt(self, name: str, payload: bytes, retained: bool) -> None:
        parsed = parse_topic(name)
        if parsed is None:
            return
        site, leaf = parsed
        model = {"state": HemsState, "plan": HemsPlan, "events": HemsEvent}.get(leaf)
        if model is None:
            return
        try:
            msg = model.model_validate(json.loads(payload))
        except (ValueError, ValidationError) as exc:
            self.rejected += 1
            log.warning("HEMS backend: refused %s from %s: %s", leaf, site, str(exc).splitlines()[0])
            return
        if getattr(msg, "site", site) != site:
            self.rejected += 1
            log.warning("HEMS backend: %s on %s claims site %r", leaf, name, msg.site)  # type: ignore[attr-defined]
            return
        self.handle("hems", msg, None)  # type: ignore[arg-type]

    async def publish_settings(self, site: str, settings: HemsSettings) -> None:
        if self._session is None:
            raise TimeoutError("no MQTT session")
        await self._session.publish(topic(site, "settings"), settings.model_dump_json().encode(), retain=True)

    def change_settings(self, site: str, settings: HemsSettings) -> None:
        """The owner changed the settings (the app in a study, or a script): stored, sent to the HEMS."""
        self.store.put_settings(site, settings)
        self.to_hems.deliver(site, settings)

    async def serve(self, clock: Clock) -> None:
        from bidicharge.components.hems_backend.api import create_app
        from bidicharge.transports.http_server import HttpApi

        async with asyncio.TaskGroup() as tg:
            self.broker_address, broker = await open_broker(self.cfg.broker)
            self._session = MqttSession(
                self.broker_address,
                client_id=f"bidicharge-hems-backend-{self.name}",
                subscriptions=("bidicharge/v1/hems/+/state", "bidicharge/v1/hems/+/plan", "bidicharge/v1/hems/+/events"),
                handler=self.on_mqtt,
            )
            tg.create_task(self._session.run())
            self.to_hems.live = True
            tg.create_task(self.to_hems.drain(self._session))  # aggregators' schedules to the HEMSs
            api = HttpApi(create_app(self.store, self.publish_settings), self.cfg.api_host, self.cfg.api_port)
            self.api_port = api.port
            tg.create_task(api.serve())
            await self._session.wait_connected(30.0)
            self.ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                api.stop()
                if broker is not None:
                    await broker.stop()

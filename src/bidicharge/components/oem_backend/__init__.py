"""OEM backend (C-OEM-BACKEND): the carmaker's telematics backend.

Vehicles report SoC, home/away and plug state over MQTT (I-02; the topic tree is in
``components/interfaces/i02_telematics.py``); the owner sees the car and sets departure,
target SoC, the minimum SoC a discharge may reach and V2G consent in the BEV app (I-12, REST
+ WebSocket push); an aggregator the owner authorised reads the car and sends SoC settings
(I-13, REST). In live mode it runs an embedded MQTT broker (amqtt) unless ``broker`` names an
external one (``mqtt://127.0.0.1:1883`` for Mosquitto); in a study the cars hand their
reports over in memory through the same contract.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from pydantic import Field, ValidationError

from bidicharge.components.interfaces.i02_telematics import (
    OwnerSettings,
    Publish,
    SocCommand,
    VehicleStatus,
    parse_topic,
    topic,
)
from bidicharge.components.interfaces.i13_oem_aggregator import (
    CommandAnswer,
    FleetData,
    FleetDataRequest,
    SocCommandRequest,
)
from bidicharge.components.oem_backend.store import CommandRefused, OemStore
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides
from bidicharge.transports.mqtt import BrokerAddress, MqttSession, open_broker

log = logging.getLogger(__name__)

__all__ = ["OemBackend", "OemBackendConfig", "OemStore"]


class OemBackendConfig(ComponentConfig):
    broker: str = Field("embedded", description="'embedded' (amqtt in this process) or mqtt://host:port")
    api_host: str = "127.0.0.1"
    api_port: int = Field(0, ge=0, le=65535, description="0 = a free port")
    aggregator_tokens: dict[str, str] = Field(default_factory=dict, description="I-13 bearer token -> aggregator id")


@component_type
class OemBackend(Component):
    kind = "oem_backend"
    catalogue_id = "C-OEM-BACKEND"
    Config = OemBackendConfig
    PORTS = (
        provides("telematics", "I-02", "MQTT", wire_protocol="LTE/5G, proprietary OEM API"),
        provides("app", "I-12", "REST + WebSocket"),
        provides("aggregator", "I-13", "REST"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.cfg: OemBackendConfig = config
        self.store = OemStore()
        self.broker_address: BrokerAddress | None = None
        self.api_url: str | None = None
        self.ready = asyncio.Event()
        self.rejected = 0
        self.commands_refused = 0
        self._session: MqttSession | None = None

    # -- study mode: the same contract in memory ------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        if isinstance(message, Publish):
            self.receive(message.topic, json.dumps(message.payload).encode())
            return None
        if isinstance(message, FleetDataRequest):
            return FleetData(time_s=self.now, vehicles=tuple(
                v.model_dump(mode="json") for v in self.store.for_aggregator(message.aggregator)))
        if isinstance(message, SocCommandRequest):
            try:
                self.store.accept_command(message.command)
            except CommandRefused as exc:
                self.commands_refused += 1
                return CommandAnswer(accepted=False, reason=str(exc))
            return CommandAnswer(accepted=True)
        return super().handle(port, message, link)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now

    def report(self) -> dict[str, Any]:
        return {"vehicles": len(self.store.vins()), "rejected_reports": self.rejected + self.store.refused_reports,
                "commands_refused": self.commands_refused}

    # -- live mode --------------------------------------------------------------------------
    async def on_mqtt(self, name: str, payload: bytes, retained: bool) -> None:
        self.receive(name, payload)

    def receive(self, name: str, payload: bytes) -> None:
        """A publication on the I-02 tree (MQTT live, in memory in a study): validated, stored."""
        parsed = parse_topic(name)
        if parsed is None or parsed[1] != "status":
            return
        vin = parsed[0]
        try:
            status = VehicleStatus.model_validate(json.loads(payload))
        except (ValueError, ValidationError) as exc:
            self.rejected += 1
            log.warning("OEM backend: refused a status of %s: %s", vin, str(exc).splitlines()[0])
            return
        if status.vin != vin:
            self.rejected += 1
            log.warning("OEM backend: status on %s claims vehicle %r", name, status.vin)
            return
        self.store.put_status(status)

    async def send_settings(self, vin: str, settings: OwnerSettings) -> None:
        if self._session is None:
            raise TimeoutError("no MQTT session")
        await self._session.publish(topic(vin, "settings"), settings.model_dump_json().encode(), retain=True)

    async def send_command(self, command: SocCommand) -> None:
        if self._session is None:
            raise TimeoutError("no MQTT session")
        await self._session.publish(topic(command.vin, "command"), command.model_dump_json().encode())

    async def serve(self, clock: Clock) -> None:
        from bidicharge.components.oem_backend.api import create_app
        from bidicharge.transports.http_server import HttpApi

        async with asyncio.TaskGroup() as tg:
            self.broker_address, broker = await open_broker(self.cfg.broker)
            self._session = MqttSession(
                self.broker_address,
                client_id=f"bidicharge-oem-backend-{self.name}",
                subscriptions=("bidicharge/v1/oem/+/status",),
                handler=self.on_mqtt,
            )
            tg.create_task(self._session.run())
            app = create_app(self.store, now=clock.now, tokens=dict(self.cfg.aggregator_tokens),
                             send_settings=self.send_settings, send_command=self.send_command)
            api = HttpApi(app, self.cfg.api_host, self.cfg.api_port)
            self.api_url = api.url
            tg.create_task(api.serve())
            await self._session.wait_connected(30.0)
            self.ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                api.stop()
                if broker is not None:
                    await broker.stop()

"""Live mode of the HEMS: prices over REST (I-45), state to and settings from the backend
over MQTT (I-06). A mixin of the `Hems` component; study mode never calls it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiomqtt
from pydantic import ValidationError

from bidicharge.components.interfaces.i06_hems_backend import (
    AggregatorSchedule,
    HemsEvent,
    HemsSettings,
    HemsState,
    topic,
)
from bidicharge.components.interfaces.i45_tariff import PriceSchedule
from bidicharge.runtime.cancel import stop_if_cancelled
from bidicharge.runtime.clock import Clock
from bidicharge.transports.mqtt import MqttSession, parse_broker_url

if TYPE_CHECKING:
    from bidicharge.components.hems import HemsConfig

log = logging.getLogger(__name__)


class HemsLive:
    cfg: HemsConfig
    now: float
    _live: bool
    _outbox: asyncio.Queue[tuple[str, bytes, bool]] | None
    _prices: PriceSchedule | None
    _prices_until: float
    settings_rejected: int

    if TYPE_CHECKING:  # provided by Component and Hems; declared here for the type checker only
        from bidicharge.runtime.ports import Link

        def link(self, port: str) -> Link | None: ...

        def apply_settings(self, settings: HemsSettings) -> None: ...

        def on_backend_message(self, message: HemsSettings | AggregatorSchedule, now: float) -> None: ...

        def peers(self, port: str) -> list[Link]: ...

        def _plant_loop(self, link: Link, clock: Clock, period_s: float) -> Any: ...

        async def _eebus_serve(self, clock: Clock) -> None: ...

        _live_plants: bool

    def _publish(self, message: HemsState | HemsEvent) -> None:
        leaf = "state" if isinstance(message, HemsState) else "events"
        if self._live:
            if self._outbox is not None:
                self._outbox.put_nowait((topic(self.cfg.site, leaf), message.model_dump_json().encode(), leaf == "state"))
            return
        link = self.link("backend")
        if link is not None:
            link.request(message)

    async def serve(self, clock: Clock) -> None:
        """Live mode: prices over REST (I-45), state to and settings from the backend over MQTT (I-06)."""
        backend = self.link("backend")
        tariff = self.link("tariff")
        address = None
        if backend is not None:
            await backend.peer.ready.wait()  # type: ignore[attr-defined]
            address = backend.peer.broker_address  # type: ignore[attr-defined]
        elif self.cfg.broker is not None:
            address = parse_broker_url(self.cfg.broker)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._eebus_serve(clock))  # I-03/I-09 over SHIP when wired (eebus_live.py)
            for link in self.peers("plants"):  # SunSpec over Modbus/TCP where the plant serves it
                if hasattr(link.peer, "modbus_ready"):
                    self._live_plants = True
                    tg.create_task(self._plant_loop(link, clock, self.cfg.control_period_s))
            if tariff is not None:
                await tariff.peer.ready.wait()  # type: ignore[attr-defined]
                tg.create_task(self._fetch_prices(clock, tariff.peer.api_url))  # type: ignore[attr-defined]
            if address is not None:
                self._live = True
                self._outbox = asyncio.Queue()
                session = MqttSession(
                    address,
                    client_id=f"bidicharge-hems-{self.cfg.site}",
                    subscriptions=(topic(self.cfg.site, "settings"), topic(self.cfg.site, "aggregator_schedule")),
                    handler=self._on_mqtt,
                    will=(topic(self.cfg.site, "status"), b"offline"),
                )
                tg.create_task(session.run())
                tg.create_task(self._drain_outbox(session))

    def _report_fault(self, plant: str, what: str) -> None:
        self._publish(HemsEvent(site=self.cfg.site, time_s=self.now, level="warning", message=f"{plant}: {what}"))

    async def _drain_outbox(self, session: MqttSession) -> None:
        assert self._outbox is not None
        await session.publish(topic(self.cfg.site, "status"), b"online", retain=True, timeout_s=60.0)
        while True:
            name, payload, retain = await self._outbox.get()
            while True:  # keep the message until the broker has it: nothing is dropped
                try:
                    await session.publish(name, payload, retain=retain)
                    break
                except (TimeoutError, aiomqtt.MqttError):
                    stop_if_cancelled()
                    await asyncio.sleep(1.0)

    async def _on_mqtt(self, name: str, payload: bytes, retained: bool) -> None:
        leaf = name.rsplit("/", 1)[-1]
        model: type[HemsSettings] | type[AggregatorSchedule] = (
            AggregatorSchedule if leaf == "aggregator_schedule" else HemsSettings)
        try:
            message = model.model_validate_json(payload)
        except ValidationError as exc:
            self.settings_rejected += 1
            log.warning("HEMS %s: refused %s: %s", self.cfg.site, leaf, str(exc).splitlines()[0])
            self._publish(HemsEvent(site=self.cfg.site, time_s=self.now, level="warning",
                                    message=f"{leaf} refused: {exc.errors()[0]['msg']}"))
            return
        # aggregator_schedule.py applies settings now, a schedule from the next control cycle (NaN: not "this step")
        self.on_backend_message(message, float("nan"))

    async def _fetch_prices(self, clock: Clock, base_url: str) -> None:
        import httpx

        async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
            while True:
                now = clock.now()
                try:
                    r = await client.get("/v1/prices", params={"from_s": now, "to_s": now + 36 * 3600.0})
                    r.raise_for_status()
                    data = r.json()
                    self._prices = PriceSchedule(
                        start_s=data["start_s"],
                        step_s=data["step_s"],
                        import_EUR_per_kWh=tuple(data["import_EUR_per_kWh"]),
                        feed_in_EUR_per_kWh=data["feed_in_EUR_per_kWh"],
                    )
                    self._prices_until = now + self.cfg.price_refresh_s
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    stop_if_cancelled()
                    log.warning("HEMS %s: prices unavailable (%s); keeping the last ones", self.cfg.site, exc)
                await clock.sleep_until(now + self.cfg.price_refresh_s)


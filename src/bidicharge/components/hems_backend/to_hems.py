"""What the HEMS backend sends its HEMSs on I-06: the owner's settings and aggregators' schedules.

Both are retained per site (``interfaces/i06_hems_backend.py``): live they are MQTT messages
with the retain flag, queued here and published by the backend's session task, so that a
message handed over while the broker is away is published when it is back; in a study the
subscribed HEMS (``HemsSubscribe``) gets them in memory the moment they change, traced as I-06
like every other message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiomqtt

from bidicharge.components.interfaces.i06_hems_backend import (
    AggregatorSchedule,
    HemsSettings,
    SchedulePoint,
    topic,
)
from bidicharge.components.interfaces.i14_cpo_aggregator import ChargingSchedule
from bidicharge.runtime.cancel import stop_if_cancelled

if TYPE_CHECKING:
    from bidicharge.runtime.component import Component
    from bidicharge.transports.mqtt import MqttSession

log = logging.getLogger(__name__)


def as_aggregator_schedule(site: str, aggregator: str, schedule: ChargingSchedule | None,
                           now_s: float) -> AggregatorSchedule:
    """The I-06 form of an accepted I-14 schedule (``None``: withdrawn)."""
    if schedule is None:
        return AggregatorSchedule(site=site, aggregator=aggregator, start_s=now_s, periods=[])
    return AggregatorSchedule(site=site, aggregator=aggregator, start_s=schedule.start_s, periods=[
        SchedulePoint(start_offset_s=p.start_offset_s, setpoint_W=p.setpoint_W) for p in schedule.periods])


class ToHems:
    """The backend's side of the retained I-06 messages towards its HEMSs."""

    def __init__(self, backend: Component) -> None:
        self.backend = backend
        self.subscribers: dict[str, Component] = {}  # site -> the HEMS (study mode)
        self.live = False
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    def deliver(self, site: str, message: HemsSettings | AggregatorSchedule) -> None:
        leaf = "settings" if isinstance(message, HemsSettings) else "aggregator_schedule"
        if self.live:
            self._outbox.put_nowait((topic(site, leaf), message.model_dump_json().encode()))
            return
        hems = self.subscribers.get(site)
        if hems is None:
            return  # kept in the database: the HEMS gets it when it subscribes (retained)
        now = self.backend.now
        trace = self.backend.context.trace
        if trace.enabled:
            trace.record(time_s=now, interface="I-06", source=self.backend.name, target=hems.name, protocol="MQTT",
                         message=type(message).__name__, summary=message.model_dump_json())
        hems.on_backend_message(message, now)  # type: ignore[attr-defined]  # components/hems/aggregator_schedule.py

    async def drain(self, session: MqttSession) -> None:
        """Live: publish queued messages retained; keep each until the broker has it."""
        self.live = True
        while True:
            name, payload = await self._outbox.get()
            while True:
                try:
                    await session.publish(name, payload, retain=True)
                    break
                except (TimeoutError, aiomqtt.MqttError) as exc:
                    stop_if_cancelled()
                    log.info("HEMS backend: %s not published yet (%s); retrying", name, exc)
                    await asyncio.sleep(1.0)

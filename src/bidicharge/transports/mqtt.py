"""MQTT: an embedded broker (amqtt) for the default set-up and a client session (aiomqtt)
that reconnects with back-off. Topic trees are defined by the components that use them.

The embedded broker binds to a free loopback port unless told otherwise, so it never
collides with a broker already running on 1883; an external broker is chosen by URL
(`mqtt://host:port`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import aiomqtt

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise ValueError(f"broker URL must look like mqtt://host:port, got {url!r}")
    return BrokerAddress(parsed.hostname, parsed.port or 1883)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _reraise_if_cancelling() -> None:
    """Python 3.11: a cancel() that lands while a timeout fires (ours or aiomqtt's) comes out as
    TimeoutError or MqttError; give it back as a cancellation so retry loops stop when their
    task is cancelled instead of retrying forever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class EmbeddedBroker:
    """An amqtt broker in this process (anonymous, loopback by default)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.address = BrokerAddress(host, port or free_port(host))
        self._broker: object | None = None

    async def start(self) -> BrokerAddress:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.address.host}:{self.address.port}"}},
            "sys_interval": 0,
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = Broker(config)
        await broker.start()
        self._broker = broker
        return self.address

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()  # type: ignore[attr-defined]
            self._broker = None

    async def __aenter__(self) -> BrokerAddress:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def open_broker(spec: str) -> tuple[BrokerAddress, EmbeddedBroker | None]:
    """`spec` is "embedded" (start an amqtt broker on a free loopback port; the caller stops
    it) or an mqtt://host:port URL of an external broker."""
    if spec == "embedded":
        broker = EmbeddedBroker()
        return await broker.start(), broker
    return parse_broker_url(spec), None


Handler = Callable[[str, bytes, bool], Awaitable[None]]


class MqttSession:
    """A client that keeps its subscriptions across reconnects and publishes while connected.

    `run()` connects, subscribes, dispatches messages to `handler(topic, payload, retained)`
    and reconnects with exponential back-off (0.5 s … 30 s) when the broker goes away.
    `publish()` waits up to `timeout_s` for a connection; messages are not silently dropped:
    it raises `TimeoutError` so the caller can keep them and retry.
    """

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        subscriptions: tuple[str, ...] = (),
        handler: Handler | None = None,
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.address = address
        # clean sessions: a unique suffix keeps two processes (or a test run and a stale one)
        # from taking over each other's connection on a shared broker
        self.client_id = f"{client_id}-{uuid.uuid4().hex[:8]}"
        self.subscriptions = subscriptions
        self.handler = handler
        self.will = will
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float = 10.0) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._connected.wait()
        except TimeoutError:
            _reraise_if_cancelling()
            raise

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 1, timeout_s: float = 5.0) -> None:
        try:
            await self.wait_connected(timeout_s)
            assert self._client is not None
            await self._client.publish(topic, payload, qos=qos, retain=retain)
        except (TimeoutError, aiomqtt.MqttError):
            _reraise_if_cancelling()
            raise

    async def run(self) -> None:
        delay = 0.5
        while True:
            will = aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True) if self.will else None
            try:
                async with aiomqtt.Client(
                    self.address.host, self.address.port, identifier=self.client_id, will=will, keepalive=30
                ) as client:
                    self._client = client
                    for topic in self.subscriptions:
                        await client.subscribe(topic, qos=1)
                    self._connected.set()
                    delay = 0.5
                    async for message in client.messages:
                        if self.handler is not None:
                            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
                            try:
                                await self.handler(str(message.topic), payload, bool(message.retain))
                            except Exception:  # a bad message must not take the session down
                                log.exception("MQTT handler failed on %s", message.topic)
            except aiomqtt.MqttError as exc:
                _reraise_if_cancelling()
                self._connected.clear()
                self._client = None
                self.reconnects += 1
                log.warning("MQTT %s: %s; reconnecting in %.1f s", self.address.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)



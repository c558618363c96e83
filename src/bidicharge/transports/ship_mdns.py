"""SHIP node discovery: mDNS/DNS-SD ``_ship._tcp.local.`` (SHIP 1.0.1 §7) with a static fallback.

A SHIP node announces a service with TXT keys ``txtvers=1``, ``id`` (SHIP ID), ``path``
(``/ship/``), ``ski`` (40 hex), ``register`` (true while it accepts pairing), and
optionally ``brand``, ``model``, ``type`` (≤ 32 bytes each), ``serial`` and ``cat``
(1 grid connection hub, 2 EMS, 3 e-mobility, 4 HVAC, 5 inverter, 6 appliance, 7 metering).
Peers are looked up by SKI: an mDNS answer wins, else the static address list configured
for networks without multicast.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Final

from zeroconf import InterfaceChoice, IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from bidicharge.protocols.ship.identity import Ski, normalise_ski

SERVICE_TYPE: Final = "_ship._tcp.local."


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipServiceRecord:
    ski: Ski
    ship_id: str
    host: str
    port: int
    path: str = "/ship/"
    register: bool = False
    brand: str | None = None
    model: str | None = None
    device_type: str | None = None
    serial: str | None = None
    category: int | None = None


def txt_properties(record: ShipServiceRecord) -> dict[str, str]:
    props = {"txtvers": "1", "id": record.ship_id, "path": record.path, "ski": record.ski,
             "register": "true" if record.register else "false"}
    for key, value in (("brand", record.brand), ("model", record.model), ("type", record.device_type)):
        if value is not None:
            props[key] = value.encode()[:32].decode(errors="ignore")
    if record.serial is not None:
        props["serial"] = record.serial
    if record.category is not None:
        props["cat"] = str(record.category)
    return props


def parse_txt(properties: dict[bytes, bytes | None], host: str, port: int) -> ShipServiceRecord | None:
    """A discovered service -> record; ``None`` when mandatory keys are missing or wrong."""
    props = {k.decode(errors="replace"): (v or b"").decode(errors="replace") for k, v in properties.items()}
    try:
        ski = normalise_ski(props["ski"])
        ship_id = props["id"]
    except (KeyError, ValueError):
        return None
    if props.get("txtvers") != "1" or "register" not in props:
        return None
    cat = props.get("cat")
    return ShipServiceRecord(ski=ski, ship_id=ship_id, host=host, port=port, path=props.get("path", "/ship/"),
                             register=props["register"] == "true", brand=props.get("brand"),
                             model=props.get("model"), device_type=props.get("type"), serial=props.get("serial"),
                             category=int(cat) if cat and cat.isdigit() else None)


def parse_static(entry: str) -> tuple[Ski, str, int]:
    """``"<ski>@host:port"`` -> (ski, host, port): the fallback for networks without mDNS."""
    ski, _, address = entry.partition("@")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"static SHIP address must be '<ski>@host:port': {entry!r}")
    return normalise_ski(ski), host.strip("[]"), int(port)


class ShipDirectory:
    """Announces us and finds peers by SKI (mDNS first, static list second)."""

    def __init__(self, *, static: list[str] | None = None, interfaces: list[str] | None = None) -> None:
        self.static = {ski: (host, port) for ski, host, port in map(parse_static, static or [])}
        self.found: dict[Ski, ShipServiceRecord] = {}
        self._interfaces = interfaces
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._infos: list[AsyncServiceInfo] = []
        self._pending: list[str] = []

    async def start(self) -> None:
        # all interfaces by default (a real LAN); tests pass ["127.0.0.1"] to stay on loopback
        interfaces: Any = self._interfaces if self._interfaces is not None else InterfaceChoice.All
        self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)

        def on_change(zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
            if state_change is ServiceStateChange.Removed:
                self.found = {k: v for k, v in self.found.items() if v.ship_id != name.split(".")[0]}
                return
            self._pending.append(name)  # resolved in resolve_pending(), never blocking the loop

        self._browser = AsyncServiceBrowser(self._zc.zeroconf, SERVICE_TYPE, handlers=[on_change])

    async def resolve_pending(self, timeout_ms: int = 1000) -> None:
        """Resolve services seen but not yet resolved (call before :meth:`lookup`)."""
        if self._zc is None:
            return
        pending, self._pending = self._pending, []
        for name in pending:
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            if await info.async_request(self._zc.zeroconf, timeout_ms):
                self._add(info)

    def _add(self, info: Any) -> None:
        addresses = info.parsed_addresses()
        if not addresses or info.port is None:
            return
        record = parse_txt(info.properties, addresses[0], info.port)
        if record is not None:
            self.found[record.ski] = record

    async def announce(self, record: ShipServiceRecord, *, instance: str | None = None) -> None:
        assert self._zc is not None, "start() first"
        info = AsyncServiceInfo(SERVICE_TYPE, f"{instance or record.ship_id}.{SERVICE_TYPE}",
                                addresses=[socket.inet_aton(record.host)], port=record.port,
                                properties=txt_properties(record), server=f"{record.ship_id}.local.")
        await self._zc.async_register_service(info)
        self._infos.append(info)

    def lookup(self, ski: str) -> tuple[str, int, str] | None:
        key = normalise_ski(ski)
        if key in self.found:
            record = self.found[key]
            return record.host, record.port, record.path
        if key in self.static:
            host, port = self.static[key]
            return host, port, "/ship/"
        return None

    async def stop(self) -> None:
        if self._zc is None:
            return
        if self._browser is not None:
            await self._browser.async_cancel()
        for info in self._infos:
            await self._zc.async_unregister_service(info)
        await self._zc.async_close()
        self._zc = None


__all__ = ["SERVICE_TYPE", "ShipDirectory", "ShipServiceRecord", "parse_static", "parse_txt",
           "txt_properties"]

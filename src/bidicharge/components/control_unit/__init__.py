"""§14a control unit (C-CU, kind ``control_unit``): the "Steuerbox" behind the gateway.

It receives dimming commands (limit, start, duration, id) through the SMGW's CLS channel
(I-10) and passes them into the home on I-09: as EEBUS LPC Energy Guard, either with the
use case's semantics in memory (`PowerLimit`, `output: eebus`) or as SPINE datagrams of
`protocols.spine` (`EnergyGuard` writing the limit, its duration and the failsafe values to
the HEMS's `ControllableSystem`, heartbeats every step; `output: spine`), or on its
potential-free relay contacts for legacy homes (`ContactState`, `output: relay`, the
largest configured step not above the limit). It answers with the status (applied,
current consumption, demand).

Refused and logged, nothing forwarded (the limit in force stays):

* a command for another unit (``unknown-unit``), an id seen before (``replayed``),
* a command already over (``expired``) or starting more than `max_start_ahead_s` ahead,
* a limit below the guaranteed §14a minimum of its devices (``below_minimum``:
  4.2 kW per device, n × 4.2 kW × GZF behind an EMS; BK6-22-300 Tenor 4.2, Anlage 1),
* a release of a command that is not the one in force (``unknown-command``).

Failsafe: a limit lapses at start + duration unless renewed, and the control unit then
lifts it in the home by itself (``lapsed``). `offline` windows make the unit unreachable
(the gateway answers ``cls-unreachable`` and the DSO retries).

A HEMS that speaks EEBUS itself (kind `hems`, its `grid_guard` port wired to our
`energy_manager`) pairs its node with `eebus_node()` and carries the datagrams; the control
unit then writes the LPC limit to the Controllable System it found and reads no
consumption on I-09 (the status says NaN; the DSO estimates from TAF 10). In live mode the
control unit serves that node over SHIP/TLS (`eebus_host`/`eebus_port`, trust by SKI: the HEMS
wired to `energy_manager` and `eebus_trusted_skis`), as the wallbox does; the HEMS dials it.

Live mode (`listen_port`): a TLS server with the control unit's SM-PKI certificate that
accepts only SM-PKI clients (the gateway's CLS proxy) and speaks `control_unit.wire`: one
JSON payload per line in, one status line out. A line cut off by the end of the stream is
logged (``incomplete``) and never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from bidicharge.components.control_unit.spine_link import exchange
from bidicharge.components.control_unit.wire import MAX_LINE_BYTES, WireError, decode_payload, encode_status
from bidicharge.components.interfaces.i09_control_unit import (
    ContactState,
    GridGuardStatus,
    PowerLimit,
    StatusRequest,
)
from bidicharge.components.interfaces.i10_cls import CommandStatus, DimmingCommand, LimitRelease, StatusQuery
from bidicharge.components.interfaces.ship_endpoint import ShipServer, ShipServerConfig
from bidicharge.components.smgw.world_pki import world_pki
from bidicharge.control.section14a import (
    ControllableDevice,
    DeviceId,
    DeviceKind,
    check_limit,
    device_minimum_W,
    ems_minimum_W,
)
from bidicharge.protocols.spine import LocalDevice, SpineNode
from bidicharge.protocols.spine.usecases import Direction, EnergyGuard
from bidicharge.protocols.spine.usecases.energy_guard import LimitWriteResult
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires
from bidicharge.runtime.scenario import parse_time_s
from bidicharge.transports.smgw_wan import mutual_tls_context

log = logging.getLogger(__name__)


class ControlledDevice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: DeviceKind = DeviceKind.CHARGE_POINT
    rated_power_W: float = Field(11_000.0, gt=0)
    phases: int = Field(3, ge=1, le=3)


class ControlUnitConfig(ShipServerConfig):
    unit_id: str
    devices: tuple[ControlledDevice, ...] = Field(..., min_length=1)
    via_ems: bool = False
    output: Literal["eebus", "spine", "relay"] = "eebus"
    relay_steps_W: tuple[float, ...] = (4200.0,)  # contact step k -> limit (same steps set in the HEMS)
    max_start_ahead_s: float = Field(300.0, ge=0)
    offline: tuple[tuple[str, str], ...] = ()  # [from, to) ISO times: CLS side unreachable
    listen_port: int | None = Field(None, ge=0, le=65535)  # live: TLS endpoint for the CLS proxy (0: any free)
    listen_host: str = "127.0.0.1"
    pki_seed: int = Field(0, ge=0)


@component_type
class ControlUnit(ShipServer, Component):
    EEBUS_PORT = "energy_manager"
    kind = "control_unit"
    catalogue_id = "C-CU"
    Config = ControlUnitConfig
    PORTS = (
        provides("cls", "I-10", "in-memory", wire_protocol="CLS channel (TLS through the SMGW)"),
        requires("home", "I-09", "in-memory", wire_protocol="EEBUS LPC / relay contacts", optional=True,
                 description="the home's I-09 contract (i09_control_unit): the control unit drives it"),
        provides("energy_manager", "I-09", "EEBUS SPINE",
                 description="a HEMS's `grid_guard` link: the HEMS pairs with `eebus_node()` and pumps it"),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("limit_W",)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        devices = tuple(ControllableDevice(device_id=DeviceId(d.id), kind=d.kind, rated_power_W=d.rated_power_W,
                                           phases=d.phases) for d in config.devices)
        if not config.via_ems and len(devices) != 1:
            raise ValueError("several devices are controlled through an EMS (via_ems: true)")
        self.minimum_W = ems_minimum_W(devices) if config.via_ems else device_minimum_W(devices[0])
        self._offline = [(parse_time_s(a), parse_time_s(b)) for a, b in config.offline]
        self.active: DimmingCommand | None = None
        self._seen: set[str] = set()
        self.log: list[tuple[float, str | None, str]] = []  # (time, command id, outcome)
        self.bound_port: int | None = None  # live: where the CLS proxy reaches us
        self.open_connections = 0  # live
        self.spine: SpineNode | None = None
        self.guard: EnergyGuard | None = None

    def start(self, now: float) -> None:
        super().start(now)
        if self.config.output != "spine":
            return
        node = self.eebus_node()
        home = self.link("home")
        if home is not None:  # we drive the exchange; else a HEMS pairs with our node and pumps it
            home.protocol = "EEBUS SPINE (in memory)"  # what the link carries in this mode, for the trace
            node.connect(home.peer.name, now)
            exchange(node, home.peer.name, home, now)  # discovery, subscriptions, bindings, reads

    def eebus_node(self) -> SpineNode:
        """Our SPINE node with the LPC Energy Guard (entity GridGuard), made on first use."""
        if self.spine is None:
            device = LocalDevice(f"d:_i:bidicharge_{self.name}", "ElectricitySupplySystem")
            self.spine = SpineNode(device)
            self.guard = EnergyGuard(self.spine, device.add_entity("GridGuard"), now=self.now)
        return self.spine

    def eebus_serving(self) -> bool:
        """Live: our Energy Guard's node goes on SHIP when a HEMS pairs with it (no `home` link)."""
        return self.config.output == "spine" and self.link("home") is None and super().eebus_serving()

    def offline(self, now: float) -> bool:
        return any(a <= now < b for a, b in self._offline)

    def _sync(self) -> float:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        return self.now

    # -- into the home (I-09) ------------------------------------------------------------
    def _to_home(self, limit_W: float | None, command: DimmingCommand | None) -> GridGuardStatus:
        home = self.link("home")
        if self.spine is not None and self.guard is not None:
            if home is None:
                return self._to_paired_hems(limit_W, command)
            return self._to_home_spine(home, limit_W, command)
        assert home is not None, f"{self.name}: output {self.config.output} needs the `home` link"
        if self.config.output == "relay":
            steps = self.config.relay_steps_W
            fitting = [k for k, w in enumerate(steps, start=1) if limit_W is not None and w <= limit_W]
            if limit_W is not None and not fitting:  # no step that low: the most restrictive one there is
                log.warning("control unit %s: no contact step at or below %.0f W", self.name, limit_W)
                fitting = [min(range(1, len(steps) + 1), key=lambda k: steps[k - 1])]
            step = 0 if limit_W is None else max(fitting, key=lambda k: steps[k - 1])
            answer: GridGuardStatus = home.request(ContactState(step=step))
            return answer
        message = PowerLimit(command_id=command.command_id if command else "release", limit_W=limit_W,
                             issued_s=command.start_s if command else self.now,
                             duration_s=command.duration_s if command else None)
        answer = home.request(message)
        return answer

    def _write_limit(self, peer: str, limit_W: float | None, command: DimmingCommand | None) -> int:
        assert self.guard is not None
        if command is None or limit_W is None:
            return self.guard.write_limit(peer, Direction.CONSUME, 0.0, self.now, active=False)
        # a renewal identical to the last write restarts the Controllable System's duration too
        # (LPC scenario 1, protocols.spine.usecases.lpc): written as it is
        remaining = float(max(math.floor(command.start_s + command.duration_s - self.now), 1))
        return self.guard.write_limit(peer, Direction.CONSUME, limit_W, self.now, duration_s=remaining)

    def _reassert(self, now: float) -> None:
        """A command in force that the HEMS no longer applies (its limit inactive) is written again."""
        assert self.guard is not None
        if self.active is None:
            return
        for peer in list(self.guard.systems):
            state = self.guard.state_of(peer) if self.guard.ready(peer) else None
            if state is not None and state.active.get(Direction.CONSUME) is False:
                log.warning("control unit %s: %s dropped limit %s, writing it again", self.name, peer,
                            self.active.command_id)
                self._write_limit(peer, self.active.limit_W, self.active)

    def _to_paired_hems(self, limit_W: float | None, command: DimmingCommand | None) -> GridGuardStatus:
        """A HEMS carries our node's datagrams (it pumps on its step): write, confirm later."""
        assert self.guard is not None
        peers = [p for p in self.guard.systems if self.guard.ready(p)]
        for peer in peers:
            self._write_limit(peer, limit_W, command)
        self.eebus_sent()  # live: onto SHIP now, not at the next step
        nan = float("nan")
        return GridGuardStatus(applied=bool(peers), limit_W=limit_W, consumption_W=nan, demand_W=nan)

    def _to_home_spine(self, home: Link, limit_W: float | None, command: DimmingCommand | None) -> GridGuardStatus:
        assert self.spine is not None and self.guard is not None
        peer = home.peer.name
        if not self.guard.ready(peer):
            exchange(self.spine, peer, home, self.now)
        if not self.guard.ready(peer):
            status: GridGuardStatus = home.request(StatusRequest())
            return GridGuardStatus(applied=False, limit_W=status.limit_W, consumption_W=status.consumption_W,
                                   demand_W=status.demand_W)
        counter = self._write_limit(peer, limit_W, command)
        exchange(self.spine, peer, home, self.now)
        accepted = any(isinstance(e, LimitWriteResult) and e.msg_counter == counter and e.accepted
                       for e in self.guard.events())
        status = home.request(StatusRequest())
        return GridGuardStatus(applied=accepted, limit_W=status.limit_W, consumption_W=status.consumption_W,
                               demand_W=status.demand_W)

    def _status(self, command_id: str | None, accepted: bool, reason: str,
                home: GridGuardStatus | None = None) -> CommandStatus:
        if home is None:
            link = self.link("home")
            if link is None:  # a paired EEBUS HEMS: no consumption on I-09
                home = GridGuardStatus(applied=self.guard is not None and bool(self.guard.systems),
                                       limit_W=None if self.active is None else self.active.limit_W,
                                       consumption_W=float("nan"), demand_W=float("nan"))
            else:
                home = link.request(StatusRequest())
        if reason != "status" or not accepted:
            self.log.append((self.now, command_id, reason))
        if not accepted:
            log.warning("control unit %s refused %s: %s", self.name, command_id, reason)
        return CommandStatus(unit_id=self.config.unit_id, command_id=command_id, accepted=accepted, reason=reason,
                             limit_W=None if self.active is None else self.active.limit_W,
                             consumption_W=home.consumption_W, demand_W=home.demand_W,
                             hems_applied=home.applied)

    # -- from the CLS channel (I-10) -----------------------------------------------------
    def handle(self, port: str, message: object, link: Link) -> object:
        now = self._sync()
        if isinstance(message, StatusQuery):
            return self._status(None, True, "status")
        if isinstance(message, DimmingCommand | LimitRelease):
            refusal = self._refusal(message, now)
            self._seen.add(message.command_id)
            if refusal is not None:
                return self._status(message.command_id, False, refusal)
            if isinstance(message, LimitRelease):
                self.active = None
                return self._status(message.command_id, True, "released", self._to_home(None, None))
            self.active = message
            home = self._to_home(message.limit_W, message)
            return self._status(message.command_id, home.applied, "applied" if home.applied else "hems-refused", home)
        return super().handle(port, message, link)

    def _refusal(self, message: DimmingCommand | LimitRelease, now: float) -> str | None:
        if message.unit_id != self.config.unit_id:
            return "unknown-unit"
        if message.command_id in self._seen:
            return "replayed"
        if message.start_s > now + self.config.max_start_ahead_s:
            return "start-in-future"
        if isinstance(message, LimitRelease):
            if self.active is None or self.active.command_id != message.releases_command_id:
                return "unknown-command"
            return None
        if message.start_s + message.duration_s <= now:
            return "expired"
        check = check_limit(message.limit_W, self.minimum_W, duration_s=message.duration_s, what=self.config.unit_id)
        return None if check.accepted else str(check.reason)

    # -- failsafe: a limit lapses unless renewed ---------------------------------------------
    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        if self.spine is not None and self.guard is not None:
            self.guard.step(now)  # LPC heartbeat: the HEMS falls to its failsafe after 120 s without
            self.spine.handle_timeout(now)
            if self.active is not None and now < self.active.start_s + self.active.duration_s:
                self._reassert(now)
            home = self.link("home")
            if home is not None:
                exchange(self.spine, home.peer.name, home, now)
            self.eebus_sent()
        if self.active is not None and now >= self.active.start_s + self.active.duration_s:
            lapsed = self.active
            self.active = None
            self._status(lapsed.command_id, True, "lapsed", self._to_home(None, None))

    def observe(self) -> tuple[float, ...]:
        return (float("nan") if self.active is None else self.active.limit_W,)

    def report(self) -> dict[str, Any]:
        return {"minimum_W": self.minimum_W, "log": list(self.log)}

    # -- live: the CLS channel's far end over TLS ---------------------------------------------
    async def serve(self, clock: Clock) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.serve_eebus(clock))  # I-09 towards the HEMS (EEBUS LPC over SHIP)
            tg.create_task(self._serve_cls(clock))

    async def _serve_cls(self, clock: Clock) -> None:
        if self.config.listen_port is None:
            return
        world = world_pki(self.config.pki_seed, self.context.start_s)
        with tempfile.TemporaryDirectory() as tmp:
            cert, key, ca = world.write_pem(self.name, Path(tmp))
            tls = mutual_tls_context(cert_file=cert, key_file=key, ca_file=ca, server=True)
        server = await asyncio.start_server(self._on_connection, self.config.listen_host, self.config.listen_port,
                                            ssl=tls, limit=MAX_LINE_BYTES)
        self.bound_port = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than MAX_LINE_BYTES: not ours to parse
                    self._status(None, False, "bad-request")
                    break
                if not line:
                    break
                if not line.endswith(b"\n"):
                    self._sync()
                    self._status(None, False, "incomplete")  # cut off mid-command: never applied
                    break
                try:
                    answer = self.handle("cls", decode_payload(line), None)  # type: ignore[arg-type]
                except WireError as exc:
                    log.warning("control unit %s: bad request: %s", self.name, exc)
                    answer = self._status(None, False, "bad-request")
                writer.write(encode_status(answer))
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await writer.wait_closed()
            self.open_connections -= 1

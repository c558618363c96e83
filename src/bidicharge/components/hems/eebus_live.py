"""How the `Hems` component uses its EEBUS side (`eebus.py`), in a study and live.

A mixin of the component: it finds the EEBUS peers from the wiring (`chargers` links to
wallboxes' `eebus` ports, the `grid_guard` link to an Energy Guard, the `meter` link to the
meter side's MGCP node), routes I-03 and I-47 through EEBUS or the in-memory contract per link, turns the §14a limit into what the strategies use, and in
live mode carries the node over SHIP/TLS: the HEMS dials each wired peer (trusting the SKI the
wiring names) and each configured external wallbox (``eebus_devices``: ``<ski>@host:port``),
and redials every 30 s what is not connected.

A peer component speaks EEBUS when it has ``eebus_node() -> SpineNode`` (study) and, for live
mode, ``eebus_identity()``, ``eebus_ready`` (an ``asyncio.Event``) and ``eebus_address``
(host, port) — see ``components/interfaces/i03_energy_manager.py``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from bidicharge.components.hems.eebus import EebusPeer, HemsEebus, clip_to_14a
from bidicharge.components.interfaces.i03_energy_manager import (
    ChargerStatus,
    ChargerStatusRequest,
    PowerSetpoint,
    speaks_eebus,
)
from bidicharge.components.interfaces.i47_han import MeterReading, MeterReadingRequest
from bidicharge.runtime.cancel import stop_if_cancelled
from bidicharge.runtime.clock import Clock, ManualClock

if TYPE_CHECKING:
    from bidicharge.components.hems import HemsConfig
    from bidicharge.runtime.component import RunContext
    from bidicharge.runtime.ports import Link
    from bidicharge.transports.ship_websocket import ShipIdentity

log = logging.getLogger(__name__)
REDIAL_S = 30.0


class HemsEebusLive:
    name: str
    cfg: HemsConfig
    context: RunContext
    eebus: HemsEebus | None
    limit_14a_W: float | None
    _eebus_live: bool = False
    _identity: ShipIdentity | None = None

    if TYPE_CHECKING:
        def link(self, port: str) -> Link | None: ...

        def peers(self, port: str) -> list[Link]: ...

    # --- set-up (study and live) ----------------------------------------------------------

    def _eebus_links(self) -> list[Link]:
        links = [lk for lk in self.peers("chargers") if speaks_eebus(lk)]
        for port in ("grid_guard", "meter"):
            link = self.link(port)
            if link is not None and speaks_eebus(link):
                links.append(link)
        return links

    def _eebus_start(self, now: float) -> None:
        for link in [*self.peers("chargers"), *([m] if (m := self.link("meter")) is not None else [])]:
            if not speaks_eebus(link):
                link.protocol = "in-memory"  # the older contract: trace it as what it is
        links = self._eebus_links()
        guard = self.link("grid_guard")
        if guard is not None and guard not in links:
            log.warning("HEMS %s: %s.%s has no EEBUS node; the §14a limit cannot reach us", self.name,
                        guard.peer.name, guard.peer_port.name)
        if not links and not self.cfg.eebus_devices:
            return
        self.eebus = HemsEebus(self.name, now=now, trace=self.context.trace, guard=guard in links,
                               failsafe_W=self.cfg.failsafe_limit_W, nominal_max_W=self.cfg.contractual_max_W,
                               owner=self.cfg.ev, meter=any(lk.interface == "I-47" for lk in links))
        for link in links:
            self.eebus.add_peer(link.peer.name, EebusPeer(name=link.peer.name, interface=link.interface))

    def _in_a_study(self) -> bool:
        """A study runs on the manual clock; live mode on a wall or accelerated one (SHIP then)."""
        return self.context.clock is None or isinstance(self.context.clock, ManualClock)

    def _eebus_tick(self, now: float) -> None:
        assert self.eebus is not None
        if self.eebus.memory is None and not self._eebus_live and self._in_a_study():
            self.eebus.pair_in_memory({lk.peer.name: lk.peer.eebus_node() for lk in self._eebus_links()},  # type: ignore[attr-defined]
                                      now)
        self.eebus.tick(now)

    # --- I-03 per link --------------------------------------------------------------------

    def _charger_peer(self, link: Link | None) -> str | None:
        """The EEBUS peer id of a wallbox link (component name in a study, SKI live)."""
        if link is None or self.eebus is None or not speaks_eebus(link):
            return None
        for peer_id, who in self.eebus.peers.items():
            if who.name == link.peer.name:
                return peer_id
        return None

    def _charger_status(self, link: Link | None) -> ChargerStatus | None:
        if link is None:
            return None
        if not speaks_eebus(link):
            status: ChargerStatus = link.request(ChargerStatusRequest())
            return status
        assert self.eebus is not None
        peer = self._charger_peer(link)
        return self.eebus.charger_status(peer) if peer is not None else None

    def _send_setpoint(self, link: Link, power_W: float, now: float) -> None:
        if not speaks_eebus(link):
            link.request(PowerSetpoint(power_W=power_W))
            return
        assert self.eebus is not None
        peer = self._charger_peer(link)
        if peer is not None:
            self.eebus.send_setpoint(peer, power_W, now)

    # --- I-47 --------------------------------------------------------------------------------

    def _meter_reading(self) -> MeterReading | None:
        """The grid connection point now: MGCP's last notification, or asked in memory."""
        link = self.link("meter")
        assert link is not None
        if not speaks_eebus(link):
            reading: MeterReading = link.request(MeterReadingRequest())
            return reading
        assert self.eebus is not None
        return self.eebus.meter_reading()

    # --- §14a -----------------------------------------------------------------------------

    def _clip_14a(self, ev_sp: float, bat_sp: float, reason: str, cs: ChargerStatus | None, house_W: float,
                  pv_W: float) -> tuple[float, float, str]:
        eta = cs.stage_efficiency if cs is not None else 1.0
        ev_grid = ev_sp / eta if ev_sp >= 0 else ev_sp * eta
        ev_cut, bat_cut = clip_to_14a(limit_W=self.limit_14a_W, house_W=house_W, pv_W=max(0.0, pv_W),
                                      ev_grid_W=ev_grid, battery_W=bat_sp)
        if (ev_cut, bat_cut) == (ev_grid, bat_sp):
            return ev_sp, bat_sp, reason
        return (ev_cut * eta if ev_cut >= 0 else ev_cut / eta), bat_cut, "limited_14a"

    def _limit_14a_horizon(self, now: float, n: int) -> np.ndarray | None:
        """The §14a allowance per plan step: the limit in force until it ends (when known)."""
        if self.limit_14a_W is None or self.eebus is None:
            return None
        step = self.cfg.plan_step_s
        times = now + step * np.arange(n)
        until = self.eebus.limit_until_s
        return np.where(times < until if until is not None else True, self.limit_14a_W, np.inf)

    # --- live mode --------------------------------------------------------------------------

    def eebus_identity(self) -> ShipIdentity:
        if self._identity is None:
            from bidicharge.components.interfaces.ship_endpoint import make_identity

            clock = self.context.clock
            self._identity = make_identity(self.cfg.eebus_state_dir, self.name,
                                           clock.now() if clock is not None else self.context.start_s)
        return self._identity

    async def _eebus_serve(self, clock: Clock) -> None:
        """Live: dial every wired EEBUS peer and every configured device over SHIP/TLS."""
        if self.eebus is None:
            return
        self._eebus_live = True
        from bidicharge.protocols.ship.identity import normalise_ski
        from bidicharge.protocols.spine import EebusStack, TraceRecord
        from bidicharge.transports.ship_websocket import ShipTransport, TrustStore

        eebus = self.eebus
        trust = TrustStore(path=None)
        targets: list[tuple[str, int, str]] = []
        wired = self._eebus_links()
        for link in wired:
            peer: Any = link.peer
            if not all(hasattr(peer, name) for name in ("eebus_ready", "eebus_identity", "eebus_address")):
                log.warning("HEMS %s: %s has no SHIP endpoint; %s stays silent in live mode",
                            self.name, peer.name, link.interface)
                continue
            await peer.eebus_ready.wait()
            ski = trust.add(peer.eebus_identity().ski)
            host, port = peer.eebus_address
            targets.append((host, port, ski))
            eebus.peers.pop(peer.name, None)
            eebus.add_peer(ski, EebusPeer(name=peer.name, interface=link.interface))
        for entry in self.cfg.eebus_devices:
            ski_text, _, address = entry.partition("@")
            host, _, port_text = address.rpartition(":")
            ski = trust.add(normalise_ski(ski_text))
            targets.append((host, int(port_text), ski))
            eebus.add_peer(ski, EebusPeer(name=f"eebus-{ski[:8]}", interface="I-03"))

        def tracer(record: TraceRecord) -> None:
            if self.context.trace.enabled:
                eebus.record_live(record.peer, record.direction, record.protocol, record.message_type, record.summary,
                                  record.now)

        stack = EebusStack(eebus.node, local_ship_id=f"bidicharge-{self.name}", tracer=tracer)
        async with ShipTransport(stack, self.eebus_identity(), trust, clock=clock.now) as ship:
            eebus.on_sent.append(ship.kick)
            try:
                while True:
                    for host, port, target in targets:
                        if target in stack.node.peers():
                            continue
                        try:
                            async with asyncio.timeout(10):
                                await ship.dial(host, port, target)
                        except (OSError, ConnectionError, TimeoutError) as exc:
                            stop_if_cancelled()
                            log.info("HEMS %s: SHIP dial to %s at %s:%d failed: %s", self.name, target, host, port, exc)
                        except Exception as exc:  # TLS errors (pyOpenSSL) among them: try again later
                            stop_if_cancelled()
                            log.info("HEMS %s: SHIP dial to %s failed: %r", self.name, target, exc)
                    await clock.sleep_until(clock.now() + REDIAL_S)
            finally:
                eebus.on_sent.remove(ship.kick)
